//! Syntactic checks of the types of managed fields and task arguments, shared by both macros.
//!
//! A value that is stored must not point into memory: a borrow, a pointer or a shared `Rc`
//! means nothing once the value is archived, read back later or run on another core. These
//! are recognized by how the type is written, so the error can say what to use instead;
//! anything else that cannot be archived is caught by the type checker (`assert_persist`).

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
}

/// Records an error for every part of `ty` that cannot be stored, and says what to use.
pub fn check(ty: &Type, site: Site, errors: &mut Errors) {
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
        }
        Type::Ptr(_) => errors.error_at(
            ty,
            format!(
                "{} cannot hold a raw pointer: an address means nothing once the value is stored or moved to another core; {} an owned value, or a `Ref<T>` to a managed object",
                site.subject(),
                site.give()
            ),
        ),
        Type::TraitObject(_) => errors.error_at(
            ty,
            format!(
                "{} cannot hold a trait object (`dyn Trait`): an archive needs the concrete type; use a concrete type, or an enum with one variant per implementation",
                site.subject()
            ),
        ),
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
        }
        Type::BareFn(_) => errors.error_at(
            ty,
            format!(
                "{} cannot hold a function pointer: an address means nothing once the value is stored or moved to another core; use an enum naming the behaviours and match on it",
                site.subject()
            ),
        ),
        Type::Paren(inner) => check(&inner.elem, site, errors),
        Type::Group(inner) => check(&inner.elem, site, errors),
        Type::Array(array) => check(&array.elem, site, errors),
        Type::Slice(slice) => check(&slice.elem, site, errors),
        Type::Tuple(tuple) => {
            for elem in &tuple.elems {
                check(elem, site, errors);
            }
        }
        Type::Path(path) => check_path(ty, path, site, errors),
        _ => {}
    }
}

/// Checks a named type: the standard library's sharing and locking types by name, then
/// the type arguments, so that `Vec<&str>` is caught as well as `&str`.
fn check_path(ty: &Type, path: &TypePath, site: Site, errors: &mut Errors) {
    if path.qself.is_some() {
        return;
    }
    if let Some(name) = std_generic(&path.path, &["Rc", "Arc", "Weak"]) {
        let message = match site {
            Site::Field => format!(
                "a managed object cannot hold an `{name}`: sharing through `{name}` ends with the process, and a stored object is read back as its own copy on any core; to share an object, make it `#[managed]` and store a `Ref<T>` to it, otherwise store the value itself"
            ),
            Site::Argument => format!(
                "a task argument cannot hold an `{name}`: tasks are stored and may run later on another core, where this memory is gone; pass a `Ref<T>` to a managed object to share it, or an owned value"
            ),
        };
        errors.error_at(ty, message);
        return;
    }
    if let Some(name) = std_generic(&path.path, &["Cell", "RefCell", "OnceCell", "UnsafeCell"]) {
        let message = match site {
            Site::Field => format!(
                "a managed object needs no `{name}`: to change a field, open the object for writing (`ctx.get_mut(r)?`) and assign to it; store the plain value"
            ),
            Site::Argument => format!(
                "a task argument cannot hold a `{name}`: the task gets its own copy of its arguments, so nothing is shared through it; pass the plain value"
            ),
        };
        errors.error_at(ty, message);
        return;
    }
    if let Some(name) = std_generic(&path.path, &["Mutex", "RwLock"]) {
        let message = match site {
            Site::Field => format!(
                "a managed object needs no `{name}`: every task runs as a transaction, isolated from the others; store the plain value and open the object for writing (`ctx.get_mut(r)?`) to change it"
            ),
            Site::Argument => format!(
                "a task argument cannot hold a `{name}`: the task gets its own copy of its arguments, so there is nothing to lock; pass the plain value"
            ),
        };
        errors.error_at(ty, message);
        return;
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
            return;
        }
    }
    for segment in &path.path.segments {
        if let PathArguments::AngleBracketed(arguments) = &segment.arguments {
            for argument in &arguments.args {
                match argument {
                    GenericArgument::Type(inner) => check(inner, site, errors),
                    GenericArgument::AssocType(assoc) => check(&assoc.ty, site, errors),
                    _ => {}
                }
            }
        }
    }
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

/// Code that compiles only if every part in `parts` can be stored. Each call carries the
/// span of the part it checks, so "cannot be stored" points into the user's type.
pub fn persist_checks(parts: &[Type], cfgs: &[syn::Attribute]) -> proc_macro2::TokenStream {
    if parts.is_empty() {
        return proc_macro2::TokenStream::new();
    }
    let calls = parts.iter().map(|ty| {
        quote::quote_spanned!(syn::spanned::Spanned::span(ty)=> ::darkstar_sdk::__private::assert_persist::<#ty>();)
    });
    quote::quote! {
        #(#cfgs)*
        const _: () = {
            #[allow(dead_code)]
            fn check() {
                #(#calls)*
            }
        };
    }
}
