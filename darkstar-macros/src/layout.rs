//! `#[derive(Layout)]`: the layout fingerprint of a game's own struct or enum, stored
//! inside managed objects or task arguments.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{parse_quote, Data, DeriveInput};

use crate::stored::{self, StoredField};

/// The `Layout` impl of `item`, or the error that says why there is none.
pub fn derive(item: TokenStream) -> TokenStream {
    let input = match syn::parse2::<DeriveInput>(item) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let ident = &input.ident;
    let fingerprint = match &input.data {
        Data::Struct(data) => {
            let fields = stored::fields_of(&data.fields);
            let table = stored::field_table(&fields, ident);
            quote!(::darkstar_sdk::__private::of_fields(#table))
        }
        Data::Enum(data) => {
            let variants = data.variants.iter().map(|variant| {
                let name = variant.ident.to_string();
                let fields: Vec<StoredField> = stored::fields_of(&variant.fields);
                let table = stored::field_table(&fields, ident);
                quote!((#name, ::darkstar_sdk::__private::of_fields(#table)))
            });
            quote!(::darkstar_sdk::__private::of_variants(&[#(#variants),*]))
        }
        Data::Union(data) => {
            return syn::Error::new_spanned(
                data.union_token,
                "a union cannot be stored: its bytes cannot be checked; use an enum",
            )
            .to_compile_error();
        }
    };
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(parse_quote!(::darkstar_sdk::Layout));
    }
    // A generic type's fields may name its parameters only through itself (a recursive
    // field, fingerprinted by its tokens): the parameters' own fingerprints are mixed in,
    // so that `List<u32>` and `List<u64>` differ.
    let params: Vec<_> = input.generics.type_params().map(|p| &p.ident).collect();
    let fingerprint = if params.is_empty() {
        fingerprint
    } else {
        quote!(::darkstar_sdk::__private::of_kind(
            "generic",
            &[#fingerprint, #(<#params as ::darkstar_sdk::Layout>::FINGERPRINT),*]
        ))
    };
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::darkstar_sdk::Layout for #ident #ty_generics #where_clause {
            const FINGERPRINT: u64 = #fingerprint;
        }
    }
}
