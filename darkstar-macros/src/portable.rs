//! Syntactic checks of the types of managed fields and task arguments, shared by both macros.
//!
//! A value that is stored must not point into memory: a borrow, a pointer or a shared `Rc`
//! means nothing once the value is archived, read back later or run on another core. Nor
//! can it be a reading of this process's clock (`Instant`) or a handle to one of its
//! resources (`File`, `TcpStream`), and the standard library types of that kind have no
//! archive anyway, so rkyv's own error would ask for one that cannot be given. These are
//! recognized by how the type is written, so the error can say what to use instead;
//! anything else that cannot be archived is caught by the type checker (`persist_checks`).

use std::collections::HashSet;

use quote::ToTokens;
use syn::{GenericArgument, Ident, Path, PathArguments, Type, TypePath};

use crate::errors::Errors;

/// Where a type appears, which decides how a message phrases the problem.
#[derive(Clone, Copy)]
pub enum Site {
    /// The type of a field of a `#[managed]` struct.
    Field,
    /// The type of an argument of a `#[task]` function.
    Argument,
}

impl Site {
    /// The thing that holds the type, as the subject of a sentence.
    fn subject(self) -> &'static str {
        match self {
            Site::Field => "a managed object",
            Site::Argument => "a task argument",
        }
    }

    /// The verb for giving the value, in a suggestion.
    fn give(self) -> &'static str {
        match self {
            Site::Field => "store",
            Site::Argument => "pass",
        }
    }

    /// The same verb as a participle: "can be stored".
    fn given(self) -> &'static str {
        match self {
            Site::Field => "stored",
            Site::Argument => "passed",
        }
    }
}

/// What [`check`] found in a type, worst first where a type holds several problems.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Found {
    /// Nothing: as far as its spelling tells, the type can be stored.
    Nothing,
    /// A type that cannot be stored but is otherwise fine where the generated code puts it.
    /// The macro can still generate everything, with the value left out of the archive
    /// (`Unstored`), so the rest of the crate type-checks and the error stands alone.
    Unstorable,
    /// A type the generated code cannot hold either: `impl Trait`, a borrow without a
    /// lifetime, or, in a task struct (which is `Send`), a type that may not be `Send`.
    /// Nothing is generated beside the item.
    Unusable,
}

/// Records an error for every part of `ty` that cannot be stored, and says what to use.
pub fn check(ty: &Type, site: Site, errors: &mut Errors) -> Found {
    // The task struct is sent between threads: what is fine in a managed object may not be.
    let unless_sent = match site {
        Site::Field => Found::Unstorable,
        Site::Argument => Found::Unusable,
    };
    match ty {
        Type::Reference(reference) => {
            let hint = match &*reference.elem {
                Type::Path(path) if path.path.is_ident("str") => " (`String` instead of `&str`)",
                Type::Slice(_) => " (`Vec<T>` instead of `&[T]`)",
                _ => "",
            };
            let message = match site {
                Site::Argument => format!(
                    "a task argument cannot borrow: tasks are stored and may run later on another core; pass an owned value{hint}, or a `Ref<T>` to a managed object"
                ),
                Site::Field => format!(
                    "a managed object cannot hold a borrow: it is stored and read back later, when the borrowed value is gone; store an owned value{hint}, or a `Ref<T>` to another managed object"
                ),
            };
            errors.error_at(ty, message);
            match reference.lifetime {
                Some(_) => unless_sent,
                None => Found::Unusable,
            }
        }
        Type::Ptr(_) => {
            errors.error_at(
                ty,
                format!(
                    "{} cannot hold a raw pointer: an address means nothing once the value is stored or moved to another core; {} an owned value, or a `Ref<T>` to a managed object",
                    site.subject(),
                    site.give()
                ),
            );
            unless_sent
        }
        Type::TraitObject(_) => {
            errors.error_at(
                ty,
                format!(
                    "{} cannot hold a trait object (`dyn Trait`): an archive needs the concrete type; use a concrete type, or an enum with one variant per implementation",
                    site.subject()
                ),
            );
            Found::Unusable
        }
        Type::ImplTrait(_) => {
            let holder = match site {
                Site::Field => "the field of a managed object",
                Site::Argument => "a task argument",
            };
            errors.error_at(
                ty,
                format!(
                    "{holder} cannot be `impl Trait`: it is stored, so it needs a concrete type; name the type"
                ),
            );
            Found::Unusable
        }
        Type::BareFn(_) => {
            errors.error_at(
                ty,
                format!(
                    "{} cannot hold a function pointer: an address means nothing once the value is stored or moved to another core; use an enum naming the behaviours and match on it",
                    site.subject()
                ),
            );
            Found::Unstorable
        }
        Type::Paren(inner) => check(&inner.elem, site, errors),
        Type::Group(inner) => check(&inner.elem, site, errors),
        Type::Array(array) => check(&array.elem, site, errors),
        Type::Slice(slice) => check(&slice.elem, site, errors),
        Type::Tuple(tuple) => tuple
            .elems
            .iter()
            .map(|elem| check(elem, site, errors))
            .fold(Found::Nothing, Found::max),
        Type::Path(path) => check_path(ty, path, site, errors),
        _ => Found::Nothing,
    }
}

