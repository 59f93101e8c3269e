//! Checking a `#[managed]` struct and describing what to generate for it.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{
    parse_quote, Attribute, GenericParam, Ident, Item, ItemStruct, Path, Token, Type, TypePath,
    Visibility,
};

use crate::args::{self, Args, Macro};
use crate::errors::Errors;
use crate::item;
use crate::portable::{self, Found, Site};

/// A valid `#[managed]` struct and what its expansion needs.
pub struct Managed {
    /// The struct to emit: as written, with `Self` in field types spelled out.
    pub item: ItemStruct,
    /// The attribute's arguments: `name`, `version`, `from`, `aliases`.
    pub args: Args,
    /// The archived type the getters go on, or `None` if rkyv generates none
    /// (`#[rkyv(as = ...)]`).
    pub archived: Option<Ident>,
    /// Getters on the archived type, one per field of a type read in place.
    pub getters: Vec<Getter>,
    /// The types of the fields archived as written, to check that they can be stored.
    pub stored_types: Vec<Type>,
    /// The struct's `#[cfg]` attributes, repeated on every generated item.
    pub cfgs: Vec<Attribute>,
    /// The errors about field types that cannot be stored, if there are any and nothing
    /// else is wrong: the expansion is then generated all the same, with those fields left
    /// out of the archive, and reports them.
    pub errors: Option<syn::Error>,
}

/// A getter on the archived struct that reads one field in place.
pub struct Getter {
    /// The field's visibility, which the getter takes too.
    pub vis: Visibility,
    /// The field's name, which is the getter's name too.
    pub field: Ident,
    /// What the getter returns.
    pub kind: Leaf,
}

/// A field type whose archived form has an obvious native reading.
pub enum Leaf {
    /// A multi-byte number or `char`, archived with a fixed byte order: `.to_native()`.
    Native(Type),
    /// `u8`, `i8` or `bool`, archived as itself: a copy.
    Copy(Type),
    /// `String`, archived as `ArchivedString`: `&str`.
    Str,
    /// `Ref<T>`, archived as `ArchivedRef<T>`: the reference, with the target `T`.
    Ref(Type),
}

