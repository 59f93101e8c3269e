//! The code `#[managed]` generates for a checked struct.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse_quote;

use super::parse::{Getter, Leaf, Managed};
use super::Kind;
use crate::{portable, stored};

/// The checks that the field types can be stored (first, so that their errors come first),
/// the struct with rkyv's derives, its `Managed` impl, the getters on its archived form, and
/// the errors about fields left out of the archive, if there are any.
pub fn expand(managed: &Managed, kind: Kind) -> TokenStream {
    let mut item = managed.item.clone();
    // First, so rkyv's helper attribute `#[rkyv(...)]` comes after the derive that
    // introduces it, wherever the user's own `#[rkyv(...)]` attributes are.
    item.attrs.splice(
        0..0,
        [
            parse_quote!(#[derive(
                ::darkstar_sdk::rkyv::Archive,
                ::darkstar_sdk::rkyv::Serialize,
                ::darkstar_sdk::rkyv::Deserialize
            )]),
            parse_quote!(#[rkyv(crate = ::darkstar_sdk::rkyv)]),
        ],
    );

    let ident = &item.ident;
    let cfgs = &managed.cfgs;
    let fields = stored::fields_of(&item.fields);
    let stored = stored::impls(&stored::Spec {
        ident,
        name_parts: stored::name_parts(managed.args.name.as_ref(), &ident.unraw().to_string()),
        args: &managed.args,
        fields: &fields,
        cfgs,
    });

    let getters = match &managed.archived {
        Some(archived) if !managed.getters.is_empty() => {
            let getters = managed.getters.iter().map(getter);
            quote! {
                #(#cfgs)*
                // A private field's getter may go unused; it was not written by hand.
                #[allow(dead_code)]
                impl #archived {
                    #(#getters)*
                }
            }
        }
        _ => TokenStream::new(),
    };

    let managed_impl = match kind {
        Kind::Managed => quote! {
            #(#cfgs)*
            #[automatically_derived]
            impl ::darkstar_sdk::Managed for #ident {}
        },
        Kind::TaskArguments => TokenStream::new(),
    };

    let errors = managed.errors.as_ref().map(syn::Error::to_compile_error);
    let parts = portable::stored_parts(&managed.stored_types);
    let checks = portable::persist_checks(&parts, cfgs);

    quote! {
        #checks

        #item

        #stored

        #managed_impl

        #getters

        #errors
    }
}

/// One getter: the field read from the archive as a native value.
fn getter(getter: &Getter) -> TokenStream {
    let Getter { vis, field, kind } = getter;
    let doc = format!("Reads `{}` in place.", field.unraw());
    let (ty, body) = match kind {
        Leaf::Native(ty) => (quote!(#ty), quote!(self.#field.to_native())),
        Leaf::Copy(ty) => (quote!(#ty), quote!(self.#field)),
        Leaf::Str => (quote!(&str), quote!(self.#field.as_str())),
        Leaf::Ref(target) => (
            quote!(::darkstar_sdk::Ref<#target>),
            quote!(self.#field.get()),
        ),
    };
    quote! {
        #[doc = #doc]
        #[inline]
        #vis fn #field(&self) -> #ty {
            #body
        }
    }
}
