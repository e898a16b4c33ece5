//! A profile is one member's Baton on one computer: its account settings and its cache in
//! one directory. `--profile NAME` lets two members run side by side on one machine.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::account::AccountSettings;
use crate::problem::{Problem, ProblemCode, Result};

const ACCOUNT_FILE: &str = "account.json";

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
        std::fs::create_dir_all(&dir).map_err(|e| file_problem(&dir, e))?;
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

    pub fn account(&self) -> Result<Option<AccountSettings>> {
        let path = self.dir.join(ACCOUNT_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Problem::new(
                    ProblemCode::InvalidSettings,
                    "the saved account settings are damaged",
                )
                .with_detail(format!("{}: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(file_problem(&path, e)),
        }
    }

    /// Saves the settings (never a password) atomically: a crash leaves the old or the new
    /// file, not half of one.
    pub fn save_account(&self, settings: &AccountSettings) -> Result<()> {
        settings.validate()?;
        let path = self.dir.join(ACCOUNT_FILE);
        let tmp = self.dir.join(format!("{ACCOUNT_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(settings).map_err(|e| {
            Problem::new(
                ProblemCode::InvalidSettings,
                "the settings could not be written",
            )
            .with_detail(e.to_string())
        })?;
        std::fs::write(&tmp, json).map_err(|e| file_problem(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| file_problem(&path, e))
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
