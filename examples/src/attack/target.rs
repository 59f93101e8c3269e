//! The game under attack, and starting it in a child process.

use std::net::SocketAddr;

use darkstar_runtime::{init_logging, Config, LoginMode, Server};
use darkstar_sdk::prelude::*;

use crate::attack::child::{announce, wait_for_parent, ChildServer};

/// The password of every account.
pub const PASSWORD: &str = "a good password";

/// Accounts `good0`, `good1`, ... for well-behaved players.
pub const PLAYERS: usize = 20;

/// The channel every player joins.
pub const LOBBY: &str = "lobby";

/// The name of well-behaved player `i`.
pub fn account(i: usize) -> String {
    format!("good{i}")
}

/// A player: echoes what it is sent.
#[managed(name = "attack.Player")]
pub struct Player {}

impl SessionListener for Player {
    fn received_message(
        ctx: &mut Context<'_>,
        _this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        ctx.send(session, message)
    }

    fn disconnected(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        _session: Ref<Session>,
        _graceful: bool,
    ) -> TaskResult {
        ctx.remove(this)
    }
}

/// The game: every session joins the lobby, whose messages go to every member.
pub struct AttackApp;

impl App for AttackApp {
    fn register(&self, types: &mut Types) {
        types.session_listener::<Player>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        ctx.channel(LOBBY).map(drop)
    }

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        let lobby = ctx.channel(LOBBY)?;
        ctx.join(lobby, session)?;
        Ok(Login::accept(ctx.create(Player {})?))
    }
}

/// In the child (when `var` is set, to the metrics address): serves the game with password
/// accounts `good0` to `good19` and `flood`, and the default limits, until the parent
/// closes standard input; then returns `true`. Returns `false` at once in the parent.
pub fn serve_if_child(var: &str) -> bool {
    let Ok(metrics) = std::env::var(var) else {
        return false;
    };
    init_logging("info");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = Config {
        data_dir: dir.path().to_owned(),
        cores: 2,
        tcp_addr: Some("127.0.0.1:0".parse().expect("an address")),
        metrics_addr: Some(metrics.parse().expect("the metrics address")),
        login_mode: LoginMode::Password,
        login_timeout_ms: 5000,
        ..Config::default()
    };
    let server = Server::builder(AttackApp)
        .config(config)
        .start()
        .expect("the server starts");
    for i in 0..PLAYERS {
        server
            .accounts()
            .create(&account(i), PASSWORD)
            .expect("an account");
    }
    server
        .accounts()
        .create("flood", PASSWORD)
        .expect("an account");
    announce("ADDR", server.tcp_addr().expect("a TCP listener"));
    wait_for_parent();
    server.shutdown().expect("a clean shutdown");
    true
}

/// The server under attack, in its child process.
pub struct Target {
    /// The child.
    pub child: ChildServer,
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Its metrics endpoint.
    pub metrics: SocketAddr,
}

impl Target {
    /// Starts the child with `start` (given the metrics address to pass on) and waits until
    /// it listens.
    pub fn start(start: impl FnOnce(&str) -> ChildServer) -> Target {
        let metrics = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let mut child = start(&metrics.to_string());
        let addr = child.value("ADDR").parse().expect("the server's address");
        Target {
            child,
            addr,
            metrics,
        }
    }
}
