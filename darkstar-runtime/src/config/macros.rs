//! The machinery behind the key table in `keys.rs`: the macro that turns the table into
//! `Config`, its `Default`, `ServerArgs`, the layering and the range checks, and the helpers
//! the generated code calls.

use std::fmt::Display;
use std::ops::{RangeFrom, RangeInclusive, RangeToInclusive};
use std::path::PathBuf;

use serde::Serialize;

use super::ConfigError;

/// Declares the configuration keys. Each entry is the key's doc comment (one paragraph: it
/// is also the `--help` text and the book's "meaning"), then
///
/// ```text
/// name: Type = default, env = "DARKSTAR_NAME" [, value_name = "NAME"] [, valid = range];
/// name: Option<Type> = None, env = ...;   // unset unless configured
/// ```
///
/// where `valid` is a `Valid` range (`1..=64`, `1..`, `..=256`, `NonEmpty`). The flag is
/// `--name` with dashes. Entries are first rewritten one by one into a uniform shape
/// (`@parse`), because only the raw tokens can tell an `Option` key apart, then all emitted
/// at once (`@emit`).
macro_rules! config_keys {
    (#[$($first:tt)*] $($table:tt)*) => {
        $crate::config::macros::config_keys!(@parse [] #[$($first)*] $($table)*);
    };
    (@parse [$($done:tt)*]) => {
        $crate::config::macros::config_keys!(@emit $($done)*);
    };
    (@parse [$($done:tt)*]
        $(#[doc = $doc:literal])+
        $name:ident: Option<$t:ty> = None, env = $env:literal
        $(, value_name = $value_name:literal)? $(, valid = $valid:expr)?;
        $($rest:tt)*
    ) => {
        $crate::config::macros::config_keys!(@parse [$($done)* {
            [$($doc)+] $name [Option<$t>] [$t] [None] $env [$($value_name)?] [$($valid)?]
        }] $($rest)*);
    };
    (@parse [$($done:tt)*]
        $(#[doc = $doc:literal])+
        $name:ident: $t:ty = $default:expr, env = $env:literal
        $(, value_name = $value_name:literal)? $(, valid = $valid:expr)?;
        $($rest:tt)*
    ) => {
        $crate::config::macros::config_keys!(@parse [$($done)* {
            [$($doc)+] $name [$t] [$t] [$default] $env [$($value_name)?] [$($valid)?]
        }] $($rest)*);
    };
    (@emit $({
        [$($doc:literal)+] $name:ident [$ty:ty] [$flag:ty] [$default:expr] $env:literal
        [$($value_name:literal)?] [$($valid:expr)?]
    })*) => {
        /// Everything a server is configured with. In a TOML file every key is optional and
        /// unknown keys are errors; the book's Configuration chapter lists every key with its
        /// type, default, flag and environment variable.
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct Config {
            $(
                $(#[doc = $doc])+
                #[doc = ""]
                #[doc = concat!("Default: `", stringify!($default), "`.")]
                pub $name: $ty,
            )*
        }

        impl Default for Config {
            fn default() -> Config {
                Config {
                    $($name: $default,)*
                }
            }
        }

        impl Config {
            /// Checks each key against its `valid` range, in table order.
            pub(super) fn check_ranges(&self) -> Result<(), $crate::config::ConfigError> {
                $($(
                    $crate::config::macros::check(stringify!($name), &($valid), &self.$name)?;
                )?)*
                Ok(())
            }
        }

        /// The server's command-line flags, each also read from a `DARKSTAR_*` environment
        /// variable, and each overriding the configuration file only when given. Flatten it
        /// into a game's own `clap` parser with `#[command(flatten)]`.
        #[derive(clap::Args, Clone, Debug, Default)]
        pub struct ServerArgs {
            /// TOML configuration file; flags and environment variables override it.
            #[arg(long = "config", env = "DARKSTAR_CONFIG", value_name = "FILE")]
            pub config_file: Option<std::path::PathBuf>,
            $(
                $(#[doc = $doc])+
                // Not `default_value`: that would make every flag look given, and override
                // the file. The default goes into the help text instead.
                #[arg(
                    long,
                    env = $env,
                    help = $crate::config::macros::help(
                        concat!($($doc, "\n"),+),
                        &<Config as Default>::default().$name,
                    )
                    $(, value_name = $value_name)?
                )]
                pub $name: Option<$flag>,
            )*
        }

        impl ServerArgs {
            /// Puts every flag or environment variable that is set over `config`.
            pub(super) fn layer(&self, config: &mut Config) {
                $($crate::config::macros::layer(&mut config.$name, self.$name.as_ref());)*
            }
        }

        /// Every key, in table order, for the tests that hold the book to the code.
        #[cfg(test)]
        pub(super) const KEYS: &[$crate::config::reference::Key] = &[$(
            $crate::config::reference::Key {
                name: stringify!($name),
                doc: concat!($($doc, "\n"),+),
                default: |config: &Config| $crate::config::macros::to_toml(&config.$name),
                kind: || {
                    let kind = <$ty as $crate::config::reference::KeyType>::describe();
                    $(
                        let kind = format!(
                            "{kind}, {}",
                            <_ as $crate::config::macros::Valid<$ty>>::range(&($valid)),
                        );
                    )?
                    kind
                },
            },
        )*];
    };
}

pub(super) use config_keys;

/// The values a key allows, which `Config::validate` checks and the book lists.
pub(super) trait Valid<T> {
    /// Whether `value` is allowed.
    fn allows(&self, value: &T) -> bool;
    /// The allowed values in words: "between 1 and 64".
    fn range(&self) -> String;
    /// What an error says of a value that is not allowed.
    fn reason(&self) -> String {
        format!("must be {}", self.range())
    }
}

impl<T: PartialOrd + Display> Valid<T> for RangeInclusive<T> {
    fn allows(&self, value: &T) -> bool {
        self.contains(value)
    }
    fn range(&self) -> String {
        format!("between {} and {}", self.start(), self.end())
    }
}

impl<T: PartialOrd + Display> Valid<T> for RangeFrom<T> {
    fn allows(&self, value: &T) -> bool {
        self.contains(value)
    }
    fn range(&self) -> String {
        format!("at least {}", self.start)
    }
}

impl<T: PartialOrd + Display> Valid<T> for RangeToInclusive<T> {
    fn allows(&self, value: &T) -> bool {
        self.contains(value)
    }
    fn range(&self) -> String {
        format!("at most {}", self.end)
    }
}

/// Any path but the empty one.
pub(super) struct NonEmpty;

impl Valid<PathBuf> for NonEmpty {
    fn allows(&self, value: &PathBuf) -> bool {
        !value.as_os_str().is_empty()
    }
    fn range(&self) -> String {
        "not empty".to_owned()
    }
    fn reason(&self) -> String {
        "must not be empty".to_owned()
    }
}

/// `Err` naming `field` unless `valid` allows `value`.
pub(super) fn check<T, V: Valid<T>>(
    field: &'static str,
    valid: &V,
    value: &T,
) -> Result<(), ConfigError> {
    if valid.allows(value) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field,
            reason: valid.reason(),
            origin: None,
        })
    }
}

