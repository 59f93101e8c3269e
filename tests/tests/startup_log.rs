//! The start-up log says how clients reach the server and how they log in, and says so
//! when they cannot reach it at all.

use std::process::Command;

use darkstar_runtime::{init_logging, Config, LoginMode, Server};
use darkstar_sdk::prelude::*;

struct Empty;

impl App for Empty {
    fn register(&self, _types: &mut Types) {}
}

/// Set in the child process, which starts the servers; its value is the data directory.
const CHILD: &str = "DARKSTAR_TEST_STARTUP_LOG_DIR";

/// Starts a server without listeners, then one with a TCP listener and development
/// logins, with the logs on stderr.
fn child(dir: &str) {
    init_logging("info");
    let base = Config {
        data_dir: dir.into(),
        cores: 1,
        ..Config::default()
    };
    Server::builder(Empty)
        .config(base.clone())
        .start()
        .unwrap()
        .shutdown()
        .unwrap();
    let listening = Config {
        tcp_addr: Some("127.0.0.1:0".parse().unwrap()),
        login_mode: LoginMode::Development,
        ..base
    };
    Server::builder(Empty)
        .config(listening)
        .start()
        .unwrap()
        .shutdown()
        .unwrap();
}

#[test]
fn start_up_logs_the_listeners_and_the_login_mode() {
    if let Ok(dir) = std::env::var(CHILD) {
        return child(&dir);
    }
    // The logs go to the process's stderr once per process, so a child process gets
    // them fresh and the test reads them from its pipe.
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "start_up_logs_the_listeners_and_the_login_mode",
            "--nocapture",
        ])
        .env(CHILD, dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{logs}");
    let started: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("server started"))
        .collect();
    assert_eq!(started.len(), 2, "{logs}");

    let quiet = started[0];
    assert!(quiet.contains("login_mode=password"), "{quiet}");
    assert!(quiet.contains("register_on_login=false"), "{quiet}");
    assert!(
        !quiet.contains("tcp_addr=") && !quiet.contains("ws_addr="),
        "{quiet}"
    );
    let hint: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("no client listener is configured"))
        .collect();
    assert_eq!(
        hint.len(),
        1,
        "only the server without listeners says so:\n{logs}"
    );
    assert!(
        hint[0].contains("INFO") && hint[0].contains("--tcp-addr"),
        "{}",
        hint[0]
    );

    let listening = started[1];
    assert!(listening.contains("login_mode=development"), "{listening}");
    assert!(listening.contains("tcp_addr=127.0.0.1:"), "{listening}");
    assert!(!listening.contains("ws_addr="), "{listening}");
}
