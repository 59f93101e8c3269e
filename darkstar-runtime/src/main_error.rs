//! An error type for `main` that prints readable messages.

use std::error::Error;
use std::fmt;

/// Any error, held for `main` to return: `fn main() -> Result<(), MainError>`.
///
/// Every [`std::error::Error`] converts into it, so `?` works on the server's errors
/// ([`StartError`](crate::StartError), [`ConfigError`](crate::ConfigError),
/// [`ShutdownError`](crate::ShutdownError), a task's `TaskError`, I/O errors) alike. When
/// `main` returns it, Rust prints `Error: ` and its `Debug` form and exits with a non-zero
/// status; that form is the error's message and then one `caused by:` line per error in
/// its [`source`](Error::source) chain, instead of the nested struct syntax a plain
/// error's `Debug` gives:
///
/// ```text
/// Error: cannot read configuration file game.toml: No such file or directory (os error 2)
/// ```
///
/// A cause whose message the lines above already include is left out, since many errors
/// repeat their source's message in their own.
///
/// ```no_run
/// use darkstar_runtime::{MainError, Server};
/// # use darkstar_sdk::prelude::*;
/// # struct Game;
/// # impl App for Game { fn register(&self, _: &mut Types) {} }
///
/// fn main() -> Result<(), MainError> {
///     let server = Server::builder(Game).data_dir("game-data").start()?;
///     server.run_until_signal()?;
///     Ok(())
/// }
/// ```
///
/// `MainError` does not implement [`std::error::Error`] itself: if it did, its blanket
/// `From` would conflict with the standard library's `From<T> for T`.
pub struct MainError(Box<dyn Error + 'static>);

impl MainError {
    /// The error it holds.
    pub fn error(&self) -> &(dyn Error + 'static) {
        &*self.0
    }

    /// The held error and then its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn Error + 'static)> {
        std::iter::successors(Some(self.error()), |&e| e.source())
    }
}

impl<E: Error + 'static> From<E> for MainError {
    fn from(error: E) -> MainError {
        MainError(Box::new(error))
    }
}

/// The held error's message alone.
impl fmt::Display for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The message and its causes, one `caused by:` line each: what `main` prints.
impl fmt::Debug for MainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chain = self.chain();
        let first = chain.next().map(ToString::to_string).unwrap_or_default();
        f.write_str(&first)?;
        let mut said = first;
        for cause in chain {
            let text = cause.to_string();
            if said.contains(&text) {
                continue;
            }
            write!(f, "\n  caused by: {text}")?;
            said.push('\n');
            said.push_str(&text);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with an optional cause, and a message that may repeat it.
    #[derive(Debug)]
    struct Failure {
        message: String,
        cause: Option<Box<dyn Error + 'static>>,
    }

    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.message)
        }
    }

    impl Error for Failure {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.cause.as_deref()
        }
    }

    fn failure(message: &str, cause: Option<Failure>) -> Failure {
        Failure {
            message: message.to_owned(),
            cause: cause.map(|c| Box::new(c) as Box<dyn Error>),
        }
    }

    #[test]
    fn debug_prints_the_message_and_each_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let inner = Failure {
            message: "cannot read game.toml".to_owned(),
            cause: Some(Box::new(io)),
        };
        let error: MainError = failure("cannot start the server", Some(inner)).into();
        assert_eq!(
            format!("{error:?}"),
            "cannot start the server\n  caused by: cannot read game.toml\n  caused by: no such file"
        );
        assert_eq!(error.to_string(), "cannot start the server");
        assert_eq!(error.chain().count(), 3);
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let inner = failure("disk full", None);
        let error: MainError = failure("cannot commit: disk full", Some(inner)).into();
        assert_eq!(format!("{error:?}"), "cannot commit: disk full");
    }

    #[test]
    fn question_mark_converts_the_runtime_errors() {
        fn load() -> Result<(), MainError> {
            let config = crate::Config {
                cores: 100_000,
                ..crate::Config::default()
            };
            config.validate()?;
            Ok(())
        }
        let printed = format!("{:?}", load().unwrap_err());
        assert!(
            printed.starts_with("configuration value `cores`"),
            "{printed}"
        );
        assert!(!printed.contains("Invalid {"), "{printed}");
    }
}
