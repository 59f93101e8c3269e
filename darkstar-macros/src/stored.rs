//! What both macros generate for a stored type: its `Layout` and `Stored` impls, and the
//! compile-time checks of its migration chain.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, Fields, Ident, Type};

use crate::args::Args;

/// One stored field, as the catalog will describe it.
pub struct StoredField {
    /// Its name (`"0"` for a tuple struct's first field).
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// `#[rkyv(with = ...)]`'s wrapper, if the field has one.
    pub with: Option<TokenStream>,
}

/// The fields of a struct as [`StoredField`]s.
pub fn fields_of(fields: &Fields) -> Vec<StoredField> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| StoredField {
            name: field.ident.as_ref().map_or_else(
                || i.to_string(),
                |ident| syn::ext::IdentExt::unraw(ident).to_string(),
            ),
            ty: field.ty.clone(),
            with: rkyv_with(&field.attrs),
        })
        .collect()
}

/// The wrapper named by `#[rkyv(with = ...)]` among `attrs`, as tokens.
fn rkyv_with(attrs: &[Attribute]) -> Option<TokenStream> {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("rkyv")) {
        let Ok(list) = attr.meta.require_list() else {
            continue;
        };
        let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
        for setting in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
            if let [TokenTree::Ident(key), TokenTree::Punct(eq), rest @ ..] = setting {
                if key == "with" && eq.as_char() == '=' {
                    return Some(rest.iter().cloned().collect());
                }
            }
        }
    }
    None
}

/// Tokens as a user would write them: `Vec<Ref<Player>>`, not `Vec < Ref < Player > >`.
pub fn written(tokens: &impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
        (" ;", ";"),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// Tokens as one deterministic text: each token's own text, a space only between two
/// words, and the type being defined (`own`, alone as a path) written `Self`. Unlike
/// `TokenStream`'s `Display`, it does not depend on how a compiler version prints tokens,
/// nor on the type's Rust name, so the fingerprints made from it stay the same.
fn canonical(tokens: TokenStream, own: &Ident) -> String {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = String::new();
    let mut word = false;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Ident(ident) => {
                if word {
                    out.push(' ');
                }
                if is_own(&tokens, i, own) {
                    out.push_str("Self");
                } else {
                    out.push_str(&ident.to_string());
                }
                word = true;
            }
            TokenTree::Literal(literal) => {
                if word {
                    out.push(' ');
                }
                out.push_str(&literal.to_string());
                word = true;
            }
            TokenTree::Punct(punct) => {
                out.push(punct.as_char());
                word = false;
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    proc_macro2::Delimiter::Parenthesis => ("(", ")"),
                    proc_macro2::Delimiter::Bracket => ("[", "]"),
                    proc_macro2::Delimiter::Brace => ("{", "}"),
                    proc_macro2::Delimiter::None => ("", ""),
                };
                out.push_str(open);
                out.push_str(&canonical(group.stream(), own));
                out.push_str(close);
                word = false;
            }
        }
    }
    out
}

/// Whether token `i` of `tokens` names the type being defined: `own` alone as a path (not
/// `other::Player`, which is another type of the same name).
fn is_own(tokens: &[TokenTree], i: usize, own: &Ident) -> bool {
    let is_colon =
        |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    matches!(&tokens[i], TokenTree::Ident(found) if found == own)
        && !is_colon(i.checked_sub(1).and_then(|j| tokens.get(j)))
        && !is_colon(tokens.get(i + 1))
}

/// Whether `tokens` name the type being defined: `Self`, or `own` alone as a path.
fn mentions(tokens: TokenStream, own: &Ident) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    (0..tokens.len()).any(|i| match &tokens[i] {
        TokenTree::Ident(found) if found == "Self" => true,
        TokenTree::Ident(_) => is_own(&tokens, i, own),
        TokenTree::Group(group) => mentions(group.stream(), own),
        _ => false,
    })
}

