//! The bank on Darkstar: a fresh embedded store per run, clients over TCP sessions.

use darkstar_client::{Client, Endpoint};
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::load::SessionLane;
use darkstar_runtime::{Config, LoginMode, Server};
use tempfile::TempDir;

use crate::{Args, System, INITIAL_BALANCE};

pub struct Darkstar {
    cores: usize,
    running: Option<(Server, TempDir)>,
}

impl Darkstar {
    pub fn new(cores: usize) -> Darkstar {
        Darkstar {
            cores,
            running: None,
        }
    }
}

impl System for Darkstar {
    type Lane = SessionLane;

    fn name(&self) -> &'static str {
        "darkstar"
    }

    async fn prepare(&mut self, args: &Args, n: usize) -> Vec<SessionLane> {
        if let Some((server, _)) = self.running.take() {
            server.shutdown().expect("clean shutdown");
        }
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = Config {
            data_dir: dir.path().to_owned(),
            cores: self.cores,
            tcp_addr: Some("127.0.0.1:0".parse().expect("an address")),
            // The benchmark measures transfers, not password checks.
            login_mode: LoginMode::Development,
            session_window: args.depth.max(256),
            // Load generators from one address, far above a player's rates.
            connections_per_sec_per_address: 0,
            logins_per_sec_per_address: 0,
            login_queue_per_address: 0,
            session_messages_per_sec: 0,
            session_kib_per_sec: 0,
            channel_messages_per_sec: 0,
            ..Config::default()
        };
        let app = BankApp {
            accounts: args.accounts,
            initial_balance: INITIAL_BALANCE,
        };
        let server = Server::builder(app)
            .config(config)
            .start()
            .expect("server starts");
        let addr = server.tcp_addr().expect("a TCP listener").to_string();
        let mut lanes = Vec::with_capacity(n);
        for i in 0..n {
            let client = Client::connect(Endpoint::tcp(addr.clone()), &format!("lane-{i}"), "")
                .await
                .expect("login");
            lanes.push(SessionLane(client));
        }
        self.running = Some((server, dir));
        lanes
    }

    async fn audit(&mut self) -> (i128, u64) {
        let (server, _) = self.running.as_ref().expect("prepared");
        let a = server.query(bank::audit).expect("audit");
        (a.total, a.negative)
    }
}