/// Checks `#[managed(attr)] item`, recording every problem before giving up. Only field
/// types that cannot be stored but are otherwise fine leave a struct to expand, with
/// [`Managed::errors`].
pub fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Managed> {
    let mut errors = Errors::new();
    let args = args::parse(attr, Macro::Managed, &mut errors);
    let mut item = match syn::parse2::<Item>(item) {
        Ok(Item::Struct(item)) => item,
        Ok(other) => {
            let error = syn::Error::new_spanned(item::head(&other), not_a_struct(&other));
            return Err(errors.fail(error));
        }
        Err(error) => return Err(errors.fail(error)),
    };

    check_generics(&item, &mut errors);
    let rkyv = check_attributes(&item.attrs, &mut errors);
    let mut expandable = errors.is_empty();

    let mut getters = Vec::new();
    let mut stored_types = Vec::new();
    let struct_ident = item.ident.clone();
    for field in &mut item.fields {
        field.ty = replace_self(&field.ty, &struct_ident);
        // `#[rkyv(with = ...)]` archives the field through a wrapper, which may store (or
        // skip) what the field's own type could not, and reads back differently: the user
        // has taken charge of the field.
        if has_rkyv_key(&field.attrs, "with") {
            continue;
        }
        match portable::check(&field.ty, Site::Field, &mut errors) {
            Found::Nothing => {}
            Found::Unstorable => {
                field
                    .attrs
                    .push(parse_quote!(#[rkyv(with = ::darkstar_sdk::__private::Unstored)]));
                continue;
            }
            Found::Unusable => expandable = false,
        }
        stored_types.push(field.ty.clone());
        if let (Some(ident), Some(kind)) = (&field.ident, leaf(&field.ty)) {
            getters.push(Getter {
                vis: field.vis.clone(),
                field: ident.clone(),
                kind,
            });
        }
    }
    let errors = match errors.finish() {
        Ok(()) => None,
        Err(error) if expandable => Some(error),
        Err(error) => return Err(error),
    };

    // rkyv names the archived type `Archived` + the struct's name, unless told otherwise.
    let archived = if rkyv.remote_type {
        getters.clear();
        None
    } else {
        Some(rkyv.archived.unwrap_or_else(|| {
            format_ident!(
                "Archived{}",
                struct_ident.unraw(),
                span = struct_ident.span()
            )
        }))
    };
    let cfgs = item::cfgs(&item.attrs);
    Ok(Managed {
        item,
        args,
        archived,
        getters,
        stored_types,
        cfgs,
        errors,
    })
}

/// The message for `#[managed]` on something other than a struct, with what to do instead.
fn not_a_struct(item: &Item) -> String {
    match item {
        Item::Enum(_) => "`#[managed]` goes on a struct, not an enum: a managed object is a struct of fields; to store an enum, make it the type of a field of a managed struct (deriving rkyv's `Archive`, `Serialize` and `Deserialize` for it)".to_owned(),
        Item::Union(_) => "`#[managed]` goes on a struct, not a union: a union cannot be archived safely; use a struct, with an enum field for the alternatives".to_owned(),
        Item::Fn(_) => "`#[managed]` goes on a struct, not a function; to make a function a task, use `#[task]`".to_owned(),
        other => format!(
            "`#[managed]` goes on a struct, not {}: `#[managed] pub struct Account {{ pub balance: u64 }}`",
            item::kind(other)
        ),
    }
}

/// Generic and lifetime parameters are errors: the type is stored under one name, and
/// whatever is stored cannot borrow.
fn check_generics(item: &ItemStruct, errors: &mut Errors) {
    for param in &item.generics.params {
        match param {
            GenericParam::Lifetime(_) => errors.error_at(
                param,
                "a managed object cannot borrow, so it takes no lifetime parameter: it is stored and read back later; store owned values, or `Ref<T>`s to other managed objects",
            ),
            GenericParam::Type(_) | GenericParam::Const(_) => errors.error_at(
                param,
                "a managed type is stored under one type name; it cannot be generic: write a struct for each concrete type, or use an enum field for the variations",
            ),
        }
    }
}

/// What the struct's own `#[rkyv(...)]` attributes change about the expansion.
#[derive(Default)]
struct RkyvAttributes {
    /// `archived = Name`: the archived type's name, where the getters go.
    archived: Option<Ident>,
    /// `as = Type`: rkyv archives as an existing type and generates none.
    remote_type: bool,
}

/// Checks the struct's attributes against what `#[managed]` adds itself, and reads the
/// `#[rkyv(...)]` settings that change where the getters go.
fn check_attributes(attrs: &[Attribute], errors: &mut Errors) -> RkyvAttributes {
    let mut found = RkyvAttributes::default();
    for attr in attrs {
        if attr.path().is_ident("derive") {
            let Ok(paths) = attr
                .parse_args_with(syn::punctuated::Punctuated::<Path, Token![,]>::parse_terminated)
            else {
                continue;
            };
            for path in paths.iter().filter(|path| is_rkyv_derive(path)) {
                errors.error_at(
                    path,
                    "`#[managed]` already derives rkyv's `Archive`, `Serialize` and `Deserialize`; remove them from this `derive`",
                );
            }
        } else if attr.path().is_ident("rkyv") {
            for (key, value) in rkyv_settings(attr) {
                if key == "crate" {
                    errors.error_at(
                        key,
                        "`#[managed]` sets rkyv's crate path itself, to the rkyv that `darkstar_sdk` re-exports; remove `crate` from this attribute",
                    );
                } else if key == "as" {
                    found.remote_type = true;
                } else if key == "archived" {
                    found.archived = value;
                }
            }
        }
    }
    found
}

/// Whether a derived path names one of the rkyv derives `#[managed]` adds: `Archive` under
/// any path, or `Serialize`/`Deserialize` under a path through `rkyv` (alone, those names
/// are more likely serde's).
fn is_rkyv_derive(path: &Path) -> bool {
    let Some(last) = path.segments.last() else {
        return false;
    };
    last.ident == "Archive"
        || ((last.ident == "Serialize" || last.ident == "Deserialize")
            && path.segments.iter().any(|segment| segment.ident == "rkyv"))
}

/// Whether some `#[rkyv(...)]` among `attrs` sets `key`.
fn has_rkyv_key(attrs: &[Attribute], key: &str) -> bool {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("rkyv"))
        .flat_map(rkyv_settings)
        .any(|(found, _)| found == key)
}

/// The settings in an `#[rkyv(...)]` attribute: each key, with the identifier after its
/// `=` if there is one (`archived = Name`). Read token by token rather than parsed, since
/// only rkyv knows every setting's syntax.
fn rkyv_settings(attr: &Attribute) -> Vec<(Ident, Option<Ident>)> {
    let Ok(list) = attr.meta.require_list() else {
        return Vec::new();
    };
    let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
    tokens
        .split(|token| matches!(token, TokenTree::Punct(p) if p.as_char() == ','))
        .filter_map(|setting| match setting {
            [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Ident(value), ..]
                if eq.as_char() == '=' =>
            {
                Some((key.clone(), Some(value.clone())))
            }
            [TokenTree::Ident(key), ..] => Some((key.clone(), None)),
            _ => None,
        })
        .collect()
}

/// How the archived form of a field of type `ty` is read, if it is one of the types read
/// the same way every time; `None` for the rest, which users read through the archived
/// field itself.
fn leaf(ty: &Type) -> Option<Leaf> {
    if let Some(target) = portable::ref_target(ty) {
        return Some(Leaf::Ref(target.clone()));
    }
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return None;
    };
    if path
        .segments
        .iter()
        .any(|segment| !segment.arguments.is_empty())
    {
        return None;
    }
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let alone = path.leading_colon.is_none();
    match names[..] {
        [name] if alone && NATIVE.contains(&name) => Some(Leaf::Native(ty.clone())),
        [name] if alone && COPIED.contains(&name) => Some(Leaf::Copy(ty.clone())),
        ["String"] if alone => Some(Leaf::Str),
        ["std" | "alloc", "string", "String"] => Some(Leaf::Str),
        _ => None,
    }
}

