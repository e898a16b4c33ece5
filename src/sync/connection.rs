//! How the workers log in: account settings, the TLS configuration and the password from
//! the credential store, read at every attempt so a corrected password is picked up.

use std::sync::Arc;

use tokio_rustls::rustls::ClientConfig;

use crate::account::AccountSettings;
use crate::imap::connect::open_session;
use crate::imap::session::ImapSession;
use crate::problem::{Problem, ProblemCode, Result, blocking};
use crate::secrets::SecretStore;

#[derive(Clone)]
pub struct Connection {
    pub account: AccountSettings,
    pub tls: Arc<ClientConfig>,
    pub secrets: Arc<dyn SecretStore>,
}

impl Connection {
    pub async fn open(&self) -> Result<ImapSession> {
        let password = self.password().await?;
        open_session(
            &self.account.imap,
            self.tls.clone(),
            &self.account.username,
            &password,
        )
        .await
    }

    /// The account's password (IMAP and SMTP share the login).
    pub async fn password(&self) -> Result<String> {
        let secrets = self.secrets.clone();
        let key = self.account.credential_key();
        blocking(
            ProblemCode::CredentialStoreFailed,
            "the password could not be read",
            move || secrets.get(&key),
        )
        .await??
        .ok_or_else(|| {
            Problem::new(
                ProblemCode::PasswordMissing,
                "no password is stored for this account",
            )
        })
    }
}
