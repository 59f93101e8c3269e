//! The book's reference tables say what the code has, and cannot drift from it: the
//! metrics chapter's table of metrics lists the metrics the runtime's `metrics` module
//! lists (and that module lists every metric the runtime records), its table of logs holds
//! every line the runtime logs at info level or above, at that level, and the protocol
//! chapter's table of disconnect reasons has every code and name the protocol crate knows.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lines logged at info level or above that the book need not list, each with the reason.
/// Keep it short: an operator reads the book to learn what a line means.
const NOT_IN_THE_BOOK: &[(&str, &str)] = &[];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {relative}: {e}"))
}

/// The cells of a Markdown table row (`| a | b |`), trimmed; `None` for other lines and
/// for the row that separates the header (`|---|---|`).
fn cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    let cells: Vec<String> = inner.split('|').map(|c| c.trim().to_owned()).collect();
    if cells
        .iter()
        .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
    {
        return None;
    }
    Some(cells)
}

/// The text of a chapter's section: from its heading (`## Title`) to the next heading of
/// that level or above, outside code blocks.
fn section<'a>(chapter: &'a str, heading: &str, file: &str) -> &'a str {
    let start = chapter
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("{file} has no section `{heading}`"));
    let body = &chapter[start + heading.len() + 2..];
    let level = heading.split(' ').next().unwrap_or("##").len();
    let mut at = 0;
    let mut fenced = false;
    for line in body.split_inclusive('\n') {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        let hashes = line.split(' ').next().unwrap_or("");
        let is_heading =
            !hashes.is_empty() && hashes.len() <= level && hashes.chars().all(|c| c == '#');
        if is_heading && !fenced && line.contains(' ') {
            return &body[..at];
        }
        at += line.len();
    }
    body
}

/// The text between the first pair of backticks in a cell, or the cell itself.
fn code(cell: &str) -> &str {
    let Some(open) = cell.find('`') else {
        return cell;
    };
    let rest = &cell[open + 1..];
    rest.find('`').map_or(rest, |close| &rest[..close])
}

/// The metric names in the first column of the table rows of `text`.
fn metric_names<'a>(rows: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    rows.filter_map(cells)
        .filter_map(|row| {
            let name = code(&row[0]);
            name.starts_with("darkstar_").then(|| name.to_owned())
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every Rust source file of the runtime, with its path relative to the workspace.
fn runtime_sources() -> Vec<(String, String)> {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root.join("darkstar-runtime/src"), &mut files);
    assert!(!files.is_empty(), "no sources under darkstar-runtime/src");
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .display()
                .to_string();
            (name, text)
        })
        .collect()
}