/// Checks a named type: the standard library's types that cannot be stored, by name, then
/// the type arguments, so that `Vec<&str>` is caught as well as `&str`.
fn check_path(ty: &Type, path: &TypePath, site: Site, errors: &mut Errors) -> Found {
    if path.qself.is_some() {
        return Found::Nothing;
    }
    if let Some(known) = std_type(&path.path) {
        errors.error_at(ty, known.message(site));
        return match (known.kind, site) {
            // `Rc` and `Weak` are never `Send`, and `Arc<T>` only for some `T`.
            (Kind::Shared, Site::Argument) => Found::Unusable,
            _ => Found::Unstorable,
        };
    }
    if std_generic(&path.path, &["Box"]).is_some() {
        if let Some(Type::TraitObject(_)) = first_type_argument(&path.path).map(strip_parens) {
            errors.error_at(
                ty,
                format!(
                    "{} cannot hold a `Box<dyn Trait>`: an archive needs the concrete type behind the box; use a concrete type, or an enum with one variant per implementation",
                    site.subject()
                ),
            );
            // Sent only if the trait says `+ Send`.
            return match site {
                Site::Field => Found::Unstorable,
                Site::Argument => Found::Unusable,
            };
        }
    }
    let mut found = Found::Nothing;
    for segment in &path.path.segments {
        if let PathArguments::AngleBracketed(arguments) = &segment.arguments {
            for argument in &arguments.args {
                let inner = match argument {
                    GenericArgument::Type(inner) => check(inner, site, errors),
                    GenericArgument::AssocType(assoc) => check(&assoc.ty, site, errors),
                    _ => Found::Nothing,
                };
                found = found.max(inner);
            }
        }
    }
    found
}

/// Why a standard library type cannot be stored, which decides what to use instead.
#[derive(Clone, Copy)]
enum Kind {
    /// Shared ownership (`Rc`, `Arc`, `Weak`).
    Shared,
    /// Interior mutability without locking (`Cell`, `RefCell`).
    Cell,
    /// A lock or a lazily set value (`Mutex`, `OnceLock`).
    Lock,
    /// An atomic integer or flag (`AtomicU64`).
    Atomic,
    /// A reading of a clock (`Instant`, `SystemTime`), with why it cannot be stored.
    Time(&'static str),
    /// A handle to a resource of this process.
    Handle(Resource),
    /// A path or an OS string, which rkyv archives only as a `String`.
    Text,
}

/// What a handle refers to, which decides how the message names it.
#[derive(Clone, Copy)]
enum Resource {
    File,
    Socket,
    Thread,
    Process,
    Channel,
}

/// How a name is written for it to be recognized.
#[derive(Clone, Copy)]
enum Form {
    /// With type arguments, alone or under a path. The standard type is generic, and a
    /// game's own type of the name (a grid `Cell`, say) rarely is, so it is left alone.
    Generic,
    /// Alone or under a path: a name games hardly use for types of their own.
    Plain,
    /// Under a path only: a name a game may well use for a type of its own (`File` in
    /// chess, `Thread` in a forum).
    Qualified,
}

/// A standard library type recognized by name.
struct Known {
    /// The type's name.
    name: &'static str,
    /// The article for the name as it is read aloud: "an `Rc`", "a `Mutex`".
    article: &'static str,
    /// The modules it is found in, one of which may be written right before its name
    /// (`time::Instant`, `tokio::time::Instant`): the standard one, and those the async
    /// runtimes and channel crates put their own, just as unstorable, types of the name in.
    modules: &'static [&'static str],
    /// How it must be written to be recognized.
    form: Form,
    /// Why it cannot be stored.
    kind: Kind,
}

