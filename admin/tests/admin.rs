//! The admin API and the admin tool against a real chat server: the token guards every
//! route but the health check and the page, the figures are the server's, sessions are
//! listed and kicked, accounts made, and peers without the token cost a bounded amount.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use darkstar_client::{Client, DisconnectReason, Endpoint, Event};
use darkstar_examples::chat::ChatApp;
use darkstar_runtime::{Config, LoginMode, Server, StartError};
use darkstar_tests::server_config::dev_server_config;
use serde_json::Value;

const TOKEN: &str = "an-admin-token-for-the-tests";

fn admin_config(dir: &std::path::Path) -> Config {
    Config {
        admin_addr: Some("127.0.0.1:0".parse().unwrap()),
        admin_token: Some(TOKEN.to_owned()),
        ..dev_server_config(dir)
    }
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let content = if body.is_empty() {
        String::new()
    } else {
        "Content-Type: application/json\r\n".to_owned()
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{content}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn json(addr: SocketAddr, method: &str, path: &str, body: &str) -> Value {
    let (status, text) = http(addr, method, path, Some(TOKEN), body);
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

/// Runs the admin tool against `addr` with `args`, feeding `stdin`; its exit status and
/// output.
fn tool(addr: SocketAddr, token: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_darkstar-admin"))
        .arg("--url")
        .arg(format!("http://{addr}"))
        .args(args)
        .env("DARKSTAR_ADMIN_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every field path in `v` (`totals.committed`, `cores[].core`): arrays by their
/// elements' fields.
fn shape(v: &Value) -> std::collections::BTreeSet<String> {
    fn walk(v: &Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    out.insert(path.clone());
                    walk(v, &path, out);
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{at}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(v, "", &mut out);
    out
}

/// The first JSON example after `heading` in the admin API chapter.
fn chapter_example(heading: &str) -> Value {
    let chapter = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../book/src/admin-api.md"
    ))
    .unwrap();
    let after = chapter
        .split_once(heading)
        .unwrap_or_else(|| panic!("no {heading} in the chapter"))
        .1;
    let block = after
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a JSON example")
        .0;
    serde_json::from_str(block).unwrap_or_else(|e| panic!("{heading}'s example: {e}"))
}

async fn next(client: &mut Client) -> Event {
    tokio::time::timeout(Duration::from_secs(60), client.next_event())
        .await
        .expect("an event within a minute")
        .expect("the client is live")
}

#[test]
fn the_listener_refuses_to_start_without_a_fit_token() {
    let dir = tempfile::tempdir().unwrap();
    let no_token = Config {
        admin_token: None,
        ..admin_config(dir.path())
    };
    let e = Server::builder(ChatApp)
        .config(no_token)
        .start()
        .unwrap_err();
    assert!(matches!(e, StartError::Admin(_)), "{e:?}");
    assert!(e.to_string().contains("admin_token is not"), "{e}");
    let short = Config {
        admin_token: Some("short".to_owned()),
        ..admin_config(dir.path())
    };
    let e = Server::builder(ChatApp).config(short).start().unwrap_err();
    assert!(e.to_string().contains("at least 16"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_guards_the_api_and_the_figures_are_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(ChatApp)
        .config(admin_config(dir.path()))
        .start()
        .unwrap();
    let admin = server.admin_addr().expect("the admin listener is on");
    assert!(admin.ip().is_loopback());

    // Without the token: the health check and the page, nothing else.
    let (status, body) =
        tokio::task::spawn_blocking(move || http(admin, "GET", "/health", None, ""))
            .await
            .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let page = tokio::task::spawn_blocking(move || http(admin, "GET", "/", None, ""))
        .await
        .unwrap();
    assert_eq!(page.0, 200);
    for token in [None, Some("an-admin-token-for-the-testz"), Some("")] {
        for (method, path) in [
            ("GET", "/api/v1/status"),
            ("GET", "/api/v1/sessions"),
            ("POST", "/api/v1/sessions/1/kick"),
            ("GET", "/api/v1/nothing-here"),
        ] {
            let (status, body) =
                tokio::task::spawn_blocking(move || http(admin, method, path, token, ""))
                    .await
                    .unwrap();
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
            assert!(body.contains("admin token"), "{body}");
        }
    }

    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut ann = Client::connect(endpoint.clone(), "ann", "").await.unwrap();
    let mut ben = Client::connect(endpoint.clone(), "ben", "").await.unwrap();
    for c in [&mut ann, &mut ben] {
        assert!(matches!(next(c).await, Event::JoinedChannel { .. }));
        assert!(matches!(next(c).await, Event::Message(_)));
    }
    let ann_id = ann.session_id();

    let status = tokio::task::spawn_blocking(move || json(admin, "GET", "/api/v1/status", ""))
        .await
        .unwrap();
    let stats = server.stats();
    assert!(
        status["totals"]["committed"].as_u64().unwrap() >= 2,
        "{status}"
    );
    assert!(status["totals"]["committed"].as_u64().unwrap() <= stats.committed);
    assert_eq!(status["sessions"]["live"], 2);
    assert!(
        status["sessions"]["channels"].as_u64().unwrap() >= 1,
        "the lobby"
    );
    assert_eq!(status["cores"].as_array().unwrap().len(), 2);
    assert!(status["cluster"].is_null());
    let tasks = status["tasks"].as_array().unwrap();
    let logins: u64 = tasks
        .iter()
        .filter(|t| t["task"] == "darkstar.login")
        .map(|t| t["commits"].as_u64().unwrap())
        .sum();
    assert_eq!(logins, 2, "two login tasks committed: {tasks:?}");
    let commit = &status["latency"]["commit"];
    let counts = commit["counts"].as_array().unwrap();
    assert_eq!(
        counts.len(),
        commit["bounds_us"].as_array().unwrap().len() + 1
    );
    assert!(commit["count"].as_u64().unwrap() > 0);
    assert_eq!(
        counts.iter().map(|c| c.as_u64().unwrap()).sum::<u64>(),
        commit["count"].as_u64().unwrap()
    );

    assert_eq!(
        shape(&status),
        shape(&chapter_example("### `GET /api/v1/status`")),
        "the admin API chapter's status example has the fields the server sends"
    );

    let listed = tokio::task::spawn_blocking(move || json(admin, "GET", "/api/v1/sessions", ""))
        .await
        .unwrap();
    assert_eq!(listed["total"], 2);
    let names: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["identity"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"ann") && names.contains(&"ben"),
        "{names:?}"
    );
    let placement =
        tokio::task::spawn_blocking(move || json(admin, "GET", "/api/v1/placement", ""))
            .await
            .unwrap();
    let slots: u64 = placement["slots_per_core"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .sum();
    assert_eq!(slots, darkstar_runtime::placement::SLOTS as u64);
    for (answer, heading) in [
        (&placement, "### `GET /api/v1/placement`"),
        (&listed, "### `GET /api/v1/sessions`"),
    ] {
        let example = chapter_example(heading);
        // The example's arrays show one element; an answer's may be empty.
        let seen = shape(answer);
        let documented = shape(&example);
        assert!(
            seen.is_subset(&documented),
            "{heading}: the server sends fields the chapter does not show: {:?}",
            seen.difference(&documented).collect::<Vec<_>>()
        );
    }

    // Kicked by an operator: the client hears why.
    let path = format!("/api/v1/sessions/{ann_id}/kick");
    let kicked = tokio::task::spawn_blocking(move || json(admin, "POST", &path, ""))
        .await
        .unwrap();
    assert_eq!(kicked["identity"], "ann");
    loop {
        match next(&mut ann).await {
            Event::Disconnected { reason, text } => {
                assert_eq!(reason, DisconnectReason::Kicked, "{text}");
                break;
            }
            _ => continue,
        }
    }
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(
            admin,
            "POST",
            "/api/v1/sessions/999999/kick",
            Some(TOKEN),
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 404, "{body}");
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(admin, "POST", "/api/v1/sessions/ann/kick", Some(TOKEN), "")
    })
    .await
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not a session id"), "{body}");
    // Not a cluster node.
    let (status, body) = tokio::task::spawn_blocking(move || {
        http(admin, "GET", "/api/v1/cluster/nodes", Some(TOKEN), "")
    })
    .await
    .unwrap();
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("not a cluster node"), "{body}");
    // Bodies past the limit are refused before they are read.
    let big = format!(r#"{{"name":"x","password":"{}"}}"#, "p".repeat(64 * 1024));
    let (status, _) = tokio::task::spawn_blocking(move || {
        http(admin, "POST", "/api/v1/accounts", Some(TOKEN), &big)
    })
    .await
    .unwrap();
    assert_eq!(status, 413);
    drop(ben);
    server.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_tool_reads_the_server_and_manages_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        login_mode: LoginMode::Password,
        ..admin_config(dir.path())
    };
    let server = Server::builder(ChatApp).config(config).start().unwrap();
    let admin = server.admin_addr().unwrap();
    let run = move |args: &'static [&'static str], stdin: &'static str| {
        tokio::task::spawn_blocking(move || tool(admin, TOKEN, args, stdin))
    };

    let (ok, out, err) = run(&["accounts", "create", "ada"], "a-good-password\n")
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert_eq!(out.trim(), r#"account "ada" created"#);
    let (ok, out, _) = run(&["accounts", "exists", "ada"], "").await.unwrap();
    assert!(ok && out.contains("exists"), "{out}");
    let (ok, _, err) = run(&["accounts", "create", "ada"], "again\n")
        .await
        .unwrap();
    assert!(
        !ok && err.contains("HTTP 409"),
        "a second create is refused: {err}"
    );
    let (ok, _, err) = run(&["accounts", "create", "eve"], "\n").await.unwrap();
    assert!(!ok && err.contains("empty"), "{err}");

    // The account the tool made logs in.
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut ada = Client::connect(endpoint.clone(), "ada", "a-good-password")
        .await
        .expect("the account the tool created logs in");
    assert!(matches!(next(&mut ada).await, Event::JoinedChannel { .. }));

    let (ok, out, err) = run(&["status"], "").await.unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("sessions: 1 live"), "{out}");
    assert!(out.contains("core 1:"), "{out}");
    let (ok, out, _) = run(&["--json", "sessions", "list"], "").await.unwrap();
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["sessions"][0]["identity"], "ada");
    let (ok, out, _) = run(&["sessions", "list"], "").await.unwrap();
    assert!(
        ok && out.contains("ada") && out.contains("connected"),
        "{out}"
    );
    let (ok, out, _) = run(&["placement"], "").await.unwrap();
    assert!(ok && out.contains("core 0:"), "{out}");
    let (ok, out, _) = run(&["health"], "").await.unwrap();
    assert!(ok && out.contains("ok"), "{out}");
    let (ok, _, err) = run(&["nodes"], "").await.unwrap();
    assert!(!ok && err.contains("not a cluster node"), "{err}");

    let id = ada.session_id().to_string();
    let id: &'static str = Box::leak(id.into_boxed_str());
    let args: &'static [&'static str] = Box::leak(Box::new(["sessions", "kick", id]));
    let (ok, out, err) = run(args, "").await.unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("ada"), "{out}");
    loop {
        if let Event::Disconnected { reason, .. } = next(&mut ada).await {
            assert_eq!(reason, DisconnectReason::Kicked);
            break;
        }
    }

    // A wrong token says so.
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        tool(admin, "not-the-admin-token-at-all", &["status"], "")
    })
    .await
    .unwrap();
    assert!(!ok && err.contains("refused the admin token"), "{err}");
    server.shutdown().unwrap();
}

#[test]
fn peers_without_the_token_cost_a_bounded_amount() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(ChatApp)
        .config(admin_config(dir.path()))
        .start()
        .unwrap();
    let admin = server.admin_addr().unwrap();
    // Many more silent connections than the listener takes: those over its limit are
    // closed at once, the rest once their request head is overdue.
    let silent: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(admin).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    for mut s in silent {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 64];
        // EOF (0 bytes), an answer (a timeout's 408), or a reset: the server let go.
        let _ = s.read(&mut buf);
        assert!(
            Instant::now() < deadline,
            "the server held a silent connection"
        );
    }
    // A huge request head is refused rather than buffered.
    let mut big = TcpStream::connect(admin).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "GET /health HTTP/1.1\r\nX-Junk: {}\r\n\r\n",
        "j".repeat(200 * 1024)
    );
    let _ = big.write_all(head.as_bytes());
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "an oversized head is not served: {answer}"
    );
    // And the listener still answers.
    let (status, _) = http(admin, "GET", "/api/v1/status", Some(TOKEN), "");
    assert_eq!(status, 200);
    server.shutdown().unwrap();
}