/// The string literal at the start of `s` (which begins with `"`), unescaped, with
/// line continuations (a backslash before a newline) joined as Rust joins them.
fn string_literal(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s[1..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => match chars.next() {
                Some('\n') => {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                }
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    panic!("a string literal does not end: {s:.60}")
}

/// The arguments of the macro call whose opening parenthesis ends `before`, split at
/// its top-level commas.
fn macro_arguments(after_paren: &str) -> Vec<&str> {
    let mut depth = 0usize;
    let mut start = 0;
    let mut args = Vec::new();
    let bytes = after_paren.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth == 0 => {
                args.push(after_paren[start..i].trim());
                return args;
            }
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                args.push(after_paren[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    panic!("a macro call does not end: {after_paren:.60}")
}

/// A line the runtime logs.
#[derive(Debug)]
struct LogCall {
    file: String,
    line: usize,
    level: &'static str,
    /// The message's literal text up to its first `{` (its first interpolation).
    text: String,
}

/// Every `info!`, `warn!` and `error!` call in the runtime's sources.
fn log_calls() -> Vec<LogCall> {
    let mut calls = Vec::new();
    for (file, source) in runtime_sources() {
        for level in ["info", "warn", "error"] {
            let pattern = format!("{level}!(");
            let mut from = 0;
            while let Some(found) = source[from..].find(&pattern) {
                let at = from + found;
                from = at + pattern.len();
                let before = source[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // another macro whose name ends in this one's
                }
                let line = source[..at].lines().count().max(1);
                let args = macro_arguments(&source[from..]);
                let Some(message) = args.iter().find(|a| a.starts_with('"')) else {
                    panic!(
                        "{file}:{line}: `{level}!` without a literal message; give it one, so \
                         the book can list it"
                    );
                };
                let literal = string_literal(message);
                let text = literal
                    .split('{')
                    .next()
                    .unwrap_or("")
                    .trim_end()
                    .to_owned();
                assert!(
                    !text.is_empty(),
                    "{file}:{line}: `{level}!` message {literal:?} begins with an \
                     interpolation; begin it with words the book can list"
                );
                calls.push(LogCall {
                    file: file.clone(),
                    line,
                    level,
                    text,
                });
            }
        }
    }
    calls
}

/// The metric names a runtime source records with `counter!`, `gauge!` or `histogram!`.
fn recorded_metrics() -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (file, source) in runtime_sources() {
        for kind in ["counter!(", "gauge!(", "histogram!("] {
            let mut from = 0;
            while let Some(at) = source[from..].find(kind) {
                from += at + kind.len();
                let rest = source[from..].trim_start();
                if rest.starts_with('"') {
                    found.insert((string_literal(rest), file.clone()));
                }
            }
        }
    }
    found
}

/// The rows of the metrics chapter's table of logs: (level, message), backticks removed.
fn book_log_rows() -> Vec<(String, String)> {
    let chapter = read("book/src/metrics.md");
    let logs = section(&chapter, "## Logs", "book/src/metrics.md");
    let rows: Vec<(String, String)> = logs
        .lines()
        .filter_map(cells)
        .filter(|row| row.len() >= 2 && row[0] != "level")
        .map(|row| (row[0].clone(), code(&row[1]).to_owned()))
        .collect();
    assert!(
        !rows.is_empty(),
        "book/src/metrics.md: the section `## Logs` has no table of log lines"
    );
    rows
}

#[test]
fn the_metrics_chapter_lists_the_metrics_the_runtime_lists() {
    let module = read("darkstar-runtime/src/metrics.rs");
    let in_code = metric_names(
        module
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("//!")),
    );
    assert!(
        in_code.len() >= 10,
        "darkstar-runtime/src/metrics.rs: its module doc's table of metrics is missing or \
         unreadable (found {in_code:?})"
    );
    let chapter = read("book/src/metrics.md");
    let table = section(&chapter, "## The metrics", "book/src/metrics.md");
    let in_book = metric_names(table.lines());
    let not_in_book: Vec<_> = in_code.difference(&in_book).collect();
    let not_in_code: Vec<_> = in_book.difference(&in_code).collect();
    assert!(
        not_in_book.is_empty() && not_in_code.is_empty(),
        "the tables of metrics differ.\n  listed in darkstar-runtime/src/metrics.rs but missing \
         from book/src/metrics.md (## The metrics): {not_in_book:?}\n  listed in the book but \
         missing from darkstar-runtime/src/metrics.rs's module doc: {not_in_code:?}"
    );
}

#[test]
fn the_metrics_module_lists_every_metric_the_runtime_records() {
    let module = read("darkstar-runtime/src/metrics.rs");
    let listed = metric_names(
        module
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("//!")),
    );
    let recorded = recorded_metrics();
    assert!(
        recorded.len() >= 10,
        "found too few metrics recorded in darkstar-runtime/src: {recorded:?}"
    );
    let missing: Vec<String> = recorded
        .iter()
        .filter(|(name, _)| !listed.contains(name))
        .map(|(name, file)| format!("{name} (recorded in {file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics recorded by the runtime but missing from the table in \
         darkstar-runtime/src/metrics.rs's module doc (and so from book/src/metrics.md): \
         {missing:?}"
    );
}

#[test]
fn the_metrics_chapter_lists_every_log_line_at_its_level() {
    let rows = book_log_rows();
    let mut missing = Vec::new();
    for call in log_calls() {
        if NOT_IN_THE_BOOK.iter().any(|(text, _)| *text == call.text) {
            continue;
        }
        let listed: Vec<&(String, String)> = rows
            .iter()
            .filter(|(_, message)| message.starts_with(&call.text))
            .collect();
        if listed.is_empty() {
            missing.push(format!(
                "{}:{}: {} \"{}\" is not in the table",
                call.file, call.line, call.level, call.text
            ));
        } else if !listed.iter().any(|(level, _)| level == call.level) {
            missing.push(format!(
                "{}:{}: \"{}\" is logged at {}, the table says {}",
                call.file, call.line, call.text, call.level, listed[0].0
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "book/src/metrics.md's table of logs (## Logs) is missing lines the runtime logs; add \
         a row (level, message, fields, when) for each:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn every_log_line_in_the_metrics_chapter_is_logged() {
    let calls = log_calls();
    let stale: Vec<String> = book_log_rows()
        .into_iter()
        .filter(|(_, message)| !calls.iter().any(|call| message.starts_with(&call.text)))
        .map(|(level, message)| format!("{level} \"{message}\""))
        .collect();
    assert!(
        stale.is_empty(),
        "book/src/metrics.md's table of logs (## Logs) lists lines no info!, warn! or error! \
         in darkstar-runtime/src logs; remove or correct them: {stale:?}"
    );
}

#[test]
fn the_protocol_chapter_lists_every_disconnect_reason() {
    use darkstar_protocol::DisconnectReason;

    let chapter = read("book/src/protocol.md");
    let table = section(&chapter, "## Disconnect reasons", "book/src/protocol.md");
    let in_book: BTreeSet<(u8, String)> = table
        .lines()
        .filter_map(cells)
        .filter_map(|row| {
            let number = row[0].parse::<u8>().ok()?;
            Some((number, code(&row[1]).to_owned()))
        })
        .collect();
    let in_code: BTreeSet<(u8, String)> = (1..=u8::MAX)
        .map(DisconnectReason::from_code)
        .filter(|r| !matches!(r, DisconnectReason::Other(_)))
        .map(|r| (r.code(), r.name().to_owned()))
        .collect();
    let not_in_book: Vec<_> = in_code.difference(&in_book).collect();
    let not_in_code: Vec<_> = in_book.difference(&in_code).collect();
    assert!(
        not_in_book.is_empty() && not_in_code.is_empty(),
        "book/src/protocol.md's table of disconnect reasons differs from DisconnectReason.\n  \
         missing from the book: {not_in_book:?}\n  in the book but not in the code: \
         {not_in_code:?}"
    );
    // The metric's row names every reason too: its labels are these names.
    let metrics = read("book/src/metrics.md");
    let row = metrics
        .lines()
        .find(|l| l.starts_with("| `darkstar_disconnects_total`"))
        .expect("book/src/metrics.md has a row for darkstar_disconnects_total");
    let unnamed: Vec<_> = in_code
        .iter()
        .filter(|(_, name)| !row.contains(&format!("`{name}`")))
        .collect();
    assert!(
        unnamed.is_empty(),
        "book/src/metrics.md's row for darkstar_disconnects_total does not name {unnamed:?}"
    );
}

#[test]
fn the_parsers_read_what_the_tables_look_like() {
    assert_eq!(
        cells("| `a` | b c |"),
        Some(vec!["`a`".to_owned(), "b c".to_owned()])
    );
    assert_eq!(cells("|---|:--:|"), None);
    assert_eq!(cells("text"), None);
    assert_eq!(code("`x` (y)"), "x");
    assert_eq!(string_literal("\"a \\\n    b {c}\" rest"), "a b {c}");
    assert_eq!(
        macro_arguments("%peer, n = f(1, 2), \"m: {x}\");"),
        ["%peer", "n = f(1, 2)", "\"m: {x}\""]
    );
    let text = "# T\n\n## A\nx\n### A1\ny\n## B\nz\n";
    assert_eq!(section(text, "## A", "t"), "x\n### A1\ny\n");
}
