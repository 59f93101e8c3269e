//! The arguments inside `#[managed(...)]` and `#[task(...)]`.
//!
//! Both macros take `name = "..."`; `#[task]` also takes `rename = Ident`. Every argument is
//! checked, and every problem recorded, before either macro generates anything.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, Token};

use crate::errors::Errors;

/// Which macro the arguments belong to, which decides what they may be.
#[derive(Clone, Copy)]
pub enum Macro {
    /// `#[managed]`: `name` only.
    Managed,
    /// `#[task]`: `name` and `rename`.
    Task,
}

impl Macro {
    /// The attribute as the user writes it, for messages.
    fn attribute(self) -> &'static str {
        match self {
            Macro::Managed => "#[managed]",
            Macro::Task => "#[task]",
        }
    }

    /// A plausible stored name, for messages.
    fn example_name(self) -> &'static str {
        match self {
            Macro::Managed => "\"game.Account\"",
            Macro::Task => "\"bank.transfer\"",
        }
    }

    /// What the macro accepts, for the message about an unknown argument.
    fn expected(self) -> String {
        match self {
            Macro::Managed => format!(
                "its only argument is `name = {}` (the stored type name)",
                self.example_name()
            ),
            Macro::Task => format!(
                "its arguments are `name = {}` (the stored type name) and `rename = TransferTask` (the name of the generated struct)",
                self.example_name()
            ),
        }
    }
}

/// The parsed arguments. Absent ones take their defaults at expansion.
#[derive(Default)]
pub struct Args {
    /// The stored type name, `name = "..."`.
    pub name: Option<LitStr>,
    /// The name of the generated task struct, `rename = Ident` (`#[task]` only).
    pub rename: Option<Ident>,
}

/// Parses the tokens inside the attribute's parentheses, recording every problem.
pub fn parse(attr: TokenStream, mac: Macro, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(attr) {
        Ok(metas) => metas,
        Err(error) => {
            errors.push(error);
            return args;
        }
    };
    for meta in metas {
        let key = meta.path().get_ident().map(Ident::to_string);
        match (key.as_deref(), mac) {
            (Some("name"), _) => {
                if let Some(name) = name_value(&meta, mac, errors) {
                    set_once(&mut args.name, name, &meta, "name", errors);
                }
            }
            (Some("rename"), Macro::Task) => {
                if let Some(rename) = rename_value(&meta, errors) {
                    set_once(&mut args.rename, rename, &meta, "rename", errors);
                }
            }
            _ => errors.error_at(
                meta.path(),
                format!(
                    "unknown argument `{}` of `{}`: {}",
                    path_text(&meta),
                    mac.attribute(),
                    mac.expected()
                ),
            ),
        }
    }
    args
}

/// Stores `value` unless the argument was already given, which is an error: with two
/// names there is no telling which one the user meant.
fn set_once<T>(slot: &mut Option<T>, value: T, meta: &Meta, key: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.error_at(meta, format!("`{key}` is given twice; give it once"));
    } else {
        *slot = Some(value);
    }
}

/// The value of `name = "..."`: a non-empty string literal without surrounding whitespace,
/// since it is the key every stored value of the type is found under.
fn name_value(meta: &Meta, mac: Macro, errors: &mut Errors) -> Option<LitStr> {
    let example = mac.example_name();
    let Meta::NameValue(pair) = meta else {
        errors.error_at(meta, format!("`name` needs a value: `name = {example}`"));
        return None;
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Str(lit), ..
    }) = &pair.value
    else {
        errors.error_at(
            &pair.value,
            format!("`name` takes a string literal: `name = {example}`"),
        );
        return None;
    };
    let text = lit.value();
    if text.trim().is_empty() {
        errors.error_at(
            lit,
            format!(
                "the stored type name cannot be empty: give one such as {example}, or remove `name` to use the module path and item name"
            ),
        );
        return None;
    }
    if text.trim() != text {
        errors.error_at(
            lit,
            format!(
                "the stored type name cannot begin or end with whitespace: write {:?}",
                text.trim()
            ),
        );
        return None;
    }
    Some(lit.clone())
}

/// The value of `rename = Ident`: a plain identifier, since it names a struct.
fn rename_value(meta: &Meta, errors: &mut Errors) -> Option<Ident> {
    const EXAMPLE: &str = "`rename = TransferTask`";
    let Meta::NameValue(pair) = meta else {
        errors.error_at(
            meta,
            format!("`rename` needs the name of the generated struct: {EXAMPLE}"),
        );
        return None;
    };
    match &pair.value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
            if let Some(ident) = path.path.get_ident() {
                return Some(ident.clone());
            }
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            let text = lit.value();
            let suggestion = if syn::parse_str::<Ident>(&text).is_ok() {
                format!("`rename = {text}`")
            } else {
                EXAMPLE.to_owned()
            };
            errors.error_at(
                lit,
                format!("`rename` takes an identifier, not a string: write {suggestion}"),
            );
            return None;
        }
        _ => {}
    }
    errors.error_at(
        &pair.value,
        format!(
            "`rename` takes a plain identifier, the name of the generated struct in this module: {EXAMPLE}"
        ),
    );
    None
}

/// The argument's key as written, for messages.
fn path_text(meta: &Meta) -> String {
    let path = meta.path();
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let lead = if path.leading_colon.is_some() {
        "::"
    } else {
        ""
    };
    format!("{lead}{}", segments.join("::"))
}