/// Shorthand for a `Known` entry.
const fn known(
    name: &'static str,
    article: &'static str,
    modules: &'static [&'static str],
    form: Form,
    kind: Kind,
) -> Known {
    Known {
        name,
        article,
        modules,
        form,
        kind,
    }
}

/// Why an `Instant` cannot be stored.
const CLOCK: &str = "it reads a clock that starts anew with every process, so a stored one means nothing after a restart or on another machine";

/// The modules channel types are found in: `std::sync::mpsc` and its like elsewhere.
const CHANNELS: &[&str] = &["mpsc", "oneshot", "broadcast", "watch", "channel"];

/// The standard library types without an archive (or, for `Rc` and `Arc`, without a
/// meaning once stored) that fields and arguments are checked for. `Duration` is not one:
/// rkyv archives it.
const KNOWN: &[Known] = {
    use Form::{Generic, Plain, Qualified};
    use Kind::{Atomic, Cell, Handle, Lock, Shared, Text, Time};
    use Resource::{Channel, File, Process, Socket, Thread};
    &[
        known("Rc", "an", &["rc"], Generic, Shared),
        known("Arc", "an", &["sync"], Generic, Shared),
        known("Weak", "a", &["rc", "sync"], Generic, Shared),
        known("Cell", "a", &["cell"], Generic, Cell),
        known("RefCell", "a", &["cell"], Generic, Cell),
        known("OnceCell", "a", &["cell"], Generic, Cell),
        known("LazyCell", "a", &["cell"], Generic, Cell),
        known("UnsafeCell", "an", &["cell"], Generic, Cell),
        known("Mutex", "a", &["sync"], Generic, Lock),
        known("RwLock", "an", &["sync"], Generic, Lock),
        known("OnceLock", "a", &["sync"], Generic, Lock),
        known("LazyLock", "a", &["sync"], Generic, Lock),
        known("AtomicBool", "an", &["atomic"], Plain, Atomic),
        known("AtomicU8", "an", &["atomic"], Plain, Atomic),
        known("AtomicU16", "an", &["atomic"], Plain, Atomic),
        known("AtomicU32", "an", &["atomic"], Plain, Atomic),
        known("AtomicU64", "an", &["atomic"], Plain, Atomic),
        known("AtomicUsize", "an", &["atomic"], Plain, Atomic),
        known("AtomicI8", "an", &["atomic"], Plain, Atomic),
        known("AtomicI16", "an", &["atomic"], Plain, Atomic),
        known("AtomicI32", "an", &["atomic"], Plain, Atomic),
        known("AtomicI64", "an", &["atomic"], Plain, Atomic),
        known("AtomicIsize", "an", &["atomic"], Plain, Atomic),
        known("Instant", "an", &["time"], Plain, Time(CLOCK)),
        known(
            "SystemTime",
            "a",
            &["time"],
            Plain,
            Time("rkyv has no archive for it"),
        ),
        known("File", "a", &["fs"], Qualified, Handle(File)),
        known("TcpStream", "a", &["net"], Plain, Handle(Socket)),
        known("TcpListener", "a", &["net"], Plain, Handle(Socket)),
        known("UdpSocket", "a", &["net"], Plain, Handle(Socket)),
        known("UnixStream", "a", &["net"], Plain, Handle(Socket)),
        known("UnixListener", "a", &["net"], Plain, Handle(Socket)),
        known("UnixDatagram", "a", &["net"], Plain, Handle(Socket)),
        known(
            "JoinHandle",
            "a",
            &["thread", "task"],
            Generic,
            Handle(Thread),
        ),
        known("Thread", "a", &["thread"], Qualified, Handle(Thread)),
        known("Child", "a", &["process"], Qualified, Handle(Process)),
        known("Sender", "a", CHANNELS, Generic, Handle(Channel)),
        known("SyncSender", "a", CHANNELS, Generic, Handle(Channel)),
        known("Receiver", "a", CHANNELS, Generic, Handle(Channel)),
        known("PathBuf", "a", &["path"], Plain, Text),
        known("OsString", "an", &["ffi"], Plain, Text),
    ]
};

