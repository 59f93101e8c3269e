//! The admin token: what every admin request but the health check must carry.

use subtle::ConstantTimeEq;

/// Shortest token accepted: a guessable token would make the listener an open door.
pub(crate) const MIN_TOKEN_LEN: usize = 16;

/// The configured token, kept as a hash so that comparing takes the same time whatever
/// the guess (its length included).
pub(crate) struct AdminToken {
    hash: [u8; 32],
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hash: it would let a log reader test guesses offline.
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// The token `text`, or why it cannot be one.
    pub fn new(text: &str) -> Result<AdminToken, String> {
        if text.chars().count() < MIN_TOKEN_LEN {
            return Err(format!(
                "admin_token is {} characters long; it must have at least {MIN_TOKEN_LEN}",
                text.chars().count()
            ));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("admin_token holds spaces or control characters".to_owned());
        }
        Ok(AdminToken {
            hash: *blake3::hash(text.as_bytes()).as_bytes(),
        })
    }

    /// Whether an `Authorization` header's value carries this token.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        let given = blake3::hash(given);
        bool::from(given.as_bytes().ct_eq(&self.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bearer_of_the_token_is_admitted() {
        let token = AdminToken::new("0123456789abcdef").unwrap();
        assert!(token.admits(Some(b"Bearer 0123456789abcdef")));
        assert!(!token.admits(Some(b"Bearer 0123456789abcdeg")));
        assert!(!token.admits(Some(b"Bearer 0123456789abcdef0")));
        assert!(!token.admits(Some(b"0123456789abcdef")), "no scheme");
        assert!(!token.admits(Some(b"Basic 0123456789abcdef")));
        assert!(!token.admits(None));
    }

    #[test]
    fn short_or_spaced_tokens_are_refused() {
        assert!(AdminToken::new("short")
            .unwrap_err()
            .contains("at least 16"));
        assert!(AdminToken::new("0123456789 abcdef").is_err());
    }
}
