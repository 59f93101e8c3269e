//! The book's `{{#include FILE:ANCHOR}}` listings name code that exists, so a chapter that
//! shows an example's real code cannot silently show nothing when the code moves. (The
//! doctests cannot check them: `include_str!` does not expand mdBook's includes.)

use std::path::{Path, PathBuf};

/// The lines between `ANCHOR: name` and the first `ANCHOR_END: name`, without other
/// anchor lines: what mdBook includes. `None` if either marker is missing.
fn anchored(text: &str, name: &str) -> Option<String> {
    let marker = |line: &str, kind: &str| {
        line.trim()
            .strip_prefix("// ")
            .and_then(|l| l.strip_prefix(kind))
            .map(str::trim)
            .map(str::to_owned)
    };
    let mut lines = text.lines();
    lines.find(|l| marker(l, "ANCHOR:").as_deref() == Some(name))?;
    let mut kept = Vec::new();
    for line in lines {
        if marker(line, "ANCHOR_END:").as_deref() == Some(name) {
            return Some(kept.join("\n"));
        }
        if marker(line, "ANCHOR:").is_none() && marker(line, "ANCHOR_END:").is_none() {
            kept.push(line);
        }
    }
    None
}

/// Every `{{#include ...}}` in the chapter: the file (relative to the chapter) and the
/// anchor, if any.
fn includes(chapter: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = chapter;
    while let Some(start) = rest.find("{{#include ") {
        let after = &rest[start + "{{#include ".len()..];
        let end = after.find("}}").expect("an include ends with }}");
        let target = after[..end].trim();
        found.push(match target.split_once(':') {
            Some((file, anchor)) => (file.to_owned(), Some(anchor.to_owned())),
            None => (target.to_owned(), None),
        });
        rest = &after[end..];
    }
    found
}

#[test]
fn every_include_in_the_book_names_existing_code() {
    let src: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let chapter = std::fs::read_to_string(&path).unwrap();
        for (file, anchor) in includes(&chapter) {
            let target = src.join(&file);
            let text = std::fs::read_to_string(&target)
                .unwrap_or_else(|e| panic!("{}: cannot read {file}: {e}", path.display()));
            if let Some(anchor) = anchor {
                let code = anchored(&text, &anchor).unwrap_or_else(|| {
                    panic!("{}: {file} has no anchor `{anchor}`", path.display())
                });
                assert!(
                    !code.trim().is_empty(),
                    "{}: anchor `{anchor}` in {file} is empty",
                    path.display()
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "the channels chapter includes the chat example's moderator"
    );
}

#[test]
fn anchored_takes_the_first_region_without_nested_markers() {
    let text = "a\n// ANCHOR: x\nb\n    // ANCHOR: y\nc\n// ANCHOR_END: x\nd\n// ANCHOR_END: y\n";
    assert_eq!(anchored(text, "x").as_deref(), Some("b\nc"));
    assert_eq!(anchored(text, "y").as_deref(), Some("c\nd"));
    assert_eq!(anchored(text, "z"), None);
}
