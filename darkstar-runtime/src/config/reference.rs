//! The book's reference of the keys, written from the key table, and the text of the
//! errors the book quotes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::macros::{one_line, plain};
use super::{Config, DuplicateLogin, DurabilityMode, LoginMode};

/// One key of the table.
pub(super) struct Key {
    /// The key, in TOML and as a `Config` field.
    pub(super) name: &'static str,
    /// Its doc comment, a line per doc comment line.
    pub(super) doc: &'static str,
    /// Its value in `config`, as TOML; `None` for an unset `Option`.
    pub(super) default: fn(&Config) -> Option<toml::Value>,
    /// How its values are written, and the range `Config::validate` allows.
    pub(super) kind: fn() -> String,
}

/// How values of a key's type are written in TOML.
pub(super) trait KeyType {
    /// "integer", "path", or the words an enum takes.
    fn describe() -> String;
}

macro_rules! key_type {
    ($($t:ty => $words:literal),* $(,)?) => {
        $(impl KeyType for $t {
            fn describe() -> String {
                $words.to_owned()
            }
        })*
    };
}

key_type! {
    PathBuf => "path",
    String => "string",
    bool => "boolean",
    u32 => "integer",
    u64 => "integer",
    usize => "integer",
    SocketAddr => "socket address",
}

impl<T: KeyType> KeyType for Option<T> {
    fn describe() -> String {
        T::describe()
    }
}

/// The words of an enum, as TOML strings: `"a"`, `"b"` or `"c"`.
fn one_of<E: ValueEnum>() -> String {
    let words: Vec<String> = E::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|v| format!("`\"{}\"`", v.get_name()))
        .collect();
    match words.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

macro_rules! enum_key_type {
    ($($t:ty),*) => {
        $(impl KeyType for $t {
            fn describe() -> String {
                one_of::<$t>()
            }
        })*
    };
}

enum_key_type!(DurabilityMode, LoginMode, DuplicateLogin);

/// A text the test writes into the book between `<!-- generated: NAME -->` and
/// `<!-- end generated -->`.
pub(super) struct Region {
    /// The `NAME` in its marker.
    pub(super) name: &'static str,
    /// What goes between the markers.
    pub(super) text: String,
}

/// Every generated region of the configuration chapter.
pub(super) fn regions() -> Vec<Region> {
    vec![
        Region {
            name: "keys",
            text: table(),
        },
        Region {
            name: "help",
            text: fenced(&help_example(&["--max-batch", "--tcp-addr"])),
        },
        Region {
            name: "unknown-key",
            text: fenced(&unknown_key_error()),
        },
        Region {
            name: "error-lines",
            text: fenced(&error_last_lines().join("\n")),
        },
    ]
}

fn fenced(text: &str) -> String {
    format!("```text\n{text}\n```\n")
}

/// The reference table: one row per key, in table order.
pub(super) fn table() -> String {
    use clap::Args;

    let command = super::ServerArgs::augment_args(clap::Command::new("server"));
    let defaults = Config::default();
    let mut out = String::from(
        "| key | type | default | flag / environment variable | meaning |\n|---|---|---|---|---|\n",
    );
    for key in super::keys::KEYS {
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == key.name)
            .unwrap_or_else(|| panic!("`{}` has no flag", key.name));
        let flag = arg.get_long().expect("every key has a long flag");
        let env = arg
            .get_env()
            .and_then(|e| e.to_str())
            .expect("every key has an environment variable");
        let default = match (key.default)(&defaults) {
            Some(v) => format!("`{v}`"),
            None => "none".to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {default} | `--{flag}`, `{env}` | {} |\n",
            key.name,
            (key.kind)(),
            one_line(key.doc),
        ));
    }
    out
}

/// The lines of `help` that describe `flag`: from its own line to the next flag's.
pub(super) fn arg_help<'a>(help: &'a str, flag: &str) -> Option<Vec<&'a str>> {
    let mut lines = help.lines().skip_while(|l| {
        let l = l.trim_start();
        !(l.starts_with(&format!("{flag} ")) || l == flag)
    });
    let first = lines.next()?;
    let rest = lines.take_while(|l| {
        let l = l.trim_start();
        !(l.starts_with("--") || l.starts_with("-h"))
    });
    Some(std::iter::once(first).chain(rest).collect())
}

/// What `--help` of a game says of `flags`.
fn help_example(flags: &[&str]) -> String {
    use clap::Args;

    let command = super::ServerArgs::augment_args(clap::Command::new("quest"));
    let help = command.term_width(100).render_long_help().to_string();
    let mut out: Vec<&str> = Vec::new();
    for flag in flags {
        let lines = arg_help(&help, flag).unwrap_or_else(|| panic!("no `{flag}` in --help"));
        out.extend(lines.iter().map(|l| l.trim_end()));
    }
    while out.last() == Some(&"") {
        out.pop();
    }
    out.join("\n")
}

/// A key's default as its `--help` shows it.
pub(super) fn help_default(key: &Key) -> String {
    format!("[default: {}]", plain((key.default)(&Config::default())))
}

/// The whole error for a file with an unknown key, as the book quotes it.
pub(super) fn unknown_key_error() -> String {
    Config::from_toml("cores = 2\ncorez = 3\n", Path::new("quest.toml"))
        .expect_err("an unknown key")
        .to_string()
}

/// The last line of each of the other errors the book quotes.
pub(super) fn error_last_lines() -> Vec<String> {
    let origin = Path::new("quest.toml");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = Config::from_file(&dir.path().join("quest.toml"))
        .expect_err("no such file")
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    [
        Config::from_toml("cores = \"two\"\n", origin),
        Config::from_toml("durability = \"fast\"\n", origin),
        Config::from_toml("max_batch = 0\n", origin),
    ]
    .into_iter()
    .map(|r| r.expect_err("a bad file").to_string())
    .map(|e| e.lines().last().unwrap_or_default().to_owned())
    .chain([missing])
    .collect()
}

/// `chapter` with every generated region rewritten; `Err` names a marker that is missing.
pub(super) fn regenerate(chapter: &str) -> Result<String, String> {
    let mut out = chapter.to_owned();
    for region in regions() {
        let begin = format!("<!-- generated: {} -->\n", region.name);
        let end = "<!-- end generated -->";
        let start = out
            .find(&begin)
            .ok_or_else(|| format!("no `{}` marker", begin.trim_end()))?
            + begin.len();
        let stop = start
            + out[start..]
                .find(end)
                .ok_or_else(|| format!("no `{end}` after `{}`", begin.trim_end()))?;
        out.replace_range(start..stop, &region.text);
    }
    Ok(out)
}
