//! What both macros need to know about the item they were put on.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Attribute, Item};

/// What kind of item `item` is, as a user would say it ("an enum").
pub fn kind(item: &Item) -> &'static str {
    match item {
        Item::Const(_) => "a constant",
        Item::Enum(_) => "an enum",
        Item::ExternCrate(_) => "an `extern crate`",
        Item::Fn(_) => "a function",
        Item::ForeignMod(_) => "an `extern` block",
        Item::Impl(_) => "an `impl` block",
        Item::Macro(_) => "a macro invocation",
        Item::Mod(_) => "a module",
        Item::Static(_) => "a static",
        Item::Struct(_) => "a struct",
        Item::Trait(_) => "a trait",
        Item::TraitAlias(_) => "a trait alias",
        Item::Type(_) => "a type alias",
        Item::Union(_) => "a union",
        Item::Use(_) => "a `use` declaration",
        _ => "this item",
    }
}

/// The tokens that introduce `item` (`enum Color`, `fn tick`), where an error about the
/// item as a whole belongs: pointing at the keyword and name says "this item", where the
/// whole body would bury the message.
pub fn head(item: &Item) -> TokenStream {
    match item {
        Item::Const(i) => pair(&i.const_token, &i.ident),
        Item::Enum(i) => pair(&i.enum_token, &i.ident),
        Item::Fn(i) => pair(&i.sig.fn_token, &i.sig.ident),
        Item::Mod(i) => pair(&i.mod_token, &i.ident),
        Item::Static(i) => pair(&i.static_token, &i.ident),
        Item::Struct(i) => pair(&i.struct_token, &i.ident),
        Item::Trait(i) => pair(&i.trait_token, &i.ident),
        Item::TraitAlias(i) => pair(&i.trait_token, &i.ident),
        Item::Type(i) => pair(&i.type_token, &i.ident),
        Item::Union(i) => pair(&i.union_token, &i.ident),
        Item::Impl(i) => pair(&i.impl_token, &i.self_ty),
        _ => quote!(#item),
    }
}

/// Two token groups side by side, for a span from the first to the second.
fn pair(first: &impl ToTokens, second: &impl ToTokens) -> TokenStream {
    quote!(#first #second)
}

/// The `#[cfg(...)]` attributes among `attrs`. Items the macros add next to the user's
/// item carry them too, so that an item compiled out takes its generated code with it.
pub fn cfgs(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .cloned()
        .collect()
}
