//! Who may log in: the pluggable authenticator, and the two built in.

use std::sync::Arc;

use darkstar_sdk::{decode, encode, managed, Stored};
use darkstar_storage::{Batch, Store};

use crate::net::password;

/// Checks a client's name and password. Called on one of the login threads (`login_threads`,
/// behind a queue of `login_queue`), so it may block (hash a password, ask another
/// service), but it must return: a login waits for it.
pub trait Authenticator: Send + Sync + 'static {
    /// The identity to log in as (usually `name`), or the reason the client is refused.
    fn authenticate(&self, name: &str, password: &str) -> Result<String, String>;

    /// Whether [`authenticate`](Self::authenticate) answers at once, without blocking or
    /// costly work; then it runs on the network thread instead of a login thread.
    fn is_instant(&self) -> bool {
        false
    }
}

/// Accepts anyone under the name they give. For development only: it is off unless the
/// configuration says `login_mode = "development"`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DevelopmentAuthenticator;

impl Authenticator for DevelopmentAuthenticator {
    fn authenticate(&self, name: &str, _password: &str) -> Result<String, String> {
        check_name(name).map_err(|e| e.to_string())?;
        Ok(name.to_owned())
    }

    fn is_instant(&self) -> bool {
        true
    }
}

/// An account: its password's argon2 hash, in PHC string form.
#[managed(name = "darkstar.Account")]
pub(crate) struct Account {
    pub hash: String,
}

/// Why an account could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is not a valid account name.
    #[error("invalid account name {name:?}: {reason}")]
    InvalidName {
        /// The name (cut to 64 characters).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An account of that name exists already.
    #[error("account {0:?} exists already")]
    Exists(String),
    /// No account has that name.
    #[error("no account named {0:?}")]
    Missing(String),
    /// The password could not be hashed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
    /// The store refused or failed the change.
    #[error("cannot store the account: {0}")]
    Store(String),
}

/// The longest account name, in bytes.
pub const MAX_ACCOUNT_NAME: usize = 64;

fn check_name(name: &str) -> Result<(), AccountError> {
    let invalid = |reason| {
        Err(AccountError::InvalidName {
            name: name.chars().take(64).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.len() > MAX_ACCOUNT_NAME {
        return invalid("it is longer than 64 bytes");
    }
    if name.chars().any(char::is_control) {
        return invalid("it holds control characters");
    }
    Ok(())
}

/// A hash to check the passwords of unknown accounts against: made once, with the same
/// parameters as every account's.
fn unknown_account_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| password::hash("").unwrap_or_default())
}

fn account_key(name: &str) -> String {
    format!("s/account/{name}")
}

/// Accounts with argon2-hashed passwords, kept in the data store. Create them with
/// [`Accounts::create`] (the admin path), or let unknown names register on first login
/// (`register_on_login = true`).
#[derive(Clone)]
pub struct Accounts {
    shared: Arc<crate::shared::Shared>,
    register_on_login: bool,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("register_on_login", &self.register_on_login)
            .finish()
    }
}

impl Accounts {
    pub(crate) fn new(shared: Arc<crate::shared::Shared>, register_on_login: bool) -> Accounts {
        Accounts {
            shared,
            register_on_login,
        }
    }

    fn store(&self) -> &Store {
        &self.shared.store
    }

    /// Creates account `name` with `password`, durably. Fails if it exists.
    pub fn create(&self, name: &str, password: &str) -> Result<(), AccountError> {
        self.put(name, password, false)
    }

    /// Sets the password of existing account `name`, durably.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        self.put(name, password, true)
    }

    /// Whether account `name` exists.
    pub fn exists(&self, name: &str) -> bool {
        self.store().snapshot().name(&account_key(name)).is_some()
    }

    fn put(&self, name: &str, password: &str, replace: bool) -> Result<(), AccountError> {
        check_name(name)?;
        let hash = password::hash(password).map_err(|e| AccountError::Hash(e.to_string()))?;
        let bytes = encode(&Account { hash }, Account::TYPE_NAME)
            .map_err(|e| AccountError::Store(e.to_string()))?;
        let key = account_key(name);
        let store = self.store();
        let snap = store.snapshot();
        let existing = snap.name(&key);
        match (existing, replace) {
            (Some(_), false) => return Err(AccountError::Exists(name.to_owned())),
            (None, true) => return Err(AccountError::Missing(name.to_owned())),
            _ => {}
        }
        let id = match existing {
            Some(b) => b.id,
            None => self
                .shared
                .data
                .allocate_id()
                .map_err(|e| AccountError::Store(e.to_string()))?,
        };
        let mut batch = Batch::new();
        batch.put_object(id, Account::STORED_NAME, &bytes);
        batch.bind(&key, id);
        // Created or changed by someone else in between: a conflict, not a silent overwrite.
        batch.read_name(&key, existing.map_or(0, |b| b.version));
        let seq = self
            .shared
            .data
            .commit_now(&mut batch)
            .map_err(|e| AccountError::Store(e.to_string()))?;
        store
            .wait_acknowledged(seq)
            .map_err(|e| AccountError::Store(e.to_string()))?;
        Ok(())
    }

    /// The stored hash of account `name`.
    fn hash_of(&self, name: &str) -> Option<String> {
        let snap = self.store().snapshot();
        let id = snap.name(&account_key(name))?.id;
        let obj = snap.object(id)?;
        // Only bytes stored with the account's tag are an account's.
        if obj.type_name != Account::STORED_NAME {
            return None;
        }
        let account = decode::<Account>(obj.value, id).ok()?;
        Some(account.hash)
    }
}

impl Authenticator for Accounts {
    fn authenticate(&self, name: &str, password: &str) -> Result<String, String> {
        check_name(name).map_err(|e| e.to_string())?;
        let Some(hash) = self.hash_of(name) else {
            if !self.register_on_login {
                // As long as checking a wrong password, so that how long a refusal takes
                // does not tell which accounts exist.
                let _ = password::verify(password, unknown_account_hash());
                return Err("unknown account or wrong password".to_owned());
            }
            return match self.create(name, password) {
                Ok(()) => Ok(name.to_owned()),
                // Registered by a concurrent login: check against that.
                Err(AccountError::Exists(_)) => self.authenticate(name, password),
                Err(e) => Err(e.to_string()),
            };
        };
        match password::verify(password, &hash) {
            Ok(true) => Ok(name.to_owned()),
            Ok(false) => Err("unknown account or wrong password".to_owned()),
            Err(e) => {
                tracing::error!(account = name, error = %e, "cannot check a password");
                Err("the account cannot be checked; tell the game's operators".to_owned())
            }
        }
    }
}