impl Known {
    /// The error for this type at `site`: what is wrong, and what to use instead.
    fn message(&self, site: Site) -> String {
        let Known { name, article, .. } = self;
        // `AtomicU64` holds a `u64`.
        let plain = name.trim_start_matches("Atomic").to_lowercase();
        match (self.kind, site) {
            (Kind::Shared, Site::Field) => format!(
                "a managed object cannot hold {article} `{name}`: sharing through `{name}` ends with the process, and a stored object is read back as its own copy on any core; to share an object, make it `#[managed]` and store a `Ref<T>` to it, otherwise store the value itself"
            ),
            (Kind::Shared, Site::Argument) => format!(
                "a task argument cannot hold {article} `{name}`: tasks are stored and may run later on another core, where this memory is gone; pass a `Ref<T>` to a managed object to share it, or an owned value"
            ),
            (Kind::Cell, Site::Field) => format!(
                "a managed object needs no `{name}`: to change a field, open the object for writing (`ctx.get_mut(r)?`) and assign to it; store the plain value"
            ),
            (Kind::Lock, Site::Field) => format!(
                "a managed object needs no `{name}`: every task runs as a transaction, isolated from the others; store the plain value and open the object for writing (`ctx.get_mut(r)?`) to change it"
            ),
            (Kind::Atomic, Site::Field) => format!(
                "a managed object needs no `{name}`: every task runs as a transaction, isolated from the others; store the plain value, a `{plain}`, and open the object for writing (`ctx.get_mut(r)?`) to change it"
            ),
            (Kind::Cell, Site::Argument) => format!(
                "a task argument cannot hold {article} `{name}`: the task gets its own copy of its arguments, so nothing is shared through it; pass the plain value"
            ),
            (Kind::Lock, Site::Argument) => format!(
                "a task argument cannot hold {article} `{name}`: the task gets its own copy of its arguments, so there is nothing to lock; pass the plain value"
            ),
            (Kind::Atomic, Site::Argument) => format!(
                "a task argument cannot hold {article} `{name}`: the task gets its own copy of its arguments, so nothing is shared through it; pass the plain value, a `{plain}`"
            ),
            (Kind::Time(why), _) => format!(
                "{} cannot hold {article} `{name}`: {why}; {} a `u64` of milliseconds instead, since the UNIX epoch or on the game's own clock (a `Duration` can be {} as it is)",
                site.subject(),
                site.give(),
                site.given(),
            ),
            (Kind::Handle(resource), _) => {
                let (what, hint) = match resource {
                    Resource::File => ("an open file", ""),
                    Resource::Socket => (
                        "a socket",
                        " (clients reach the game through sessions and channels)",
                    ),
                    Resource::Thread => ("a thread", ""),
                    Resource::Process => ("a child process", ""),
                    Resource::Channel => (
                        "a channel",
                        " (to hand work on, schedule a task: `ctx.schedule(..)`)",
                    ),
                };
                let context = match site {
                    Site::Field => "a stored object is read back after restarts and on other machines",
                    Site::Argument => "a task is stored and may run after a restart or on another machine",
                };
                format!(
                    "{} cannot hold {article} `{name}`: it is a handle to {what} of this process, and {context}, where the handle means nothing; keep it outside managed state{hint}",
                    site.subject()
                )
            }
            (Kind::Text, _) => format!(
                "{} cannot hold {article} `{name}`: rkyv has no archive for it; {} it as a `String`",
                site.subject(),
                site.give()
            ),
        }
    }
}

/// The standard library type `path` names, if it is one of `KNOWN`: written alone, under
/// `std`, `core` or `alloc` (`std::time::Instant`), or right after one of its modules
/// (`time::Instant`).
fn std_type(path: &Path) -> Option<&'static Known> {
    let last = path.segments.last()?;
    let known = KNOWN.iter().find(|known| last.ident == known.name)?;
    let has_arguments = matches!(last.arguments, PathArguments::AngleBracketed(_));
    if matches!(known.form, Form::Generic) && !has_arguments {
        return None;
    }
    let count = path.segments.len();
    let alone = path.leading_colon.is_none() && count == 1;
    let under_std = count > 1
        && ["std", "core", "alloc"]
            .iter()
            .any(|root| path.segments[0].ident == root);
    let in_module = count > 1
        && known
            .modules
            .iter()
            .any(|module| path.segments[count - 2].ident == module);
    let alone_allowed = !matches!(known.form, Form::Qualified);
    ((alone && alone_allowed) || under_std || in_module).then_some(known)
}

