use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, ValueEnum};
use serde::Serialize;

use super::keys::KEYS;
use super::macros::plain;
use super::reference;
use super::*;

/// Rewrites the book's generated text from the code.
const BLESS: &str =
    "DARKSTAR_BLESS=1 cargo test -p darkstar-runtime --lib config::tests::book_chapter_matches_the_code";

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn chapter_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/configuration.md")
}

fn chapter() -> String {
    let path = chapter_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn flag(key: &reference::Key) -> String {
    format!("--{}", key.name.replace('_', "-"))
}

#[test]
fn file_values_and_flags_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(
        &path,
        "cores = 3\nmax_batch = 8\ndurability = \"relaxed\"\n",
    )
    .unwrap();
    let cli = Cli::parse_from([
        "game",
        "--config",
        path.to_str().unwrap(),
        "--max-batch",
        "16",
        "--tcp-addr",
        "127.0.0.1:7400",
    ]);
    let c = cli.server.load().unwrap();
    assert_eq!(c.cores, 3, "from the file");
    assert_eq!(c.max_batch, 16, "the flag wins over the file");
    assert_eq!(c.durability, DurabilityMode::Relaxed);
    assert_eq!(c.task_time_limit_ms, 100, "default");
    assert_eq!(c.tcp_addr, Some("127.0.0.1:7400".parse().unwrap()));
}

#[test]
fn bad_files_say_what_and_where() {
    let p = Path::new("server.toml");
    let e = Config::from_toml("cores = 2\ncorez = 3\n", p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("server.toml") && e.contains("corez") && e.contains("line 2"),
        "{e}"
    );
    let e = Config::from_toml("cores = \"two\"\n", p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cores") && e.contains("line 1"), "{e}");
    let e = Config::from_toml("max_batch = 0\n", p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_batch"), "{e}");
    let e = Config::from_toml("data_dir = \"\"\n", p)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("data_dir") && e.contains("must not be empty"),
        "{e}"
    );
}

#[test]
fn help_shows_every_flag_with_its_default() {
    let long = Cli::command().render_long_help().to_string();
    let short = Cli::command().render_help().to_string();
    for help in [&long, &short] {
        for key in KEYS {
            let flag = flag(key);
            let text = reference::arg_help(help, &flag)
                .unwrap_or_else(|| panic!("no `{flag}` in\n{help}"))
                .join(" ");
            // Whatever the terminal width made of the lines, the words are these.
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            let default = reference::help_default(key);
            let env = format!("[env: DARKSTAR_{}=", key.name.to_uppercase());
            assert!(
                text.contains(&default),
                "`{flag}` without `{default}`: {text}"
            );
            assert!(text.contains(&env), "`{flag}` without `{env}`: {text}");
        }
    }
}

#[test]
fn keys_follow_the_naming_rules() {
    let command = ServerArgs::augment_args(clap::Command::new("server"));
    for key in KEYS {
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == key.name)
            .unwrap_or_else(|| panic!("`{}` has no flag", key.name));
        assert_eq!(arg.get_long(), Some(&flag(key)[2..]));
        let env = format!("DARKSTAR_{}", key.name.to_uppercase());
        assert_eq!(arg.get_env(), Some(OsStr::new(&env)), "{}", key.name);
        // One paragraph: clap would show a second one alone, without the default, in
        // `--help`; and a table cell holds one line.
        assert!(
            !key.doc.lines().any(|l| l.trim().is_empty()) && !key.doc.contains('|'),
            "the doc comment of `{}` must be one paragraph without `|`",
            key.name
        );
    }
    assert_eq!(
        command.get_arguments().count(),
        KEYS.len() + 1,
        "a flag for every key, and `--config`"
    );
}

#[test]
fn enum_words_are_the_same_in_files_and_flags() {
    fn same<E: ValueEnum + Serialize>() {
        for v in E::value_variants() {
            let flag = v.to_possible_value().expect("not skipped");
            let file = toml::Value::try_from(v).expect("a word");
            assert_eq!(file.as_str(), Some(flag.get_name()));
        }
    }
    same::<DurabilityMode>();
    same::<LoginMode>();
    same::<DuplicateLogin>();
}

#[test]
fn the_defaults_help_shows_are_the_defaults() {
    let defaults = Config::default();
    defaults.validate().expect("the defaults are valid");
    let mut argv = vec!["game".to_owned()];
    for key in KEYS {
        if let Some(v) = (key.default)(&defaults) {
            argv.push(flag(key));
            argv.push(plain(Some(v)));
        }
    }
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert_eq!(cli.server.load().unwrap(), defaults);
}

