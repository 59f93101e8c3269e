//! Why a client could not connect or send.

use darkstar_protocol::DisconnectReason;

/// A client failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection could not be made or broke during login.
    #[error("cannot reach the server: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket handshake failed.
    #[error("WebSocket handshake failed: {0}")]
    WebSocket(String),
    /// The server sent something that is not a valid frame, or not the frame expected.
    #[error("the server broke the protocol: {0}")]
    Protocol(String),
    /// The authenticator or the game refused the login; the text says why.
    #[error("login refused: {0}")]
    LoginRefused(String),
    /// The server turned the connection away during the handshake or login, with a
    /// reason code: for example [`DisconnectReason::Busy`] (a limit on connections or
    /// logins; try again later), [`DisconnectReason::Full`] (the session limit),
    /// [`DisconnectReason::UnsupportedVersion`] or [`DisconnectReason::LoginTimeout`].
    #[error("disconnected ({reason}): {text}")]
    Disconnected {
        /// Why, for programs.
        reason: DisconnectReason,
        /// Why, for people.
        text: String,
    },
    /// The session is over; nothing more can be sent.
    #[error("the session has ended")]
    Closed,
}