/// Sets `value` to the flag's, if the flag (or its environment variable) was given. `Into`
/// lets the flag of an `Option` key carry the bare value.
pub(super) fn layer<T, F: Clone + Into<T>>(value: &mut T, flag: Option<&F>) {
    if let Some(flag) = flag {
        *value = flag.clone().into();
    }
}

/// A value as TOML writes it; `None` for an unset `Option`, which TOML cannot write.
pub(super) fn to_toml<T: Serialize>(value: &T) -> Option<toml::Value> {
    toml::Value::try_from(value).ok()
}

/// A value as a flag takes it: strings unquoted, "none" for an unset `Option`.
pub(super) fn plain(value: Option<toml::Value>) -> String {
    match value {
        None => "none".to_owned(),
        Some(toml::Value::String(s)) => s,
        Some(v) => v.to_string(),
    }
}

/// A doc comment as one line: the lines trimmed and joined.
pub(super) fn one_line(doc: &str) -> String {
    doc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A key's `--help` text: its doc comment without the closing period, as clap writes help,
/// then its default.
pub(super) fn help<T: Serialize>(doc: &str, default: &T) -> String {
    let doc = one_line(doc);
    let doc = doc.strip_suffix('.').unwrap_or(&doc);
    format!("{doc} [default: {}]", plain(to_toml(default)))
}
