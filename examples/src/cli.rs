//! What the example binaries share: configuration, start-up and a clean exit.

use std::process::ExitCode;
use std::time::Duration;

use darkstar_runtime::{init_logging, Config, MainError, Server, ServerArgs};
use darkstar_sdk::App;

/// Prints `error` and its causes to stderr, and returns the exit code of a failure.
pub fn report(error: impl Into<MainError>) -> ExitCode {
    eprintln!("error: {:?}", error.into());
    ExitCode::FAILURE
}

/// The configuration from flags, environment and file, with `default_dir` as the data
/// directory unless one was given. Prints the error and returns `None` if it is invalid.
pub fn config(args: &ServerArgs, default_dir: &str) -> Option<Config> {
    let mut args = args.clone();
    args.data_dir.get_or_insert_with(|| default_dir.into());
    match args.load() {
        Ok(c) => {
            init_logging(&c.log);
            Some(c)
        }
        Err(e) => {
            report(e);
            None
        }
    }
}

/// Starts `app`, prints the error and returns `None` if it cannot start.
pub fn start(app: impl App, config: Config) -> Option<Server> {
    match Server::builder(app).config(config).start() {
        Ok(s) => Some(s),
        Err(e) => {
            report(e);
            None
        }
    }
}

/// Runs `server` for `seconds` (0: until Ctrl-C or SIGTERM), then shuts it down.
pub fn serve(server: Server, seconds: u64) -> ExitCode {
    let result = if seconds == 0 {
        server.run_until_signal()
    } else {
        std::thread::sleep(Duration::from_secs(seconds));
        server.shutdown()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

/// A demo whose admin listener is asked for (`--admin-addr`) but given no token gets a
/// fresh random one, returned so that it can be shown; `None` when the listener is off or
/// the token was given.
pub fn admin_token(config: &mut Config) -> Option<String> {
    if config.admin_addr.is_none() || config.admin_token.is_some() {
        return None;
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random numbers");
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    config.admin_token = Some(token.clone());
    Some(token)
}

/// Prints where the dashboard of `server` is, with `token` in the address's fragment (which
/// the browser keeps to itself: the page sends it as a header), and how to use the admin
/// tool. Nothing when the admin listener is off.
pub fn print_admin(server: &Server, token: Option<&str>) {
    let Some(addr) = server.admin_addr() else {
        return;
    };
    match token {
        Some(token) => {
            println!("dashboard: http://{addr}/#token={token}");
            println!(
                "admin tool: DARKSTAR_ADMIN_TOKEN={token} cargo run -p darkstar-admin -- --url http://{addr} status"
            );
        }
        None => println!("dashboard: http://{addr}/ (give it the admin token)"),
    }
}
