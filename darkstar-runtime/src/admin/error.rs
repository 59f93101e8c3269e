//! What goes wrong in the admin listener: at start, and answering a request.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why the admin listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// `admin_addr` is set without `admin_token`.
    #[error("admin_addr is set but admin_token is not: the admin API needs a token (set DARKSTAR_ADMIN_TOKEN, at least 16 characters)")]
    NoToken,
    /// The token is unfit.
    #[error("{0}")]
    BadToken(String),
    /// The address cannot be bound.
    #[error("cannot serve the admin API on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Its thread or runtime cannot be started.
    #[error("cannot start the admin listener: {0}")]
    Start(std::io::Error),
}

/// An API answer other than success: a status and a text, sent as `{"error": text}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub text: String,
}

impl ApiError {
    pub fn new(status: StatusCode, text: impl Into<String>) -> ApiError {
        ApiError {
            status,
            text: text.into(),
        }
    }

    pub fn not_found(text: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, text)
    }

    pub fn bad_request(text: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, text)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(serde_json::json!({ "error": self.text }));
        if self.status == StatusCode::UNAUTHORIZED {
            // Closed after the answer: a peer without the token cannot hold one of the
            // listener's few connections by asking again and again on it.
            return (
                self.status,
                [
                    (axum::http::header::WWW_AUTHENTICATE, "Bearer"),
                    (axum::http::header::CONNECTION, "close"),
                ],
                body,
            )
                .into_response();
        }
        (self.status, body).into_response()
    }
}