/// Types archived in a fixed byte order, read back with `.to_native()`.
const NATIVE: &[&str] = &[
    "u16", "u32", "u64", "u128", "i16", "i32", "i64", "i128", "f32", "f64", "char",
];

/// Types archived as themselves, read back by copying.
const COPIED: &[&str] = &["u8", "i8", "bool"];

/// `ty` with `Self` spelled out as the struct's name. In a field type `Self` means the
/// struct, but the same tokens elsewhere (the archived struct, a getter, a check) would
/// mean something else or nothing.
fn replace_self(ty: &Type, ident: &Ident) -> Type {
    /// `tokens` with every `Self` replaced, inside groups too.
    fn replace(tokens: TokenStream, ident: &Ident) -> TokenStream {
        tokens
            .into_iter()
            .map(|token| match token {
                TokenTree::Ident(found) if found == "Self" => {
                    let mut renamed = ident.clone();
                    renamed.set_span(found.span());
                    TokenTree::Ident(renamed)
                }
                TokenTree::Group(group) => {
                    let mut replaced =
                        Group::new(group.delimiter(), replace(group.stream(), ident));
                    replaced.set_span(group.span());
                    TokenTree::Group(replaced)
                }
                other => other,
            })
            .collect()
    }
    let replaced = replace(quote::ToTokens::to_token_stream(ty), ident);
    // The tokens only changed an identifier, so they still parse as a type.
    syn::parse2(replaced).unwrap_or_else(|_| ty.clone())
}