/// The name of the standard library type `path` names, if it is one of `names` written with
/// type arguments, either alone (`Rc<T>`) or under `std`, `core` or `alloc`
/// (`std::rc::Rc<T>`). A game's own `Cell` (a grid cell, say) is left alone: those are
/// rarely generic, and never under `std`.
fn std_generic<'p>(path: &'p Path, names: &[&str]) -> Option<&'p Ident> {
    let last = path.segments.last()?;
    if !names.iter().any(|name| last.ident == name) {
        return None;
    }
    if !matches!(last.arguments, PathArguments::AngleBracketed(_)) {
        return None;
    }
    let alone = path.leading_colon.is_none() && path.segments.len() == 1;
    let under_std = path.segments.len() > 1
        && ["std", "core", "alloc"]
            .iter()
            .any(|root| path.segments[0].ident == root);
    (alone || under_std).then_some(&last.ident)
}

/// The first type argument of the path's last segment: `T` in `Box<T>`.
fn first_type_argument(path: &Path) -> Option<&Type> {
    type_arguments(path).next()
}

/// `ty` without surrounding parentheses or invisible groups.
fn strip_parens(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => strip_parens(&inner.elem),
        Type::Group(inner) => strip_parens(&inner.elem),
        _ => ty,
    }
}

/// The target type of a typed reference, `T` in `Ref<T>` (under any path, such as
/// `darkstar_sdk::Ref<T>`), or `None` if `ty` is not written as one.
pub fn ref_target(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = strip_parens(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != "Ref" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    match arguments.args.iter().collect::<Vec<_>>()[..] {
        [GenericArgument::Type(target)] => Some(target),
        _ => None,
    }
}

/// The parts of `types` to check for an rkyv archive, each by itself, so that the error
/// names the part that has none at its own span: `Plain` in `Vec<Plain>`, rather than
/// `Vec<Plain>` with a message about a trait deep inside rkyv. The standard containers,
/// tuples and arrays are looked through, since they archive exactly when their elements
/// do; any other type is checked as a whole. Each distinct part is checked once, at its
/// first occurrence: a second check would only repeat the first one's error.
pub fn stored_parts<'t>(types: impl IntoIterator<Item = &'t Type>) -> Vec<Type> {
    let mut parts = Vec::new();
    for ty in types {
        collect_parts(ty, &mut parts);
    }
    let mut seen = HashSet::new();
    parts.retain(|part| seen.insert(part.to_token_stream().to_string()));
    parts
}

/// Adds the parts of `ty` to check to `parts`.
fn collect_parts(ty: &Type, parts: &mut Vec<Type>) {
    match ty {
        Type::Paren(inner) => collect_parts(&inner.elem, parts),
        Type::Group(inner) => collect_parts(&inner.elem, parts),
        Type::Array(array) => collect_parts(&array.elem, parts),
        // Only inside a `Box`: the slice itself is unsized, so only its elements are checked.
        Type::Slice(slice) => collect_parts(&slice.elem, parts),
        Type::Tuple(tuple) => {
            for elem in &tuple.elems {
                collect_parts(elem, parts);
            }
        }
        // A `Ref<T>` is storable whatever `T` is.
        _ if ref_target(ty).is_some() => {}
        // Primitives and `String` are archived by rkyv itself; `str` occurs only inside a
        // `Box`, archived as a string. Checking them would only lengthen the expansion.
        Type::Path(path)
            if path.qself.is_none()
                && path
                    .path
                    .get_ident()
                    .is_some_and(|ident| ALWAYS_STORED.iter().any(|name| ident == name)) => {}
        Type::Path(path) if path.qself.is_none() => match container_arity(&path.path) {
            Some(arity) => {
                for inner in type_arguments(&path.path).take(arity) {
                    collect_parts(inner, parts);
                }
            }
            None => parts.push(ty.clone()),
        },
        _ => parts.push(ty.clone()),
    }
}