/// The expression of a field's fingerprint. A field archived through a wrapper takes what
/// the wrapper stores (`LayoutWith`); a field whose type contains the type being defined
/// (a recursive type) is fingerprinted by its tokens, since the type's fingerprint cannot
/// be an input of itself (the type's parameters are mixed in by the caller).
pub fn field_fingerprint(field: &StoredField, own: &Ident) -> TokenStream {
    let ty = &field.ty;
    if let Some(with) = &field.with {
        return quote_spanned!(ty.span()=>
            <#with as ::darkstar_sdk::__private::LayoutWith<#ty>>::FINGERPRINT
        );
    }
    if mentions(ty.to_token_stream(), own) {
        let text = canonical(ty.to_token_stream(), own);
        return quote!(::darkstar_sdk::__private::of_recursive(#text));
    }
    quote_spanned!(ty.span()=> <#ty as ::darkstar_sdk::Layout>::FINGERPRINT)
}

/// The `&'static [Field]` expression describing `fields`.
pub fn field_table(fields: &[StoredField], own: &Ident) -> TokenStream {
    let entries = fields.iter().map(|field| {
        let name = &field.name;
        let ty = match &field.with {
            Some(with) => format!("{} (with {})", written(&field.ty), written(with)),
            None => written(&field.ty),
        };
        let fingerprint = field_fingerprint(field, own);
        quote! {
            ::darkstar_sdk::__private::Field {
                name: #name,
                ty: #ty,
                fingerprint: #fingerprint,
            }
        }
    });
    quote!(&[#(#entries),*])
}

/// What a stored type's impls are generated from.
pub struct Spec<'a> {
    /// The Rust type.
    pub ident: &'a Ident,
    /// The pieces of its stable name, as `concat!` takes them: a literal, or the module
    /// path, `::` and the item's name.
    pub name_parts: TokenStream,
    /// The macro's arguments (version, from, aliases).
    pub args: &'a Args,
    /// Its stored fields.
    pub fields: &'a [StoredField],
    /// Its `#[cfg]` attributes, repeated on every generated item.
    pub cfgs: &'a [Attribute],
}

/// `impl Layout`, `impl Stored`, and for a version with a predecessor, the checks of the
/// chain.
pub fn impls(spec: &Spec<'_>) -> TokenStream {
    let Spec {
        ident,
        name_parts,
        args,
        fields,
        cfgs,
    } = spec;
    let version = args.version();
    let stored_name = if version == 1 {
        quote!(::core::concat!(#name_parts))
    } else {
        let suffix = format!("@{version}");
        quote!(::core::concat!(#name_parts, #suffix))
    };
    let table = field_table(fields, ident);
    let aliases = &args.aliases;
    let (versions, upgrade, chain) = match &args.from {
        None => (
            quote!(::std::vec![::darkstar_sdk::stored::Version::of::<Self>()]),
            quote!(::darkstar_sdk::__private::upgrade_first::<Self>(
                version, bytes, id
            )),
            TokenStream::new(),
        ),
        Some(from) => {
            let span = from.span();
            let previous = version - 1;
            let same_name = format!(
                "`from` names a version of another type: `{}` must have the same stored name as `{}` (give both the same `name = \"...\"`)",
                crate::stored::written(from),
                ident
            );
            let going_down = format!(
                "the version goes down: `{}` must be older than version {version}",
                crate::stored::written(from),
            );
            let from_text = crate::stored::written(from);
            let skipped = format!(
                "a migration from a version that was never declared: `from` must name version {previous}, the one just before this version {version}; if `{from_text}` is the newest version there is, give this definition the version after it; otherwise declare version {previous} (with its own `from = {from_text}`)",
            );
            let chain = quote_spanned! {span=>
                #(#cfgs)*
                // Two versions migrating from this one conflict here.
                impl ::darkstar_sdk::__private::MigratedBy for #from {
                    type Next = #ident;
                }

                #(#cfgs)*
                const _: () = {
                    ::core::assert!(
                        ::darkstar_sdk::__private::same_name(
                            <#from as ::darkstar_sdk::Stored>::TYPE_NAME,
                            <#ident as ::darkstar_sdk::Stored>::TYPE_NAME,
                        ),
                        #same_name
                    );
                    ::core::assert!(<#from as ::darkstar_sdk::Stored>::VERSION < #version, #going_down);
                    ::core::assert!(<#from as ::darkstar_sdk::Stored>::VERSION == #previous, #skipped);
                };
            };
            (
                quote_spanned!(span=> ::darkstar_sdk::__private::versions_after::<Self, #from>()),
                quote_spanned!(span=> ::darkstar_sdk::__private::upgrade_from::<Self, #from>(version, bytes, id)),
                chain,
            )
        }
    };
    quote! {
        #(#cfgs)*
        #[automatically_derived]
        impl ::darkstar_sdk::Layout for #ident {
            const FINGERPRINT: u64 =
                ::darkstar_sdk::__private::of_fields(<Self as ::darkstar_sdk::Stored>::FIELDS);
        }

        #(#cfgs)*
        #[automatically_derived]
        impl ::darkstar_sdk::Stored for #ident {
            const TYPE_NAME: &'static str = ::core::concat!(#name_parts);
            const VERSION: u32 = #version;
            const STORED_NAME: &'static str = #stored_name;
            const FIELDS: &'static [::darkstar_sdk::__private::Field] = #table;
            const ALIASES: &'static [&'static str] = &[#(#aliases),*];

            fn versions() -> ::std::vec::Vec<::darkstar_sdk::stored::Version> {
                #versions
            }

            fn upgrade(
                version: u32,
                bytes: &[u8],
                id: u64,
            ) -> ::core::result::Result<Self, ::darkstar_sdk::TaskError> {
                #upgrade
            }
        }

        #chain
    }
}

/// The pieces of a stable name for `concat!`: the literal given, or the module path and
/// `item`.
pub fn name_parts(given: Option<&syn::LitStr>, item: &str) -> TokenStream {
    match given {
        Some(name) => quote!(#name),
        None => quote!(::core::module_path!(), "::", #item),
    }
}
