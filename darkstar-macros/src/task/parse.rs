//! Checking a `#[task]` function and describing what to generate for it.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::{
    Attribute, FnArg, GenericParam, Ident, Item, ItemFn, Pat, PatIdent, PatType, Signature, Type,
};

use crate::args::{self, Args, Macro};
use crate::errors::Errors;
use crate::item;
use crate::portable::{self, Found, Site};

/// A valid `#[task]` function and what its expansion needs.
pub struct Task {
    /// The function, emitted unchanged.
    pub func: ItemFn,
    /// The name of the generated struct.
    pub struct_ident: Ident,
    /// The attribute's arguments: `name`, `version`, `from`, `aliases`.
    pub attr: Args,
    /// The type of the context parameter, whose span the context takes in the call, so a
    /// first parameter that is no context is reported there.
    pub context: Type,
    /// The arguments after the context, which become the struct's fields.
    pub args: Vec<Arg>,
    /// The function's `#[cfg]` attributes, repeated on every generated item.
    pub cfgs: Vec<Attribute>,
    /// The errors about argument types that cannot be stored, if there are any and nothing
    /// else is wrong: the expansion is then generated all the same, with those arguments
    /// left out of the archive, and reports them.
    pub errors: Option<syn::Error>,
}

/// One argument of the task, and field of its struct.
pub struct Arg {
    /// Its name.
    pub ident: Ident,
    /// Its type.
    pub ty: Type,
    /// Whether the type is written `Ref<T>`, so `Task::refs` visits it.
    pub is_ref: bool,
    /// Whether the type cannot be stored, so the argument is left out of the archive
    /// (there is an error about it).
    pub unstored: bool,
}

/// Checks `#[task(attr)] item`, recording every problem before giving up. Only argument
/// types that cannot be stored but are otherwise fine leave a function to expand, with
/// [`Task::errors`].
pub fn parse(attr: TokenStream, item: TokenStream) -> syn::Result<Task> {
    let mut errors = Errors::new();
    let args = args::parse(attr, Macro::Task, &mut errors);
    let func = match syn::parse2::<Item>(item) {
        Ok(Item::Fn(func)) => func,
        Ok(other) => {
            let error = syn::Error::new_spanned(item::head(&other), not_a_fn(&other));
            return Err(errors.fail(error));
        }
        Err(error) => return Err(errors.fail(error)),
    };

    check_signature(&func.sig, &mut errors);
    let (context, params) = split_context(&func.sig, &mut errors);
    let mut expandable = errors.is_empty();
    let mut task_args = Vec::new();
    for param in params {
        let found = portable::check(&param.ty, Site::Argument, &mut errors);
        if found == Found::Unusable {
            expandable = false;
        }
        match &*param.pat {
            Pat::Ident(PatIdent {
                by_ref: None,
                subpat: None,
                ident,
                ..
            }) => task_args.push(Arg {
                ident: ident.clone(),
                ty: (*param.ty).clone(),
                is_ref: portable::ref_target(&param.ty).is_some(),
                unstored: found == Found::Unstorable,
            }),
            pattern => {
                errors.error_at(
                    pattern,
                    "a task argument needs a plain name, such as `amount: u64`: it becomes a field of the task struct; destructure it in the body instead",
                );
                expandable = false;
            }
        }
    }
    let struct_ident = match args.rename.clone() {
        Some(rename) => Some(rename),
        None => struct_name(&func.sig.ident, &mut errors),
    };
    // A missing context or struct name comes with an error of its own, and leaves nothing
    // to expand.
    let errors = match errors.finish() {
        Ok(()) => None,
        Err(error) if expandable && context.is_some() && struct_ident.is_some() => Some(error),
        Err(error) => return Err(error),
    };

    let (Some(context), Some(struct_ident)) = (context, struct_ident) else {
        // Both are `None` only after recording an error, which `finish` returned above.
        unreachable!("a missing context or struct name is always an error");
    };
    let cfgs = item::cfgs(&func.attrs);
    Ok(Task {
        func,
        struct_ident,
        attr: args,
        context,
        args: task_args,
        cfgs,
        errors,
    })
}

/// The message for `#[task]` on something other than a function, with what to do instead.
fn not_a_fn(item: &Item) -> String {
    let usage =
        "`#[task] fn transfer(ctx: &mut Context, from: Ref<Account>, amount: u64) -> TaskResult`";
    match item {
        Item::Struct(_) => format!(
            "`#[task]` goes on a function, not a struct: the function's arguments become the task struct, {usage}; for a struct of game state, use `#[managed]`"
        ),
        other => format!("`#[task]` goes on a function, not {}: {usage}", item::kind(other)),
    }
}