/// Types written as one identifier that are storable as they are.
const ALWAYS_STORED: &[&str] = &[
    "bool", "char", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
    "u64", "u128", "usize", "str", "String",
];

/// How many leading type arguments of the standard container `path` names are stored
/// (the hasher of a `HashMap` is not), or `None` if `path` names no standard container.
fn container_arity(path: &Path) -> Option<usize> {
    let name = std_generic(
        path,
        &[
            "Vec", "VecDeque", "Option", "Box", "HashMap", "BTreeMap", "HashSet", "BTreeSet",
            "Result",
        ],
    )?;
    Some(
        if name == "HashMap" || name == "BTreeMap" || name == "Result" {
            2
        } else {
            1
        },
    )
}

/// The type arguments of the path's last segment: `K` and `V` in `HashMap<K, V>`.
fn type_arguments(path: &Path) -> impl Iterator<Item = &Type> {
    let arguments = match path.segments.last().map(|segment| &segment.arguments) {
        Some(PathArguments::AngleBracketed(arguments)) => Some(&arguments.args),
        _ => None,
    };
    arguments
        .into_iter()
        .flatten()
        .filter_map(|argument| match argument {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
}

/// Code that compiles only if every part in `parts` can be stored: one `where` bound per
/// part, each spanning the part, so "cannot be stored" points into the user's type.
/// Bounds are checked with the items' signatures, in the order of the items, and calls in
/// bodies only after every signature: emitted in front of the struct, this check reports a
/// missing archive ahead of the errors rkyv's derive gives for the same cause.
pub fn persist_checks(parts: &[Type], cfgs: &[syn::Attribute]) -> proc_macro2::TokenStream {
    if parts.is_empty() {
        return proc_macro2::TokenStream::new();
    }
    let bounds = parts.iter().map(|ty| {
        // A bound's span runs from its type to its trait; a trait located at the type's
        // last token makes that exactly the type, even where spans cannot be joined.
        let end = ty
            .to_token_stream()
            .into_iter()
            .last()
            .map_or_else(proc_macro2::Span::call_site, |token| token.span());
        quote::quote_spanned!(end=> #ty: ::darkstar_sdk::Persist)
    });
    quote::quote! {
        #(#cfgs)*
        const _: () = {
            #[allow(dead_code)]
            fn check()
            where
                #(#bounds,)*
            {
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name `std_type` recognizes in the type written `text`, if any.
    fn recognized(text: &str) -> Option<&'static str> {
        let Type::Path(path) = syn::parse_str::<Type>(text).unwrap() else {
            panic!("{text} is not a path");
        };
        std_type(&path.path).map(|known| known.name)
    }

    #[test]
    fn standard_types_are_recognized_however_they_are_written() {
        for text in [
            "Instant",
            "time::Instant",
            "std::time::Instant",
            "::std::time::Instant",
            "tokio::time::Instant",
        ] {
            assert_eq!(recognized(text), Some("Instant"), "{text}");
        }
        assert_eq!(recognized("std::fs::File"), Some("File"));
        assert_eq!(recognized("tokio::fs::File"), Some("File"));
        assert_eq!(recognized("mpsc::Sender<u8>"), Some("Sender"));
        assert_eq!(recognized("JoinHandle<()>"), Some("JoinHandle"));
        assert_eq!(
            recognized("core::sync::atomic::AtomicU64"),
            Some("AtomicU64")
        );
        assert_eq!(recognized("Rc<u8>"), Some("Rc"));
    }

    #[test]
    fn a_games_own_types_of_the_same_names_are_left_alone() {
        for text in [
            "File",
            "Thread",
            "Child",
            "Cell",
            "grid::Cell<u8>",
            "clock::Instant",
            "crate::Instant",
            "Duration",
            "std::time::Duration",
        ] {
            assert_eq!(recognized(text), None, "{text}");
        }
    }

    #[test]
    fn atomics_name_the_plain_type_they_hold() {
        let Type::Path(path) = syn::parse_str::<Type>("AtomicUsize").unwrap() else {
            unreachable!();
        };
        let message = std_type(&path.path).unwrap().message(Site::Field);
        assert!(message.contains("a `usize`"), "{message}");
    }
}
