//! `baton-sync`'s configuration: a TOML file for the binary, the same struct built in code
//! when a desktop hosts the server. Unknown keys are refused so a misspelt limit does not
//! silently fall back to its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::account::Security;
use crate::problem::{Problem, ProblemCode, Result};

/// A commented configuration that sets every key; `baton-sync --help` prints it and a
/// test parses it, so the documentation cannot drift from the parser.
pub const SAMPLE_CONFIG: &str = r#"# Where to accept desktops. Plain ws:// (tls.mode = "none") is only allowed on a
# loopback address (127.0.0.1, ::1).
listen = "0.0.0.0:7443"
# The server's own data: members (secret hashes), conversation state, the change log,
# and the self-signed certificate. One server process per directory.
store = "/var/lib/baton-sync"
# Presence (viewing, replying) of a connection that sends nothing for this long is
# dropped and the connection closed. Desktops send a heartbeat every 10 s.
silence_timeout_secs = 30.0
# How many recent changes are kept for reconnecting desktops; older ones get a snapshot.
log_keep = 100000

[tls]
# "self_signed": a certificate made on first start and kept in the store; its SHA-256
#                fingerprint is printed so members can confirm it when they connect.
# "files":       cert and key below (PEM; the chain first, leaf first).
# "none":        plain WebSocket, loopback only.
mode = "files"
cert = "/etc/baton-sync/cert.pem"
key = "/etc/baton-sync/key.pem"

[limits]
# Open connections at most; more are refused at once.
max_connections = 512
# The largest frame or message a desktop may send, in bytes.
max_message_bytes = 65536
# Frames per second per connection (token bucket), and the burst allowed above it.
messages_per_second = 200.0
burst = 400.0
# A connection must authenticate within this time.
hello_timeout_secs = 10.0
# Secret checks (Argon2) running at once; the rest wait, so a flood of hellos cannot
# take every core.
max_concurrent_auth = 2

# One [[mailbox]] per shared mailbox. Members are added with
# `baton-sync --config FILE invite <mailbox> <member>`.
[[mailbox]]
id = "support"

# The IMAP account the server uses for this mailbox.
[mailbox.imap]
host = "imap.example.com"
port = 993
# "tls" (implicit TLS) or "start_tls".
security = "tls"
username = "support@example.com"
# The mailbox's own address: mail from it is the team's, mail to it the customers'.
address = "support@example.com"
# A PEM file with an extra certificate authority to trust (a private CA); optional.
# ca_file = "/etc/baton-sync/imap-ca.pem"
# The password comes from an environment variable or the OS credential store; it is
# never written in this file. Give exactly one of the two.
password_env = "BATON_SUPPORT_PASSWORD"
# password_keychain = "support@example.com@imap.example.com:993"
"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub store: PathBuf,
    #[serde(default = "default_silence")]
    pub silence_timeout_secs: f64,
    #[serde(default = "default_log_keep")]
    pub log_keep: u64,
    #[serde(default)]
    pub tls: TlsConfig,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default, rename = "mailbox")]
    pub mailboxes: Vec<MailboxConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum TlsConfig {
    #[default]
    SelfSigned,
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub max_connections: usize,
    pub max_message_bytes: usize,
    pub messages_per_second: f64,
    pub burst: f64,
    pub hello_timeout_secs: f64,
    pub max_concurrent_auth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            max_message_bytes: 64 * 1024,
            messages_per_second: 200.0,
            burst: 400.0,
            hello_timeout_secs: 10.0,
            max_concurrent_auth: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxConfig {
    pub id: String,
    #[serde(default)]
    pub imap: Option<ImapAccount>,
}

/// The IMAP account a mailbox uses. Parsed and kept here; the IMAP side of the server
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapAccount {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    pub username: String,
    /// The shared address; mail from it is the team's.
    pub address: String,
    /// An extra certificate authority to trust for this server (PEM).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_keychain: Option<String>,
}

fn default_silence() -> f64 {
    30.0
}

fn default_log_keep() -> u64 {
    100_000
}

fn invalid(message: impl Into<String>) -> Problem {
    Problem::new(ProblemCode::InvalidSettings, message)
}

fn seconds(value: f64, name: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| invalid(format!("{name} must be a positive number of seconds")))
}

/// Mailbox ids follow member ids' rules: they name store trees and appear in logs.
pub fn valid_mailbox_id(id: &str) -> bool {
    crate::account::validate_member_id(id).is_ok()
}

