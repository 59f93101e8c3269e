//! Text for people from the API's JSON answers. Every field read here is documented in
//! the book's admin API chapter; a missing one prints as `-`, so an older or newer server
//! still gives readable output.

use std::fmt::Write;

use serde_json::Value;

/// Which answer is being shown.
#[derive(Clone, Copy, Debug)]
pub enum View {
    Health,
    Status,
    Sessions,
    Kicked,
    Account,
    Placement,
    Hot,
    Nodes,
    Drain,
}

/// The answer `v` to a command of `view`, as lines of text.
pub fn human(view: &View, v: &Value) -> String {
    let mut out = String::new();
    match view {
        View::Health => line(&mut out, format!("server: {}", text(&v["status"]))),
        View::Status => status(&mut out, v),
        View::Sessions => sessions(&mut out, v),
        View::Kicked => line(
            &mut out,
            format!(
                "session {} ({}) ended",
                text(&v["kicked"]),
                text(&v["identity"])
            ),
        ),
        View::Account => account(&mut out, v),
        View::Placement => {
            let slots = v["slots_per_core"].as_array().cloned().unwrap_or_default();
            line(&mut out, format!("{} cores", text(&v["cores"])));
            for (core, n) in slots.iter().enumerate() {
                line(&mut out, format!("  core {core}: {} slots", text(n)));
            }
            hot(&mut out, v);
        }
        View::Hot => hot(&mut out, v),
        View::Nodes => nodes(&mut out, &v["nodes"]),
        View::Drain => line(
            &mut out,
            if v["draining"].as_bool() == Some(true) {
                format!(
                    "{} is draining: the meta-service moves its slots to the other nodes",
                    text(&v["node"])
                )
            } else {
                format!(
                    "{} is no longer draining: it takes its share of slots again",
                    text(&v["node"])
                )
            },
        ),
    }
    out
}

fn line(out: &mut String, text: String) {
    out.push_str(&text);
    out.push('\n');
}

/// A JSON value as plain text (strings without quotes), `-` if absent.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn status(out: &mut String, v: &Value) {
    let t = &v["totals"];
    line(
        out,
        format!(
            "darkstar {}, up {} s{}",
            text(&v["version"]),
            v["uptime_ms"].as_u64().unwrap_or(0) / 1000,
            match v["node"].as_str() {
                Some(node) => format!(", cluster node {node}"),
                None => String::new(),
            }
        ),
    );
    line(
        out,
        format!(
            "tasks: {} committed, {} conflicts, {} retries, {} failed, in {} batches",
            text(&t["committed"]),
            text(&t["conflicts"]),
            text(&t["retries"]),
            text(&t["failed"]),
            text(&t["batches"])
        ),
    );
    let uptime_us = v["uptime_ms"].as_u64().unwrap_or(0).max(1) * 1000;
    for c in v["cores"].as_array().into_iter().flatten() {
        let busy = c["busy_us"].as_u64().unwrap_or(0) as f64 * 100.0 / uptime_us as f64;
        line(
            out,
            format!(
                "  core {}: {} committed, {} conflicts, {busy:.1}% busy since start, {} timers",
                text(&c["core"]),
                text(&c["committed"]),
                text(&c["conflicts"]),
                text(&c["timers"])
            ),
        );
    }
    for task in v["tasks"].as_array().into_iter().flatten() {
        line(
            out,
            format!(
                "  {}: {} commits, {} conflicts, {} retries, {} errors, {} panics",
                text(&task["task"]),
                text(&task["commits"]),
                text(&task["conflicts"]),
                text(&task["retries"]),
                text(&task["errors"]),
                text(&task["panics"])
            ),
        );
    }
    if let Some(commit) = v["latency"]["commit"].as_object() {
        let count = commit["count"].as_u64().unwrap_or(0);
        if let Some(mean) = commit["sum_us"].as_u64().unwrap_or(0).checked_div(count) {
            line(
                out,
                format!("commit latency: mean {mean} µs over {count} batches"),
            );
        }
    }
    let s = &v["sessions"];
    line(
        out,
        format!(
            "sessions: {} live, {} stored; {} channels",
            text(&s["live"]),
            text(&s["stored"]),
            text(&s["channels"])
        ),
    );
    let st = &v["store"];
    line(
        out,
        format!(
            "store: {} segments, {} bytes used, {} live, {} keys, {} syncs, {} segments compacted",
            text(&st["segments"]),
            text(&st["used_bytes"]),
            text(&st["live_bytes"]),
            text(&st["keys"]),
            text(&st["syncs"]),
            text(&st["compacted_segments"])
        ),
    );
    let c = &v["cluster"];
    if c.is_object() {
        line(
            out,
            format!(
                "cluster: node {}, log position {} (head seen {}), apply lag p50 {} µs p99 {} µs",
                text(&c["node"]),
                text(&c["log_position"]),
                text(&c["head_seen"]),
                text(&c["lag_us"]["p50"]),
                text(&c["lag_us"]["p99"])
            ),
        );
        nodes(out, &c["nodes"]);
    }
}

fn sessions(out: &mut String, v: &Value) {
    let list = v["sessions"].as_array().cloned().unwrap_or_default();
    line(
        out,
        format!("{} sessions, {} shown", text(&v["total"]), list.len()),
    );
    for s in list {
        line(
            out,
            format!(
                "  {:>20}  {:<24} {}",
                text(&s["id"]),
                text(&s["identity"]),
                if s["connected"].as_bool() == Some(true) {
                    "connected"
                } else {
                    "waiting for its client"
                }
            ),
        );
    }
}

fn account(out: &mut String, v: &Value) {
    let said = if let Some(name) = v["created"].as_str() {
        format!("account {name:?} created")
    } else if let Some(name) = v["changed"].as_str() {
        format!("password of {name:?} changed")
    } else if v["exists"].as_bool() == Some(true) {
        format!("account {:?} exists", text(&v["name"]))
    } else {
        format!("no account named {:?}", text(&v["name"]))
    };
    line(out, said);
}

fn hot(out: &mut String, v: &Value) {
    let hot = v["hot"].as_array().cloned().unwrap_or_default();
    if hot.is_empty() {
        line(out, "no hot objects".to_owned());
        return;
    }
    line(out, format!("{} hot objects:", hot.len()));
    for h in &hot {
        line(
            out,
            format!(
                "  object {:>12}  {:>3} conflicts  group {:>4}  core {}",
                text(&h["id"]),
                text(&h["conflicts"]),
                text(&h["group"]),
                text(&h["core"])
            ),
        );
    }
    for g in v["groups"].as_array().into_iter().flatten() {
        let objects: Vec<String> = g["objects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        line(
            out,
            format!(
                "  group {} on core {}: {} objects that conflicted together ({})",
                text(&g["group"]),
                text(&g["core"]),
                objects.len(),
                objects.join(", ")
            ),
        );
    }
}

fn nodes(out: &mut String, nodes: &Value) {
    for n in nodes.as_array().into_iter().flatten() {
        let mut flags = String::new();
        if n["this"].as_bool() == Some(true) {
            flags.push_str(" (this node)");
        }
        if n["draining"].as_bool() == Some(true) {
            flags.push_str(" draining");
        }
        let mut row = String::new();
        let _ = write!(
            row,
            "  node {:<16} {:>5} slots  at {}{flags}",
            text(&n["name"]),
            text(&n["slots"]),
            text(&n["address"])
        );
        line(out, row);
    }
}
