//! A profile is one member's Baton on one computer: its account settings and its cache in
//! one directory. `--profile NAME` lets two members run side by side on one machine.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::AccountSettings;
use crate::compose::{ComposeSettings, MAX_UNDO_SECONDS};
use crate::notes::watch::NotificationSettings;
use crate::problem::{Problem, ProblemCode, Result};
use crate::team::{HostSettings, TeamServerSettings};

const ACCOUNT_FILE: &str = "account.json";
const TEAM_FILE: &str = "team-server.json";
const HOST_FILE: &str = "host.json";
const COMPOSE_FILE: &str = "compose.json";
const NOTIFY_FILE: &str = "notifications.json";
/// What could be read of a damaged account file, until the member saves the form.
const RECOVERED_FILE: &str = "account.recovered.json";

/// What the window needs to know at start: which profile runs, and whether it still needs
/// the first-run account form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetupState {
    pub profile: String,
    pub account: Option<AccountSettings>,
    /// The saved settings were damaged: what could be read of them, for the set-up form
    /// to fill in (the rest the member types again).
    #[serde(default)]
    pub recovered: Option<RecoveredAccount>,
}

/// The fields of damaged account settings that could still be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct RecoveredAccount {
    pub member_id: Option<String>,
    pub display_name: Option<String>,
    pub shared_address: Option<String>,
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub username: Option<String>,
    pub extra_ca_file: Option<String>,
}

impl RecoveredAccount {
    /// Reads what it can of a damaged account file: the fields of JSON that parses but
    /// does not fit, or the `"name": value` pairs of a file cut off halfway (the IMAP
    /// server comes before the SMTP server in the file, so the first host and port are
    /// IMAP's).
    pub fn from_damaged(bytes: &[u8]) -> RecoveredAccount {
        let text = String::from_utf8_lossy(bytes);
        let mut pairs: Vec<(String, serde_json::Value)> = Vec::new();
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => flatten(&value, &mut pairs),
            Err(_) => scan_pairs(&text, &mut pairs),
        }
        let text_of = |name: &str, nth: usize| {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .nth(nth)
                .and_then(|(_, v)| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty() && !v.chars().any(char::is_control))
                .map(str::to_owned)
        };
        let port_of = |nth: usize| {
            pairs
                .iter()
                .filter(|(k, _)| k == "port")
                .nth(nth)
                .and_then(|(_, v)| v.as_u64())
                .and_then(|p| u16::try_from(p).ok())
                .filter(|p| *p > 0)
        };
        RecoveredAccount {
            member_id: text_of("member_id", 0),
            display_name: text_of("display_name", 0),
            shared_address: text_of("shared_address", 0),
            imap_host: text_of("host", 0),
            imap_port: port_of(0),
            smtp_host: text_of("host", 1),
            smtp_port: port_of(1),
            username: text_of("username", 0),
            extra_ca_file: text_of("extra_ca_file", 0),
        }
    }
}

/// Every `name: value` of a JSON document, depth first, in document order.
fn flatten(value: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    if let serde_json::Value::Object(map) = value {
        for (key, value) in map {
            if value.is_object() {
                flatten(value, out);
            } else {
                out.push((key.clone(), value.clone()));
            }
        }
    }
}

/// The complete `"name": "text"` and `"name": number` pairs of a cut-off document.
fn scan_pairs(text: &str, out: &mut Vec<(String, serde_json::Value)>) {
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { return };
        let key = &after[..end];
        let tail = after[end + 1..].trim_start();
        rest = &after[end + 1..];
        let Some(tail) = tail.strip_prefix(':') else {
            continue;
        };
        // One value, read by the JSON parser itself so escapes come out right.
        let mut values =
            serde_json::Deserializer::from_str(tail.trim_start()).into_iter::<serde_json::Value>();
        if let Some(Ok(value)) = values.next()
            && (value.is_string() || value.is_number())
        {
            out.push((key.to_owned(), value));
        }
    }
}

#[derive(Debug, Clone)]
pub struct Profile {
    name: String,
    dir: PathBuf,
}

