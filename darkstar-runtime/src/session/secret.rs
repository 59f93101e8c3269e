//! The server's session secret: every session's resume key is derived from it and the
//! session's id, so any node of a cluster, or a restarted server, can check a resume
//! without a key stored per session.

use darkstar_protocol::KEY_LEN;
use darkstar_sdk::{decode, encode, managed, Stored};
use darkstar_storage::{Batch, CommitError};

use crate::shared::Shared;

/// Where the secret is stored.
pub(crate) const SECRET_NAME: &str = "s/sessions/secret";

/// Length of the secret: a BLAKE3 key.
const SECRET_LEN: usize = 32;

/// The stored secret.
#[managed(name = "darkstar.SessionSecret")]
pub(crate) struct SessionSecret {
    pub key: Vec<u8>,
}

/// Why the secret could not be read or made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    /// No randomness to make one from.
    #[error("the server cannot make its session secret: no randomness ({0})")]
    Random(String),
    /// Stored, but not as a secret.
    #[error("the session secret stored under {SECRET_NAME:?} is damaged: {0}")]
    Damaged(String),
    /// The store refused it.
    #[error("the session secret could not be stored: {0}")]
    Store(#[from] CommitError),
}

/// The stored secret, made and stored first if the store has none. In a cluster this runs
/// under the start-up lock, so every node ends up with the one the first node stored.
pub(crate) fn load_or_create(shared: &Shared) -> Result<[u8; SECRET_LEN], SecretError> {
    if let Some(key) = load(shared)? {
        return Ok(key);
    }
    let mut key = [0u8; SECRET_LEN];
    getrandom::fill(&mut key).map_err(|e| SecretError::Random(e.to_string()))?;
    let bytes = encode(
        &SessionSecret { key: key.to_vec() },
        SessionSecret::TYPE_NAME,
    )
    .map_err(|e| SecretError::Damaged(e.to_string()))?;
    let id = shared.data.allocate_id()?;
    let mut batch = Batch::new();
    batch.put_object(id, SessionSecret::STORED_NAME, &bytes);
    batch.bind(SECRET_NAME, id);
    // Never two secrets: a second maker conflicts.
    batch.read_name(SECRET_NAME, 0);
    let seq = shared.data.commit_now(&mut batch)?;
    shared
        .store
        .wait_acknowledged(seq)
        .map_err(|e| SecretError::Store(CommitError::Failed(e.to_string())))?;
    Ok(key)
}

fn load(shared: &Shared) -> Result<Option<[u8; SECRET_LEN]>, SecretError> {
    let snap = shared.store.snapshot();
    let Some(binding) = snap.name(SECRET_NAME) else {
        return Ok(None);
    };
    let damaged = |why: &str| SecretError::Damaged(why.to_owned());
    let obj = snap
        .object(binding.id)
        .ok_or_else(|| damaged("its object is missing"))?;
    if obj.type_name != SessionSecret::STORED_NAME {
        return Err(damaged("it is stored as another type"));
    }
    let secret = decode::<SessionSecret>(obj.value, binding.id)
        .map_err(|e| SecretError::Damaged(e.to_string()))?;
    let key = <[u8; SECRET_LEN]>::try_from(secret.key.as_slice())
        .map_err(|_| damaged("it is not 32 bytes long"))?;
    Ok(Some(key))
}

/// The resume key of session `id`.
pub(crate) fn session_key(secret: &[u8; SECRET_LEN], id: u64) -> [u8; KEY_LEN] {
    let mut input = [0u8; 24];
    input[..16].copy_from_slice(b"darkstar session");
    input[16..].copy_from_slice(&id.to_le_bytes());
    let hash = blake3::keyed_hash(secret, &input);
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&hash.as_bytes()[..KEY_LEN]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_per_session_and_per_secret() {
        let a = [1u8; SECRET_LEN];
        let b = [2u8; SECRET_LEN];
        assert_eq!(session_key(&a, 7), session_key(&a, 7));
        assert_ne!(session_key(&a, 7), session_key(&a, 8));
        assert_ne!(session_key(&a, 7), session_key(&b, 7));
    }
}