#[test]
fn book_chapter_matches_the_code() {
    let path = chapter_path();
    let chapter = chapter();
    let expected =
        reference::regenerate(&chapter).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected == chapter {
        return;
    }
    if std::env::var_os("DARKSTAR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let (line, (was, should)) = chapter
        .lines()
        .zip(expected.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(n, pair)| (n + 1, pair))
        .unwrap_or((
            chapter.lines().count().min(expected.lines().count()),
            ("", ""),
        ));
    let regions: Vec<String> = reference::regions()
        .into_iter()
        .map(|r| {
            format!(
                "<!-- generated: {} -->\n{}<!-- end generated -->",
                r.name, r.text
            )
        })
        .collect();
    panic!(
        "{} differs from the code from line {line}:\n  is:        {was}\n  should be: {should}\n\n\
         Run\n\n    {BLESS}\n\nto rewrite its generated text, which should read:\n\n{}",
        path.display(),
        regions.join("\n\n"),
    );
}

/// The text of every ```toml block in `markdown`.
fn toml_blocks(markdown: &str) -> Vec<&str> {
    markdown
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect()
}

#[test]
fn book_sample_files_are_valid_and_one_has_every_key() {
    let chapter = chapter();
    let blocks = toml_blocks(&chapter);
    let mut fewest_missing: Option<Vec<&str>> = None;
    for block in &blocks {
        Config::from_toml(block, Path::new("a TOML example in configuration.md"))
            .unwrap_or_else(|e| panic!("{e}"));
        let table: toml::Table = toml::from_str(block).expect("valid TOML");
        let missing: Vec<&str> = KEYS
            .iter()
            .map(|k| k.name)
            .filter(|name| !table.contains_key(*name))
            .collect();
        if fewest_missing
            .as_ref()
            .is_none_or(|f| missing.len() < f.len())
        {
            fewest_missing = Some(missing);
        }
    }
    let missing = fewest_missing.expect("a TOML example in the chapter");
    assert!(
        missing.is_empty(),
        "the chapter's complete file lacks {missing:?}"
    );
    // The complete file says it sets every key to its default where it has one: all but
    // the places (directory, addresses, the cluster's services and the node's name), which
    // have none worth copying.
    let complete = blocks
        .iter()
        .find(|b| {
            let table: toml::Table = toml::from_str(b).expect("valid TOML");
            KEYS.iter().all(|k| table.contains_key(k.name))
        })
        .expect("the complete file");
    let sample = Config::from_toml(complete, Path::new("configuration.md")).unwrap();
    let as_table = |c: &Config| toml::Table::try_from(c).expect("a configuration as TOML");
    let (sample, defaults) = (as_table(&sample), as_table(&Config::default()));
    let places = [
        "data_dir",
        "metrics_addr",
        "admin_addr",
        "admin_token",
        "tcp_addr",
        "ws_addr",
        "cluster_etcd",
        "cluster_postgres",
        "node_name",
        "advertise_addr",
        "advertise_ws_addr",
    ];
    let off: Vec<String> = KEYS
        .iter()
        .filter(|k| !places.contains(&k.name) && sample.get(k.name) != defaults.get(k.name))
        .map(|k| {
            format!(
                "{} = {:?} (default {:?})",
                k.name,
                sample.get(k.name),
                defaults.get(k.name)
            )
        })
        .collect();
    assert!(
        off.is_empty(),
        "the chapter's complete file strays from the defaults: {off:?}"
    );
}

#[test]
fn a_chapter_out_of_step_is_rewritten() {
    let chapter = chapter();
    let current = reference::regenerate(&chapter).unwrap();
    let row = "| `max_batch` |";
    let start = current.find(row).expect("a row for max_batch");
    let end = start + current[start..].find('\n').unwrap() + 1;
    let mut stale = current.clone();
    stale.replace_range(start..end, "| `max_batch` | integer | `32` | | |\n");
    assert_eq!(
        reference::regenerate(&stale).unwrap(),
        current,
        "a changed row"
    );
    let mut stale = current.clone();
    stale.replace_range(start..end, "");
    assert_eq!(
        reference::regenerate(&stale).unwrap(),
        current,
        "a missing row"
    );
    let unmarked = current.replace("<!-- generated: keys -->", "");
    assert!(
        reference::regenerate(&unmarked).is_err(),
        "a missing marker"
    );
}
