//! The configuration the client-facing tests start their servers with.

use std::path::Path;

use darkstar_runtime::{Config, LoginMode};

/// A server on two cores with its store in `dir`, listening for TCP on a loopback port the
/// system chooses, and accepting any login (development mode). Every test client comes
/// from one address, so the limits per address are lifted; the tests of those limits set
/// them again. Tests change what they need on top.
pub fn dev_server_config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        cores: 2,
        tcp_addr: Some("127.0.0.1:0".parse().expect("a socket address")),
        login_mode: LoginMode::Development,
        max_connections_per_address: 0,
        connections_per_sec_per_address: 0,
        logins_per_sec_per_address: 0,
        ..Config::default()
    }
}
