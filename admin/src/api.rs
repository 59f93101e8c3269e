//! The admin API over HTTP: one request, its JSON answer, and a clear error otherwise.

use std::time::Duration;

use serde_json::Value;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server could not be reached, or its answer could not be read.
    #[error("cannot reach the admin API at {url}: {reason}")]
    Unreachable {
        /// What was asked for.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server refused the token.
    #[error("the server refused the admin token (HTTP 401): set DARKSTAR_ADMIN_TOKEN or --token to the server's admin_token")]
    Unauthorized,
    /// The server answered with an error.
    #[error("the server answered HTTP {status}: {text}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's `error` text.
        text: String,
    },
}

/// A server's admin API: its base address and the token.
pub struct Api {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Api {
    /// The API at `base` (`http://127.0.0.1:7481`), with `token`.
    pub fn new(base: &str, token: Option<String>) -> Api {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Api {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.send("GET", path, None)
    }

    /// `POST path` with an optional JSON body.
    pub fn post(&self, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
        self.send("POST", path, body)
    }

    /// `PUT path` with a JSON body.
    pub fn put(&self, path: &str, body: Value) -> Result<Value, ApiError> {
        self.send("PUT", path, Some(body))
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Value, ApiError> {
        self.send("DELETE", path, None)
    }

    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
        let url = format!("{}{path}", self.base);
        let unreachable = |e: ureq::Error| ApiError::Unreachable {
            url: url.clone(),
            reason: e.to_string(),
        };
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        macro_rules! with_auth {
            ($request:expr) => {{
                let request = $request;
                match &auth {
                    Some(a) => request.header("Authorization", a),
                    None => request,
                }
            }};
        }
        let response = match (method, body) {
            ("GET", _) => with_auth!(self.agent.get(&url)).call(),
            ("DELETE", _) => with_auth!(self.agent.delete(&url)).call(),
            ("POST", Some(body)) => with_auth!(self.agent.post(&url)).send_json(body),
            ("POST", None) => with_auth!(self.agent.post(&url)).send_empty(),
            ("PUT", Some(body)) => with_auth!(self.agent.put(&url)).send_json(body),
            (method, body) => unreachable!("{method} with body {body:?}"),
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        if status == 401 {
            return Err(ApiError::Unauthorized);
        }
        // The status first: an error's body may be text rather than JSON.
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ApiError::Unreachable {
                url: url.clone(),
                reason: format!("the answer (HTTP {status}) cannot be read: {e}"),
            })?;
        let value = serde_json::from_str::<Value>(&text);
        match (status, value) {
            (200..=299, Ok(value)) => Ok(value),
            (200..=299, Err(e)) => Err(ApiError::Unreachable {
                url,
                reason: format!("the answer (HTTP {status}) is not JSON: {e}"),
            }),
            (_, Ok(value)) => Err(ApiError::Refused {
                status,
                text: value["error"]
                    .as_str()
                    .unwrap_or("(no reason given)")
                    .to_owned(),
            }),
            (_, Err(_)) => Err(ApiError::Refused {
                status,
                text: text.trim().to_owned(),
            }),
        }
    }
}
