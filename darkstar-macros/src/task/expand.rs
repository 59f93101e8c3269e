//! The code `#[task]` generates for a checked function.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::ReturnType;

use super::parse::Task;
use crate::portable;
use crate::stored::{self, StoredField};

/// The checks that the argument types can be stored (first, so that their errors come
/// first), the function unchanged, the struct of its arguments with rkyv's derives, its
/// `Task` impl, and the errors about arguments left out of the archive, if there are any.
pub fn expand(task: &Task) -> TokenStream {
    let Task {
        func,
        struct_ident,
        attr: attr_args,
        context,
        args,
        cfgs,
        errors,
    } = task;
    let vis = &func.vis;
    let fn_ident = &func.sig.ident;
    let fn_name = fn_ident.unraw().to_string();

    let struct_doc = format!(
        "The task type of [`{fn_name}`](fn@{fn_ident}): its arguments, archived so the task can be stored and run on any core."
    );
    let fields = args.iter().map(|arg| {
        let (ident, ty) = (&arg.ident, &arg.ty);
        let doc = format!("The `{}` argument.", ident.unraw());
        let unstored = arg
            .unstored
            .then(|| quote!(#[rkyv(with = ::darkstar_sdk::__private::Unstored)]));
        quote! {
            #[doc = #doc]
            #unstored
            #vis #ident: #ty
        }
    });

    let stored_fields: Vec<StoredField> = args
        .iter()
        .map(|arg| StoredField {
            name: arg.ident.unraw().to_string(),
            ty: arg.ty.clone(),
            with: arg
                .unstored
                .then(|| quote!(::darkstar_sdk::__private::Unstored)),
        })
        .collect();
    let stored = stored::impls(&stored::Spec {
        ident: struct_ident,
        name_parts: stored::name_parts(attr_args.name.as_ref(), &fn_name),
        args: attr_args,
        fields: &stored_fields,
        cfgs,
    });

    // The context parameter resolves where the macro is defined (`mixed_site`), so that a
    // task function named `ctx` is still called, not shadowed. Where it is passed, it is
    // located at the context parameter's type, so that a first parameter that is no context
    // is reported there.
    let ctx = Ident::new("ctx", Span::mixed_site());
    let ctx_arg = Ident::new("ctx", Span::mixed_site().located_at(context.span()));
    let arg_values = args.iter().map(|arg| {
        let ident = &arg.ident;
        quote!(self.#ident)
    });
    // The result and its conversion are located at the return type, so that a return type
    // that is no task result is reported there. (`let result = result(..)` calls a task
    // function named `result`: the binding starts after its initializer.)
    let result_span = match &func.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => func.sig.ident.span(),
    };
    let result = quote_spanned!(result_span=> result);
    let into_task_result =
        quote_spanned!(result_span=> ::darkstar_sdk::IntoTaskResult::into_task_result);

    let refs = args.iter().filter(|arg| arg.is_ref).map(|arg| &arg.ident);
    let refs = if args.iter().any(|arg| arg.is_ref) {
        quote! {
            fn refs(&self, visit: &mut dyn ::core::ops::FnMut(u64)) {
                #(visit(self.#refs.id());)*
            }
        }
    } else {
        TokenStream::new()
    };

    let parts = portable::stored_parts(args.iter().filter(|arg| !arg.unstored).map(|arg| &arg.ty));
    let errors = errors.as_ref().map(syn::Error::to_compile_error);
    let checks = portable::persist_checks(&parts, cfgs);

    quote! {
        #checks

        #func

        #(#cfgs)*
        #[doc = #struct_doc]
        #[derive(
            ::darkstar_sdk::rkyv::Archive,
            ::darkstar_sdk::rkyv::Serialize,
            ::darkstar_sdk::rkyv::Deserialize
        )]
        #[rkyv(crate = ::darkstar_sdk::rkyv)]
        #vis struct #struct_ident {
            #(#fields,)*
        }

        #stored

        #(#cfgs)*
        #[automatically_derived]
        impl ::darkstar_sdk::Task for #struct_ident {
            fn run(self, #ctx: &mut ::darkstar_sdk::Context<'_>) -> ::darkstar_sdk::TaskResult {
                let #result = #fn_ident(#ctx_arg, #(#arg_values),*);
                #into_task_result(#result)
            }

            #refs
        }

        #errors
    }
}
