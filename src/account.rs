//! The settings of one member's connection to the shared mailbox. The password is not
//! here: it lives in the OS credential store (see `secrets`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::problem::{Problem, ProblemCode, Result};

/// How the connection is secured. There is deliberately no plaintext option: STARTTLS is
/// used only when configured and never falls back to an unencrypted session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    #[default]
    Tls,
    /// Plain connection upgraded with STARTTLS before anything else is sent.
    StartTls,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ServerEndpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccountSettings {
    /// This member's id in the team: `[a-z0-9][a-z0-9._-]{0,31}`. It becomes part of IMAP
    /// keywords, so it is validated strictly.
    pub member_id: String,
    /// This member's name as colleagues see it.
    pub display_name: String,
    /// The shared address, for example `support@example.com`.
    pub shared_address: String,
    pub imap: ServerEndpoint,
    pub smtp: ServerEndpoint,
    /// The IMAP/SMTP login name.
    pub username: String,
    /// A PEM file with an extra certificate authority to trust, for servers with a
    /// private CA. The system's trust store is always used as well.
    pub extra_ca_file: Option<String>,
}

impl AccountSettings {
    /// Checks every value that later enters a network command or a keyword.
    pub fn validate(&self) -> Result<()> {
        validate_member_id(&self.member_id)?;
        if self.display_name.trim().is_empty() || has_control(&self.display_name) {
            return Err(invalid(
                "the display name is empty or contains control characters",
            ));
        }
        validate_address(&self.shared_address)?;
        validate_host(&self.imap.host)?;
        validate_host(&self.smtp.host)?;
        if self.imap.port == 0 || self.smtp.port == 0 {
            return Err(invalid("a port is 0"));
        }
        validate_login(&self.username)?;
        Ok(())
    }

    /// The key under which this account's password is kept in the credential store.
    pub fn credential_key(&self) -> String {
        format!("{}@{}:{}", self.username, self.imap.host, self.imap.port)
    }
}

fn invalid(message: &str) -> Problem {
    Problem::new(ProblemCode::InvalidSettings, message)
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// `[a-z0-9][a-z0-9._-]{0,31}`
pub fn validate_member_id(id: &str) -> Result<()> {
    let mut chars = id.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if first_ok && rest_ok && id.len() <= 32 {
        Ok(())
    } else {
        Err(invalid(
            "a member id is 1 to 32 characters: lowercase letters, digits, '.', '_' or '-', \
             starting with a letter or digit",
        ))
    }
}

/// A host name or IP address literal; nothing that could break out of a command or URL.
pub fn validate_host(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid("the server name is not a valid host name"))
    }
}

/// A login name is sent as an IMAP quoted string: no control characters, no NUL.
pub fn validate_login(login: &str) -> Result<()> {
    if login.is_empty() || login.len() > 256 || has_control(login) {
        Err(invalid(
            "the user name is empty or contains control characters",
        ))
    } else {
        Ok(())
    }
}

/// A plain `local@domain` address, the shape that may appear in SMTP commands.
pub fn validate_address(address: &str) -> Result<()> {
    let ok = match address.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && local.len() <= 64
                && local
                    .chars()
                    .all(|c| c.is_ascii_graphic() && !"<>()[]\\,;:\"@".contains(c))
                && validate_host(domain).is_ok()
                && domain.contains('.')
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid("the address is not a valid e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids() {
        for good in ["anna", "a", "b.de-vries_2", "0", &"x".repeat(32)] {
            assert!(validate_member_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Anna",
            "-anna",
            ".a",
            "an na",
            "a\r\n",
            "a*",
            "ä",
            &"x".repeat(33),
        ] {
            assert!(validate_member_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_and_addresses() {
        assert!(validate_host("mail.example.com").is_ok());
        assert!(validate_host("127.0.0.1").is_ok());
        assert!(validate_host("[::1]").is_ok());
        assert!(validate_host("mail.example.com\r\nA1 LOGOUT").is_err());
        assert!(validate_host("").is_err());
        assert!(validate_address("support@example.com").is_ok());
        assert!(validate_address("support@localhost").is_err());
        assert!(validate_address("a b@example.com").is_err());
        assert!(validate_address("<a>@example.com").is_err());
        assert!(validate_address("a@example.com\r\nRCPT TO:<x@y.z>").is_err());
    }

    #[test]
    fn logins() {
        assert!(validate_login("anna@example.com").is_ok());
        assert!(validate_login("anna\0").is_err());
        assert!(validate_login("anna\r\n").is_err());
        assert!(validate_login("").is_err());
    }
}
