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

/// What the window needs to know at start: which profile runs, and whether it still needs
/// the first-run account form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetupState {
    pub profile: String,
    pub account: Option<AccountSettings>,
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
        Ok(self.read(COMPOSE_FILE)?.unwrap_or_default())
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
        Ok(self.read(NOTIFY_FILE)?.unwrap_or_default())
    }

    pub fn save_notification_settings(&self, settings: &NotificationSettings) -> Result<()> {
        self.write(NOTIFY_FILE, Some(settings))
    }

    pub fn account(&self) -> Result<Option<AccountSettings>> {
        self.read(ACCOUNT_FILE)
    }

    /// The team server this member connects to, if any.
    pub fn team_server(&self) -> Result<Option<TeamServerSettings>> {
        self.read(TEAM_FILE)
    }

    pub fn save_team_server(&self, settings: Option<&TeamServerSettings>) -> Result<()> {
        if let Some(settings) = settings {
            settings.validate()?;
        }
        self.write(TEAM_FILE, settings)
    }

    /// Whether this computer hosts the team server, and how.
    pub fn hosting(&self) -> Result<Option<HostSettings>> {
        self.read(HOST_FILE)
    }

    pub fn save_hosting(&self, settings: Option<&HostSettings>) -> Result<()> {
        self.write(HOST_FILE, settings)
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
        self.write(ACCOUNT_FILE, Some(settings))
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
        Ok(SetupState {
            profile: self.name.clone(),
            account: self.account()?,
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
    fn hostile_profile_names_are_refused() {
        let base = tempfile::tempdir().expect("tempdir");
        for name in ["../etc", "a/b", "", "A"] {
            assert!(Profile::open(base.path(), name).is_err(), "{name}");
        }
    }
}
