//! Member secrets and invite codes: random, shown once, stored only as Argon2 hashes.
//!
//! Secrets are 32 random bytes, so no one guesses them and Argon2's cost is not what
//! protects them; hashing keeps a copied store from being a list of working secrets.
//! The cost is set modestly (8 MiB, 2 passes) because every connection pays it, and the
//! checks run on blocking threads behind a semaphore so a flood of hellos waits its turn
//! instead of taking every core from the members already connected.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

use crate::problem::{Problem, ProblemCode, Result};

fn argon2() -> Argon2<'static> {
    // Constant, valid parameters: 8 MiB, 2 passes, one lane, 32-byte output.
    let params = Params::new(8 * 1024, 2, 1, Some(32)).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).map_err(|_| {
        Problem::new(
            ProblemCode::InvalidSettings,
            "the system's random number generator failed",
        )
    })?;
    Ok(bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// A new member secret: 32 random bytes as 64 hex digits.
pub fn new_secret() -> Result<String> {
    Ok(hex(&random_bytes::<32>()?))
}

/// A new invite code: 16 random bytes as 32 hex digits, short enough to read out.
pub fn new_invite() -> Result<String> {
    Ok(hex(&random_bytes::<16>()?))
}

/// A random identity for a store (its epoch).
pub fn new_epoch() -> Result<String> {
    Ok(hex(&random_bytes::<8>()?))
}

/// The Argon2id hash of `secret` in PHC string form (salt and parameters included).
pub fn hash(secret: &str) -> Result<String> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| {
        Problem::new(ProblemCode::InvalidSettings, "could not make a salt")
            .with_detail(e.to_string())
    })?;
    argon2()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            Problem::new(ProblemCode::InvalidSettings, "could not hash a secret")
                .with_detail(e.to_string())
        })
}

/// Whether `secret` matches `hash`. Argon2's verification compares in constant time.
pub fn verify(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| argon2().verify_password(secret.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A hash nobody's secret matches, checked against when the member does not exist so
/// that an unknown member takes as long to refuse as a wrong secret.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        new_secret()
            .and_then(|s| hash(&s))
            .unwrap_or_else(|_| String::from("$argon2id$v=19$m=8192,t=2,p=1$invalid"))
    })
}

/// Runs secret checks on blocking threads, a bounded number at a time.
#[derive(Clone)]
pub struct Verifier {
    permits: Arc<Semaphore>,
}

impl Verifier {
    pub fn new(concurrent: usize) -> Verifier {
        Verifier {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
        }
    }

    /// Whether `secret` matches `hash`; `None` (no such member) never matches but costs
    /// the same.
    pub async fn verify(&self, secret: String, hash: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
            verify(&secret, &hash) && known
        })
        .await
        .unwrap_or(false)
    }

    /// Hashes on a blocking thread under the same bound.
    pub async fn hash(&self, secret: String) -> Result<String> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Problem::new(ProblemCode::ShuttingDown, "the server is stopping"))?;
        tokio::task::spawn_blocking(move || hash(&secret))
            .await
            .map_err(|e| {
                Problem::new(ProblemCode::InvalidSettings, "hashing failed")
                    .with_detail(e.to_string())
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_through_their_hash_only() {
        let secret = new_secret().expect("secret");
        assert_eq!(secret.len(), 64);
        let hashed = hash(&secret).expect("hash");
        assert!(!hashed.contains(&secret));
        assert!(verify(&secret, &hashed));
        assert!(!verify(&new_secret().expect("other"), &hashed));
        assert!(!verify(&secret, "not a hash"));
        assert_ne!(hash(&secret).expect("again"), hashed, "salted");
    }

    #[tokio::test]
    async fn unknown_members_never_verify() {
        let verifier = Verifier::new(1);
        let secret = new_secret().expect("secret");
        assert!(!verifier.verify(secret.clone(), None).await);
        let hashed = verifier.hash(secret.clone()).await.expect("hash");
        assert!(verifier.verify(secret, Some(hashed)).await);
    }
}
