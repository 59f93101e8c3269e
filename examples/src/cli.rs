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
