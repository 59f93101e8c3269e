//! Why a server ends a connection.

/// The reason code of a `Disconnect` frame. The frame also carries a text for people; the
/// code is for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// 1: the client logged out.
    LoggedOut,
    /// 2: the game ended the session.
    Kicked,
    /// 3: the client sent something that is not a valid frame, or a frame out of place.
    ProtocolError,
    /// 4: the client sent a frame over the size limit.
    FrameTooLarge,
    /// 5: the client did not log in within the login timeout.
    LoginTimeout,
    /// 6: the client read too slowly: its outgoing queue reached its bound.
    TooSlow,
    /// 7: the server is shutting down.
    Shutdown,
    /// 8: no protocol version both sides speak.
    UnsupportedVersion,
    /// 9: the client resumed the session on another connection.
    Replaced,
    /// 10: the reconnection window passed before the client came back.
    Expired,
    /// 11: the server is full (its session limit).
    Full,
    /// 12: the server cannot take this connection or login now (a limit per address, on
    /// connections not yet logged in, or on logins waiting to be checked); try again later.
    Busy,
    /// 13: a newer login under the same name took over.
    LoggedInElsewhere,
    /// Any other code, from a newer peer.
    Other(u8),
}

impl DisconnectReason {
    /// Its byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            DisconnectReason::LoggedOut => 1,
            DisconnectReason::Kicked => 2,
            DisconnectReason::ProtocolError => 3,
            DisconnectReason::FrameTooLarge => 4,
            DisconnectReason::LoginTimeout => 5,
            DisconnectReason::TooSlow => 6,
            DisconnectReason::Shutdown => 7,
            DisconnectReason::UnsupportedVersion => 8,
            DisconnectReason::Replaced => 9,
            DisconnectReason::Expired => 10,
            DisconnectReason::Full => 11,
            DisconnectReason::Busy => 12,
            DisconnectReason::LoggedInElsewhere => 13,
            DisconnectReason::Other(code) => code,
        }
    }

    /// The reason with wire byte `code`.
    pub fn from_code(code: u8) -> DisconnectReason {
        match code {
            1 => DisconnectReason::LoggedOut,
            2 => DisconnectReason::Kicked,
            3 => DisconnectReason::ProtocolError,
            4 => DisconnectReason::FrameTooLarge,
            5 => DisconnectReason::LoginTimeout,
            6 => DisconnectReason::TooSlow,
            7 => DisconnectReason::Shutdown,
            8 => DisconnectReason::UnsupportedVersion,
            9 => DisconnectReason::Replaced,
            10 => DisconnectReason::Expired,
            11 => DisconnectReason::Full,
            12 => DisconnectReason::Busy,
            13 => DisconnectReason::LoggedInElsewhere,
            code => DisconnectReason::Other(code),
        }
    }

    /// A short name, for logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            DisconnectReason::LoggedOut => "logged_out",
            DisconnectReason::Kicked => "kicked",
            DisconnectReason::ProtocolError => "protocol_error",
            DisconnectReason::FrameTooLarge => "frame_too_large",
            DisconnectReason::LoginTimeout => "login_timeout",
            DisconnectReason::TooSlow => "too_slow",
            DisconnectReason::Shutdown => "shutdown",
            DisconnectReason::UnsupportedVersion => "unsupported_version",
            DisconnectReason::Replaced => "replaced",
            DisconnectReason::Expired => "expired",
            DisconnectReason::Full => "full",
            DisconnectReason::Busy => "busy",
            DisconnectReason::LoggedInElsewhere => "logged_in_elsewhere",
            DisconnectReason::Other(_) => "other",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
