//! Where passwords live: the operating system's credential store (macOS Keychain,
//! Windows Credential Manager, the Secret Service on Linux). Never sled, config files or
//! logs. Tests use `MemorySecrets`, which the app never does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::problem::{Problem, ProblemCode, Result};

pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>>;
    fn set(&self, key: &str, secret: &str) -> Result<()>;
    fn delete(&self, key: &str) -> Result<()>;
}

/// Reads `key` on a blocking thread: the OS credential store may take its time (or ask
/// the user), and must not hold an async thread meanwhile. `what` names the secret in
/// the error ("the password", "the team server secret").
pub async fn read(store: &Arc<dyn SecretStore>, key: &str, what: &str) -> Result<Option<String>> {
    let (store, key) = (store.clone(), key.to_owned());
    crate::problem::blocking(
        ProblemCode::CredentialStoreFailed,
        &format!("{what} could not be read"),
        move || store.get(&key),
    )
    .await?
}

/// Stores `secret` under `key` on a blocking thread (see [`read`]).
pub async fn write(
    store: &Arc<dyn SecretStore>,
    key: &str,
    secret: &str,
    what: &str,
) -> Result<()> {
    let (store, key, secret) = (store.clone(), key.to_owned(), secret.to_owned());
    crate::problem::blocking(
        ProblemCode::CredentialStoreFailed,
        &format!("{what} could not be saved"),
        move || store.set(&key, &secret),
    )
    .await?
}

/// The OS credential store, through the keyring crate. Entries are named
/// `<service>` / `<profile>/<key>` so two profiles on one computer do not collide.
pub struct OsKeychain {
    service: String,
    profile: String,
}

impl OsKeychain {
    pub fn new(service: &str, profile: &str) -> OsKeychain {
        OsKeychain {
            service: service.to_owned(),
            profile: profile.to_owned(),
        }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(&self.service, &format!("{}/{key}", self.profile))
            .map_err(store_problem)
    }
}

fn store_problem(e: keyring::Error) -> Problem {
    Problem::new(
        ProblemCode::CredentialStoreFailed,
        "the system's password store could not be used",
    )
    .with_detail(e.to_string())
}

impl SecretStore for OsKeychain {
    fn get(&self, key: &str) -> Result<Option<String>> {
        match self.entry(key)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(store_problem(e)),
        }
    }

    fn set(&self, key: &str, secret: &str) -> Result<()> {
        self.entry(key)?.set_password(secret).map_err(store_problem)
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(store_problem(e)),
        }
    }
}

/// A secret store in memory, for tests and benchmarks only.
#[derive(Clone, Default)]
pub struct MemorySecrets(Arc<Mutex<HashMap<String, String>>>);

impl MemorySecrets {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SecretStore for MemorySecrets {
    fn get(&self, key: &str) -> Result<Option<String>> {
        Ok(self.map().get(key).cloned())
    }

    fn set(&self, key: &str, secret: &str) -> Result<()> {
        self.map().insert(key.to_owned(), secret.to_owned());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.map().remove(key);
        Ok(())
    }
}
