//! Files that must survive a crash: written to a temporary name, synced, renamed over
//! the old one, and the directory synced, so a power cut leaves the old file or the new
//! one — never half of one, and never a rename the disk forgot.

use std::io::Write;
use std::path::Path;

use crate::problem::{Problem, ProblemCode, Result};

/// Writes `path` durably, readable by this user only (0600 on Unix: settings, drafts and
/// the outbox hold customer mail and addresses).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| problem(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    // A name of its own per write: two writers of the same file must not share (and
    // rename away) each other's temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(|e| problem(&tmp, e))?;
    file.write_all(bytes).map_err(|e| problem(&tmp, e))?;
    file.sync_all().map_err(|e| problem(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| problem(path, e))?;
    sync_dir(dir)
}

pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(|e| {
        Problem::new(ProblemCode::FileFailed, "could not encode a file").with_detail(e.to_string())
    })?;
    write(path, &json)
}

pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            Problem::new(ProblemCode::FileFailed, "a saved file is damaged")
                .with_detail(format!("{}: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(problem(path, e)),
    }
}

/// Removes a file or directory tree; gone already is fine.
pub fn remove(path: &Path) -> Result<()> {
    let result = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(problem(path, e)),
        _ => Ok(()),
    }
}

/// Creates `dir` (and its parents) and makes it private to this user (0700 on Unix),
/// tightening one that exists: a profile, the team server's store and their caches hold
/// customer mail, and everything below a private directory is out of others' reach
/// whatever the umask gave its files.
pub fn private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| problem(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| problem(dir, e))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Directories can be opened and synced on Unix; elsewhere the rename is what we have.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| problem(dir, e))?;
    Ok(())
}

pub fn problem(path: &Path, e: std::io::Error) -> Problem {
    Problem::new(
        ProblemCode::FileFailed,
        format!("could not use {}", path.display()),
    )
    .with_detail(e.to_string())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn files_and_directories_are_private_to_the_user() {
        let base = tempfile::tempdir().expect("tempdir");
        let dir = base.path().join("profiles").join("anna");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        private_dir(&dir).expect("private");
        assert_eq!(mode(&dir), 0o700, "an existing directory is tightened");
        let file = dir.join("account.json");
        write(&file, b"{}").expect("write");
        assert_eq!(mode(&file), 0o600);
        write(&file, b"{\"again\": 1}").expect("rewrite");
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).expect("read"), b"{\"again\": 1}");
    }
}
