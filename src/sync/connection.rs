//! How the workers log in: account settings, the TLS configuration and the password from
//! the credential store, read at every attempt so a corrected password is picked up.

use std::sync::Arc;

use tokio_rustls::rustls::ClientConfig;

use crate::account::AccountSettings;
use crate::imap::connect::open_session;
use crate::imap::session::ImapSession;
use crate::problem::{Problem, ProblemCode, Result};
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
        crate::secrets::read(
            &self.secrets,
            &self.account.credential_key(),
            "the password",
        )
        .await?
        .ok_or_else(|| {
            Problem::new(
                ProblemCode::PasswordMissing,
                "no password is stored for this account",
            )
        })
    }
}
