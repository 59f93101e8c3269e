//! The configuration the client-facing tests start their servers with.

use std::path::Path;

use darkstar_runtime::{Config, LoginMode};

/// A server on two cores with its store in `dir`, listening for TCP on a loopback port the
/// system chooses, and accepting any login (development mode). Tests change what they
/// need on top.
pub fn dev_server_config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        cores: 2,
        tcp_addr: Some("127.0.0.1:0".parse().expect("a socket address")),
        login_mode: LoginMode::Development,
        ..Config::default()
    }
}