/// The checks of the signature that do not concern its parameters.
fn check_signature(sig: &Signature, errors: &mut Errors) {
    if let Some(asyncness) = &sig.asyncness {
        errors.error_at(
            asyncness,
            "a task is one synchronous transaction; it cannot await: remove `async`, and schedule a follow-up task (`ctx.schedule(..)`) for what must happen later",
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.error_at(
            unsafety,
            "a task cannot be an `unsafe fn`: the runtime calls it and cannot uphold a safety contract; make it safe, with `unsafe` blocks inside where needed",
        );
    }
    for param in &sig.generics.params {
        match param {
            GenericParam::Lifetime(_) => errors.error_at(
                param,
                "a task cannot take a lifetime parameter: its arguments are stored, so they cannot borrow, and the context needs no named lifetime (`ctx: &mut Context`)",
            ),
            GenericParam::Type(_) | GenericParam::Const(_) => errors.error_at(
                param,
                "a task cannot be generic: it is stored under one type name, and its arguments need concrete types; write one task per type",
            ),
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.error_at(
            variadic,
            "a task takes a fixed list of arguments, each stored in a field of the task struct",
        );
    }
}

/// Splits the parameters into the context, the first one, and the task's arguments.
/// Records an error for a `self` receiver and for a missing or misplaced context, whose
/// type is then `None`; every other parameter is returned as an argument, to be checked.
fn split_context<'f>(sig: &'f Signature, errors: &mut Errors) -> (Option<Type>, Vec<&'f PatType>) {
    let mut params: Vec<&PatType> = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.error_at(
                receiver,
                "a task cannot take `self`: it is a free function, run with its context and its stored arguments; move it out of the `impl` block and pass the object as an argument (a `Ref<T>` to a managed object)",
            ),
            FnArg::Typed(param) => params.push(param),
        }
    }
    let Some(first) = params.first() else {
        errors.error_at(signature_head(sig), MISSING_CONTEXT);
        return (None, params);
    };
    if let Type::Reference(_) = &*first.ty {
        // A reference to something named `Context` is the context; so is any other reference
        // if no later parameter is more plausibly it (the context type may be aliased).
        if names_context(&first.ty) || !params.iter().any(|param| names_context(&param.ty)) {
            let context = (*first.ty).clone();
            return (Some(context), params.split_off(1));
        }
    }
    if let Some(position) = params.iter().position(|param| names_context(&param.ty)) {
        errors.error_at(
            params[position],
            "a task takes its context first: move this parameter to the front, `ctx: &mut Context`, then the arguments",
        );
        params.remove(position);
    } else if is_context(&first.ty) {
        errors.error_at(
            &first.ty,
            "a task borrows its context; it cannot take it by value: `ctx: &mut Context`",
        );
        params.remove(0);
    } else {
        errors.error_at(signature_head(sig), MISSING_CONTEXT);
    }
    (None, params)
}

/// The error for a task without a context parameter.
const MISSING_CONTEXT: &str =
    "a task takes its context first: `ctx: &mut Context`, then its arguments";

/// Whether `ty` is a reference to a type named `Context`: surely the context.
fn names_context(ty: &Type) -> bool {
    matches!(ty, Type::Reference(reference) if is_context(&reference.elem))
}

/// Whether `ty` is a path that ends in `Context`, such as `Context<'_>` or
/// `darkstar_sdk::Context`.
fn is_context(ty: &Type) -> bool {
    matches!(ty, Type::Path(path)
        if path.qself.is_none()
            && path.path.segments.last().is_some_and(|segment| segment.ident == "Context"))
}

/// `fn name(...)`, for an error about the parameter list as a whole: a span from `fn` to
/// the closing parenthesis.
fn signature_head(sig: &Signature) -> TokenStream {
    let fn_token = &sig.fn_token;
    let ident = &sig.ident;
    let mut parens = Group::new(Delimiter::Parenthesis, TokenStream::new());
    parens.set_span(sig.paren_token.span.join());
    quote!(#fn_token #ident #parens)
}

/// The default struct name: the function's name in UpperCamelCase, `transfer_funds` →
/// `TransferFunds`. `None`, with an error, if that is no usable name.
fn struct_name(fn_ident: &Ident, errors: &mut Errors) -> Option<Ident> {
    let mut name = String::new();
    let mut upper = true;
    for c in fn_ident.unraw().to_string().chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.extend(c.to_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    if PRELUDE_NAMES.contains(&name.as_str()) {
        errors.error_at(
            fn_ident,
            format!(
                "the task struct would be named `{name}` after this function, and hide the `{name}` this module sees through the prelude; give the struct another name with `#[task(rename = {name}Task)]`"
            ),
        );
        return None;
    }
    // Keywords (`Self`) and names without a letter in front (`_1`) do not parse.
    match syn::parse_str::<Ident>(&name) {
        Ok(mut ident) => {
            ident.set_span(fn_ident.span());
            Some(ident)
        }
        Err(_) => {
            errors.error_at(
                fn_ident,
                format!(
                    "the task struct would be named `{name}` after this function, which is not a usable name; give one with `#[task(rename = Name)]`"
                ),
            );
            None
        }
    }
}

/// Type and trait names that modules see through the standard prelude or darkstar's. A
/// task struct named after a function `result` or `context` would silently hide them, and
/// the function's own signature would then name the task struct.
const PRELUDE_NAMES: &[&str] = &[
    // std
    "AsMut",
    "AsRef",
    "Box",
    "Clone",
    "Copy",
    "Default",
    "DoubleEndedIterator",
    "Drop",
    "Eq",
    "ExactSizeIterator",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "Into",
    "IntoIterator",
    "Iterator",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Send",
    "Sized",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Vec",
    // darkstar_sdk::prelude
    "App",
    "Context",
    "Managed",
    "Obj",
    "ObjMut",
    "Ref",
    "Task",
    "TaskError",
    "TaskHandle",
    "TaskResult",
    "Types",
];
