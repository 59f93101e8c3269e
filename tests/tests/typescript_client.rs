//! The TypeScript client (`web/client`), driven from here so that `cargo test` runs it:
//! its codec against the shared frame vectors and against scripted servers, in Node, and
//! end to end against a real chat server started by this test.

use std::path::Path;
use std::process::Command;

use darkstar_examples::chat::ChatApp;
use darkstar_runtime::{Config, LoginMode, Server};
use darkstar_tests::node;
use darkstar_tests::server_config::dev_server_config;

/// Runs Node's test runner on the compiled test files `files` of the package in `dir`,
/// with `env`, and fails with its report unless every test passed.
fn node_tests(dir: &Path, files: &[&str], env: &[(&str, String)]) {
    let mut command = Command::new("node");
    command
        .arg("--test")
        .arg("--test-reporter=spec")
        .args(files.iter().map(|f| format!("dist-test/test/{f}")))
        .current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let report = node::run(&mut command, "the TypeScript client's tests");
    // The runner's summary: a run that found no tests must not pass.
    assert!(report.contains("pass"), "no test ran:\n{report}");
}

#[test]
fn the_codec_matches_the_shared_vectors_and_follows_scripted_servers() {
    let dir = node::prepare("client");
    node_tests(&dir, &["frames.test.js", "scripted.test.js"], &[]);
}

#[test]
fn the_client_plays_against_a_real_chat_server() {
    let dir = node::prepare("client");
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        tcp_addr: None,
        ws_addr: Some("127.0.0.1:0".parse().unwrap()),
        login_mode: LoginMode::Password,
        register_on_login: true,
        // The test's player says 300 lines as fast as it can.
        session_messages_per_sec: 0,
        channel_messages_per_sec: 0,
        ..dev_server_config(data.path())
    };
    let server = Server::builder(ChatApp).config(config).start().unwrap();
    let url = format!("ws://{}/", server.ws_addr().unwrap());
    node_tests(&dir, &["e2e.test.js"], &[("DARKSTAR_WS_URL", url)]);
    server.shutdown().unwrap();
}