impl ServerConfig {
    /// A configuration for a server on loopback without TLS: the desktop's "host the
    /// team server on this computer" and the tests.
    pub fn loopback(store: impl Into<PathBuf>, mailboxes: &[&str]) -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: store.into(),
            silence_timeout_secs: default_silence(),
            log_keep: default_log_keep(),
            tls: TlsConfig::None,
            limits: Limits::default(),
            mailboxes: mailboxes
                .iter()
                .map(|id| MailboxConfig {
                    id: (*id).to_owned(),
                    imap: None,
                })
                .collect(),
        }
    }

    pub fn parse(text: &str) -> Result<ServerConfig> {
        let config: ServerConfig = toml::from_str(text)
            .map_err(|e| invalid("the configuration is not valid").with_detail(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<ServerConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            invalid(format!(
                "could not read the configuration file {}",
                path.display()
            ))
            .with_detail(e.to_string())
        })?;
        Self::parse(&text).map_err(|p| {
            let message = format!("{}: {}", path.display(), p.message);
            Problem { message, ..p }
        })
    }

    /// Checks what serde cannot: plain WebSocket only on loopback, sane limits, unique
    /// valid mailbox ids and exactly one password source per IMAP account.
    pub fn validate(&self) -> Result<()> {
        if self.tls == TlsConfig::None && !self.listen.ip().is_loopback() {
            return Err(invalid(format!(
                "tls.mode = \"none\" sends secrets in the clear; it is only allowed on a \
                 loopback address, not {}",
                self.listen
            )));
        }
        self.silence_timeout()?;
        self.hello_timeout()?;
        let limits = &self.limits;
        if limits.max_connections == 0
            || limits.max_message_bytes < 1024
            || limits.max_concurrent_auth == 0
            || !(limits.messages_per_second.is_finite() && limits.messages_per_second > 0.0)
            || !(limits.burst.is_finite() && limits.burst >= 1.0)
        {
            return Err(invalid(
                "limits: max_connections, max_concurrent_auth and messages_per_second must be \
                 above 0, burst at least 1 and max_message_bytes at least 1024",
            ));
        }
        if self.log_keep == 0 {
            return Err(invalid("log_keep must be above 0"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for mailbox in &self.mailboxes {
            if !valid_mailbox_id(&mailbox.id) {
                return Err(invalid(format!(
                    "mailbox id {:?}: 1 to 32 lowercase letters, digits, '.', '_' or '-'",
                    mailbox.id
                )));
            }
            if !seen.insert(mailbox.id.as_str()) {
                return Err(invalid(format!("mailbox {} is listed twice", mailbox.id)));
            }
            if let Some(imap) = &mailbox.imap {
                crate::account::validate_host(&imap.host)?;
                if imap.port == 0 || imap.username.trim().is_empty() {
                    return Err(invalid(format!(
                        "mailbox {}: the IMAP port and username are required",
                        mailbox.id
                    )));
                }
                if imap.password_env.is_some() == imap.password_keychain.is_some() {
                    return Err(invalid(format!(
                        "mailbox {}: give exactly one of password_env and password_keychain",
                        mailbox.id
                    )));
                }
            }
        }
        Ok(())
    }

    pub fn silence_timeout(&self) -> Result<Duration> {
        seconds(self.silence_timeout_secs, "silence_timeout_secs")
    }

    pub fn hello_timeout(&self) -> Result<Duration> {
        seconds(self.limits.hello_timeout_secs, "limits.hello_timeout_secs")
    }

    pub fn mailbox(&self, id: &str) -> Option<&MailboxConfig> {
        self.mailboxes.iter().find(|m| m.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_sets_every_key_and_parses() {
        let config = ServerConfig::parse(SAMPLE_CONFIG).expect("sample parses");
        assert_eq!(config.listen.port(), 7443);
        assert_eq!(
            config.tls,
            TlsConfig::Files {
                cert: "/etc/baton-sync/cert.pem".into(),
                key: "/etc/baton-sync/key.pem".into()
            }
        );
        assert_eq!(config.limits, Limits::default());
        let imap = config.mailboxes[0].imap.as_ref().expect("imap");
        assert_eq!(imap.security, Security::Tls);
        assert_eq!(imap.password_env.as_deref(), Some("BATON_SUPPORT_PASSWORD"));
    }

    #[test]
    fn refusals() {
        let base = "listen = \"0.0.0.0:7443\"\nstore = \"/tmp/x\"\n";
        assert!(ServerConfig::parse(base).is_ok(), "self-signed by default");
        let plain = format!("{base}[tls]\nmode = \"none\"\n");
        assert!(ServerConfig::parse(&plain).is_err(), "plain off loopback");
        let loopback = plain.replace("0.0.0.0", "127.0.0.1");
        assert!(ServerConfig::parse(&loopback).is_ok());
        assert!(ServerConfig::parse(&format!("{base}listen_typo = 1\n")).is_err());
        let twice = format!("{base}[[mailbox]]\nid = \"a\"\n[[mailbox]]\nid = \"a\"\n");
        assert!(ServerConfig::parse(&twice).is_err());
        let bad_id = format!("{base}[[mailbox]]\nid = \"Support Desk\"\n");
        assert!(ServerConfig::parse(&bad_id).is_err());
        let two_passwords = format!(
            "{base}[[mailbox]]\nid = \"a\"\n[mailbox.imap]\nhost = \"h\"\nport = 993\n\
             username = \"u\"\naddress = \"u@example.com\"\npassword_env = \"A\"\npassword_keychain = \"B\"\n"
        );
        assert!(ServerConfig::parse(&two_passwords).is_err());
        assert!(ServerConfig::parse(&format!("{base}silence_timeout_secs = 0\n")).is_err());
    }
}
