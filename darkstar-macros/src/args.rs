//! The arguments inside `#[managed(...)]` and `#[task(...)]`.
//!
//! Both macros take `name = "..."`, `version = N`, `from = OlderVersion` and
//! `aliases = ["..."]`; `#[task]` also takes `rename = Ident`. Every argument is checked, and
//! every problem recorded, before either macro generates anything.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr, Meta, Path, Token};

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
                "its arguments are `name = {}` (the stored type name), `version = 2` (the layout's version), `from = AccountV1` (the previous version, migrated from) and `aliases = [\"...\"]` (earlier stored names)",
                self.example_name()
            ),
            Macro::Task => format!(
                "its arguments are `name = {}` (the stored type name), `rename = TransferTask` (the name of the generated struct), `version = 2` (the arguments' version), `from = TransferV1` (the previous version, migrated from) and `aliases = [\"...\"]` (earlier stored names)",
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
    /// The layout's version, `version = N` (1 if absent).
    pub version: Option<(u32, LitInt)>,
    /// The previous version, migrated from: `from = Path`.
    pub from: Option<Path>,
    /// Earlier stored names: `aliases = ["...", ...]`.
    pub aliases: Vec<LitStr>,
}

impl Args {
    /// The version, 1 unless given.
    pub fn version(&self) -> u32 {
        self.version.as_ref().map_or(1, |(v, _)| *v)
    }
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
            (Some("version"), _) => {
                if let Some(version) = version_value(&meta, errors) {
                    set_once(&mut args.version, version, &meta, "version", errors);
                }
            }
            (Some("from"), _) => {
                if let Some(from) = from_value(&meta, errors) {
                    if args.from.is_some() {
                        errors.error_at(
                            &meta,
                            "`from` is given twice: a version migrates from exactly one version, the one just before it; chain older versions through it (`from` on that version)",
                        );
                    } else {
                        args.from = Some(from);
                    }
                }
            }
            (Some("aliases"), _) => {
                if let Some(aliases) = aliases_value(&meta, mac, errors) {
                    if !args.aliases.is_empty() {
                        errors.error_at(&meta, "`aliases` is given twice; list every alias once");
                    } else {
                        args.aliases = aliases;
                    }
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
    check_versions(&args, errors);
    args
}

/// A migration needs a version to migrate to: `from` without `version` (version 1, the
/// first) has nothing to come from.
fn check_versions(args: &Args, errors: &mut Errors) {
    if let (Some(from), None) = (&args.from, &args.version) {
        errors.error_at(
            from,
            "`from` names the previous version of this type, so this one needs a version above 1: add `version = 2` (or the next version)",
        );
    }
    if let (Some((1, lit)), Some(_)) = (&args.version, &args.from) {
        errors.error_at(
            lit,
            "version 1 is the first version: nothing comes before it to migrate from; remove `from`, or raise the version",
        );
    }
}

/// The value of `version = N`: an integer from 1.
fn version_value(meta: &Meta, errors: &mut Errors) -> Option<(u32, LitInt)> {
    const EXAMPLE: &str = "`version = 2`";
    let value = match meta {
        Meta::NameValue(pair) => &pair.value,
        _ => {
            errors.error_at(meta, format!("`version` needs a number: {EXAMPLE}"));
            return None;
        }
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        errors.error_at(
            value,
            format!("`version` takes an integer literal: {EXAMPLE}"),
        );
        return None;
    };
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            errors.error_at(
                lit,
                "versions start at 1: the first version of a type is 1 (the default), each change adds one",
            );
            None
        }
        Ok(version) if lit.suffix().is_empty() => Some((version, lit.clone())),
        Ok(version) => {
            errors.error_at(
                lit,
                format!("write the version without a suffix: `version = {version}`"),
            );
            None
        }
        Err(_) => {
            errors.error_at(lit, format!("a version is a number from 1 to {}", u32::MAX));
            None
        }
    }
}

/// The value of `from = Path`: the type of the previous version.
fn from_value(meta: &Meta, errors: &mut Errors) -> Option<Path> {
    const EXAMPLE: &str = "`from = PlayerV1`";
    let Meta::NameValue(pair) = meta else {
        errors.error_at(
            meta,
            format!("`from` needs the type of the previous version: {EXAMPLE}"),
        );
        return None;
    };
    match &pair.value {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
            Some(path.path.clone())
        }
        other => {
            errors.error_at(
                other,
                format!("`from` takes the path of the previous version's type: {EXAMPLE}"),
            );
            None
        }
    }
}

/// The value of `aliases = ["...", ...]`: stored names checked like `name`.
fn aliases_value(meta: &Meta, mac: Macro, errors: &mut Errors) -> Option<Vec<LitStr>> {
    let example = format!("`aliases = [{}]`", mac.example_name());
    let Meta::NameValue(pair) = meta else {
        errors.error_at(meta, format!("`aliases` needs a list of names: {example}"));
        return None;
    };
    let Expr::Array(array) = &pair.value else {
        errors.error_at(
            &pair.value,
            format!("`aliases` takes a list of string literals: {example}"),
        );
        return None;
    };
    let mut aliases = Vec::new();
    for element in &array.elems {
        match element {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => {
                if let Some(lit) = check_stored_name(lit, mac, errors) {
                    aliases.push(lit);
                }
            }
            other => errors.error_at(
                other,
                format!("an alias is a string literal, the earlier stored name: {example}"),
            ),
        }
    }
    Some(aliases)
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
    check_stored_name(lit, mac, errors)
}

/// `lit` if it can be a stored type name: not empty, no surrounding whitespace, no `@`
/// (which separates a name from its version in the store's tags).
fn check_stored_name(lit: &LitStr, mac: Macro, errors: &mut Errors) -> Option<LitStr> {
    let example = mac.example_name();
    let text = lit.value();
    if text.contains('@') {
        errors.error_at(
            lit,
            "a stored type name cannot contain `@`, which separates a name from its version in the store (`game.Account@2`)",
        );
        return None;
    }
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