impl Profile {
    /// Opens (and creates) the profile `name` under `base_dir`. The name becomes a
    /// directory name, so it is validated like a member id.
    pub fn open(base_dir: &Path, name: &str) -> Result<Profile> {
        crate::account::validate_member_id(name).map_err(|_| {
            Problem::new(
                ProblemCode::InvalidSettings,
                "a profile name is 1 to 32 lowercase letters, digits, '.', '_' or '-'",
            )
        })?;
        let dir = base_dir.join("profiles").join(name);
        crate::durable::private_dir(&dir)?;
        Ok(Profile {
            name: name.to_owned(),
            dir,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// Where a team server hosted in the app keeps its data (its store, its own cache).
    pub fn hosted_server_dir(&self) -> PathBuf {
        self.dir.join("team-server")
    }

    /// Drafts being written on this computer.
    pub fn drafts_dir(&self) -> PathBuf {
        self.dir.join("drafts")
    }

    /// Messages on their way out.
    pub fn outbox_dir(&self) -> PathBuf {
        self.dir.join("outbox")
    }

    pub fn compose_settings(&self) -> Result<ComposeSettings> {
        Ok(self.read_or_set_aside(COMPOSE_FILE)?.unwrap_or_default())
    }

    pub fn save_compose_settings(&self, settings: &ComposeSettings) -> Result<()> {
        if settings.undo_seconds > MAX_UNDO_SECONDS {
            return Err(Problem::new(
                ProblemCode::InvalidSettings,
                "the undo window is at most two minutes",
            ));
        }
        self.write(COMPOSE_FILE, Some(settings))
    }

    pub fn notification_settings(&self) -> Result<NotificationSettings> {
        Ok(self.read_or_set_aside(NOTIFY_FILE)?.unwrap_or_default())
    }

    pub fn save_notification_settings(&self, settings: &NotificationSettings) -> Result<()> {
        self.write(NOTIFY_FILE, Some(settings))
    }

    /// The saved account. A damaged file does not stop Baton: it is moved aside to
    /// `account.json.damaged`, what could be read of it is kept for the set-up form, and
    /// the member is back at set-up.
    pub fn account(&self) -> Result<Option<AccountSettings>> {
        match self.read(ACCOUNT_FILE) {
            Err(problem) if problem.code == ProblemCode::InvalidSettings => {
                tracing::warn!("account settings damaged: {problem} ({:?})", problem.detail);
                let path = self.dir.join(ACCOUNT_FILE);
                let bytes = std::fs::read(&path).unwrap_or_default();
                self.write(
                    RECOVERED_FILE,
                    Some(&RecoveredAccount::from_damaged(&bytes)),
                )?;
                std::fs::rename(&path, self.dir.join(format!("{ACCOUNT_FILE}.damaged")))
                    .map_err(|e| file_problem(&path, e))?;
                Ok(None)
            }
            other => other,
        }
    }

    fn recovered(&self) -> Option<RecoveredAccount> {
        self.read(RECOVERED_FILE).ok().flatten()
    }

    /// The team server this member connects to, if any.
    pub fn team_server(&self) -> Result<Option<TeamServerSettings>> {
        self.read_or_set_aside(TEAM_FILE)
    }

    pub fn save_team_server(&self, settings: Option<&TeamServerSettings>) -> Result<()> {
        if let Some(settings) = settings {
            settings.validate()?;
        }
        self.write(TEAM_FILE, settings)
    }

    /// Whether this computer hosts the team server, and how.
    pub fn hosting(&self) -> Result<Option<HostSettings>> {
        self.read_or_set_aside(HOST_FILE)
    }

    pub fn save_hosting(&self, settings: Option<&HostSettings>) -> Result<()> {
        self.write(HOST_FILE, settings)
    }

    /// Reads `file`; a damaged one is moved aside (`<file>.damaged`) and read as absent,
    /// so the member sets it again instead of Baton not starting.
    fn read_or_set_aside<T: serde::de::DeserializeOwned>(&self, file: &str) -> Result<Option<T>> {
        match self.read(file) {
            Err(problem) if problem.code == ProblemCode::InvalidSettings => {
                tracing::warn!(
                    "{file} damaged, set aside: {problem} ({:?})",
                    problem.detail
                );
                let path = self.dir.join(file);
                std::fs::rename(&path, self.dir.join(format!("{file}.damaged")))
                    .map_err(|e| file_problem(&path, e))?;
                Ok(None)
            }
            other => other,
        }
    }

    fn read<T: serde::de::DeserializeOwned>(&self, file: &str) -> Result<Option<T>> {
        let path = self.dir.join(file);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Problem::new(ProblemCode::InvalidSettings, "saved settings are damaged")
                    .with_detail(format!("{}: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_problem(&path, e)),
        }
    }

    /// Saves the settings (never a password).
    pub fn save_account(&self, settings: &AccountSettings) -> Result<()> {
        settings.validate()?;
        self.write(ACCOUNT_FILE, Some(settings))?;
        // The form was filled in again: what was recovered has served.
        self.write::<RecoveredAccount>(RECOVERED_FILE, None)
    }

    /// Writes `file` atomically (a crash leaves the old or the new file, not half of
    /// one); `None` removes it.
    fn write<T: Serialize>(&self, file: &str, settings: Option<&T>) -> Result<()> {
        let path = self.dir.join(file);
        let Some(settings) = settings else {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(file_problem(&path, e)),
                _ => Ok(()),
            };
        };
        let json = serde_json::to_vec_pretty(settings).map_err(|e| {
            Problem::new(
                ProblemCode::InvalidSettings,
                "the settings could not be written",
            )
            .with_detail(e.to_string())
        })?;
        // Synced and renamed like the outbox: a power cut leaves the old file or the new.
        crate::durable::write(&path, &json)
    }

    pub fn setup_state(&self) -> Result<SetupState> {
        let account = self.account()?;
        Ok(SetupState {
            profile: self.name.clone(),
            recovered: account.is_none().then(|| self.recovered()).flatten(),
            account,
        })
    }
}

fn file_problem(path: &Path, e: std::io::Error) -> Problem {
    Problem::new(
        ProblemCode::FileFailed,
        format!("could not use {}", path.display()),
    )
    .with_detail(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::{Security, ServerEndpoint};

    fn settings() -> AccountSettings {
        let endpoint = |port| ServerEndpoint {
            host: "mail.example.com".into(),
            port,
            security: Security::Tls,
        };
        AccountSettings {
            member_id: "anna".into(),
            display_name: "Anna de Vries".into(),
            shared_address: "support@example.com".into(),
            imap: endpoint(993),
            smtp: endpoint(465),
            username: "anna@example.com".into(),
            extra_ca_file: None,
        }
    }

    #[test]
    fn account_round_trip_and_no_password_on_disk() {
        let base = tempfile::tempdir().expect("tempdir");
        let profile = Profile::open(base.path(), "anna").expect("open");
        assert_eq!(profile.account().expect("read"), None);
        profile.save_account(&settings()).expect("save");
        assert_eq!(profile.account().expect("read"), Some(settings()));
        let on_disk = std::fs::read_to_string(profile.dir().join(ACCOUNT_FILE)).expect("file");
        assert!(!on_disk.to_lowercase().contains("password"));
    }

    #[test]
    fn a_damaged_account_file_brings_set_up_back_with_what_could_be_read() {
        let base = tempfile::tempdir().expect("tempdir");
        let profile = Profile::open(base.path(), "anna").expect("open");
        profile.save_account(&settings()).expect("save");
        let path = profile.dir().join(ACCOUNT_FILE);
        let full = std::fs::read(&path).expect("file");
        // Cut off inside the SMTP server's settings, as a full disk or a crash leaves it.
        let cut = full.len() * 3 / 5;
        std::fs::write(&path, &full[..cut]).expect("truncate");

        assert_eq!(profile.account().expect("no error"), None, "back to set-up");
        assert!(
            profile.dir().join("account.json.damaged").is_file(),
            "kept aside"
        );
        let state = profile.setup_state().expect("setup state");
        assert_eq!(state.account, None);
        let recovered = state.recovered.expect("something was read");
        assert_eq!(recovered.member_id.as_deref(), Some("anna"));
        assert_eq!(recovered.display_name.as_deref(), Some("Anna de Vries"));
        assert_eq!(
            recovered.shared_address.as_deref(),
            Some("support@example.com")
        );
        assert_eq!(recovered.imap_host.as_deref(), Some("mail.example.com"));
        assert_eq!(recovered.imap_port, Some(993));
        assert_eq!(recovered.username, None, "after the cut");

        // Saving the form again forgets what was recovered.
        profile.save_account(&settings()).expect("save");
        let state = profile.setup_state().expect("setup state");
        assert_eq!(state.account, Some(settings()));
        assert_eq!(state.recovered, None);
    }

    #[test]
    fn recovery_reads_json_that_parses_but_does_not_fit_and_skips_garbage() {
        let fits_not = br#"{"member_id":"bram","imap":{"host":"imap.example.com","port":993,"security":"weird"},"smtp":{"host":"smtp.example.com","port":99999}}"#;
        let r = RecoveredAccount::from_damaged(fits_not);
        assert_eq!(r.member_id.as_deref(), Some("bram"));
        assert_eq!(r.imap_host.as_deref(), Some("imap.example.com"));
        assert_eq!(r.smtp_host.as_deref(), Some("smtp.example.com"));
        assert_eq!(r.smtp_port, None, "not a port");
        assert_eq!(
            RecoveredAccount::from_damaged(b"\xff\xfe\0garbage"),
            RecoveredAccount::default()
        );
        let control = br#"{"display_name":"Anna\u0007"}"#;
        assert_eq!(RecoveredAccount::from_damaged(control).display_name, None);
    }

    #[test]
    fn damaged_team_and_hosting_files_are_set_aside_not_fatal() {
        let base = tempfile::tempdir().expect("tempdir");
        let profile = Profile::open(base.path(), "anna").expect("open");
        for file in [HOST_FILE, TEAM_FILE, COMPOSE_FILE, NOTIFY_FILE] {
            std::fs::write(profile.dir().join(file), b"{\"half\": ").expect("damage");
        }
        assert_eq!(profile.hosting().expect("no error"), None);
        assert_eq!(profile.team_server().expect("no error"), None);
        assert_eq!(
            profile.compose_settings().expect("no error"),
            ComposeSettings::default()
        );
        assert_eq!(
            profile.notification_settings().expect("no error"),
            NotificationSettings::default()
        );
        for file in [HOST_FILE, TEAM_FILE, COMPOSE_FILE, NOTIFY_FILE] {
            assert!(
                profile.dir().join(format!("{file}.damaged")).is_file(),
                "{file}"
            );
        }
    }

    #[test]
    fn hostile_profile_names_are_refused() {
        let base = tempfile::tempdir().expect("tempdir");
        for name in ["../etc", "a/b", "", "A"] {
            assert!(Profile::open(base.path(), name).is_err(), "{name}");
        }
    }
}
