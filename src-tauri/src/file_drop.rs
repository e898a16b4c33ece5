//! Files dropped on the window. The operating system tells the shell which paths were
//! dropped (Tauri's native drag-and-drop); the shell keeps the last drop for a short
//! while, and `attach_dropped` attaches it once. The webview only says "attach what was
//! just dropped": it never names a path, so a compromised page cannot attach (and send)
//! an arbitrary local file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a drop waits for the composer to ask for it.
pub const FRESH_FOR: Duration = Duration::from_secs(30);

/// What the operating system dropped, where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The label of the window the files were dropped on.
    pub window: String,
    pub paths: Vec<PathBuf>,
    pub at: Instant,
}

/// The last drop on any window, until it is used or replaced by the next one.
#[derive(Debug, Default)]
pub struct LastDrop(Mutex<Option<Dropped>>);

impl LastDrop {
    pub fn record(&self, dropped: Dropped) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(dropped);
    }

    /// The last drop, which is forgotten: a drop is used once.
    pub fn take(&self) -> Option<Dropped> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The paths of a drop that can be attached, and the folders in it that cannot.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Usable {
    pub files: Vec<PathBuf>,
    pub folders: Vec<PathBuf>,
}

/// What of `dropped` may be attached for a request from `window` at `now`: nothing when
/// there was no drop, it landed on another window, it is older than [`FRESH_FOR`] or it
/// named no path. Folders (as `is_folder` says) are set apart; anything else goes to the
/// engine, which refuses what it cannot read.
pub fn usable(
    dropped: Option<Dropped>,
    window: &str,
    now: Instant,
    is_folder: impl Fn(&Path) -> bool,
) -> Option<Usable> {
    let dropped = dropped?;
    let fresh = now.saturating_duration_since(dropped.at) <= FRESH_FOR;
    if dropped.window != window || !fresh || dropped.paths.is_empty() {
        return None;
    }
    let (folders, files) = dropped.paths.into_iter().partition(|p| is_folder(p));
    Some(Usable { files, folders })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drop_at(at: Instant, paths: &[&str]) -> Dropped {
        Dropped {
            window: "main".to_owned(),
            paths: paths.iter().map(PathBuf::from).collect(),
            at,
        }
    }

    /// In these tests a path ending in `/` is a folder.
    fn is_folder(path: &Path) -> bool {
        path.to_string_lossy().ends_with('/')
    }

    #[test]
    fn a_fresh_drop_gives_its_files() {
        let at = Instant::now();
        let dropped = drop_at(at, &["/home/anna/invoice.pdf", "/home/anna/photo.jpg"]);
        let usable = usable(
            Some(dropped),
            "main",
            at + Duration::from_secs(2),
            is_folder,
        );
        assert_eq!(
            usable,
            Some(Usable {
                files: vec![
                    "/home/anna/invoice.pdf".into(),
                    "/home/anna/photo.jpg".into()
                ],
                folders: vec![],
            })
        );
    }

    #[test]
    fn a_drop_is_fresh_for_thirty_seconds_and_no_longer() {
        let at = Instant::now();
        let dropped = drop_at(at, &["/home/anna/invoice.pdf"]);
        assert!(usable(Some(dropped.clone()), "main", at + FRESH_FOR, is_folder).is_some());
        let stale = at + FRESH_FOR + Duration::from_millis(1);
        assert_eq!(usable(Some(dropped), "main", stale, is_folder), None);
    }

    #[test]
    fn folders_are_set_apart_from_files() {
        let at = Instant::now();
        let dropped = drop_at(
            at,
            &[
                "/home/anna/Photos/",
                "/home/anna/invoice.pdf",
                "/tmp/scans/",
            ],
        );
        let got = usable(Some(dropped), "main", at, is_folder).expect("a fresh drop");
        assert_eq!(got.files, vec![PathBuf::from("/home/anna/invoice.pdf")]);
        assert_eq!(
            got.folders,
            vec![
                PathBuf::from("/home/anna/Photos/"),
                PathBuf::from("/tmp/scans/")
            ]
        );
    }

    #[test]
    fn only_folders_gives_no_files() {
        let at = Instant::now();
        let usable = usable(
            Some(drop_at(at, &["/home/anna/Photos/"])),
            "main",
            at,
            is_folder,
        );
        assert_eq!(usable.map(|u| u.files.len()), Some(0));
    }

    #[test]
    fn nothing_dropped_an_empty_drop_or_another_window_gives_nothing() {
        let at = Instant::now();
        assert_eq!(usable(None, "main", at, is_folder), None);
        assert_eq!(usable(Some(drop_at(at, &[])), "main", at, is_folder), None);
        let elsewhere = drop_at(at, &["/home/anna/invoice.pdf"]);
        assert_eq!(usable(Some(elsewhere), "settings", at, is_folder), None);
    }

    #[test]
    fn a_drop_is_used_once_and_a_newer_one_replaces_it() {
        let last = LastDrop::default();
        let at = Instant::now();
        last.record(drop_at(at, &["/home/anna/old.pdf"]));
        last.record(drop_at(at, &["/home/anna/new.pdf"]));
        let first = usable(last.take(), "main", at, is_folder).expect("the newer drop");
        assert_eq!(first.files, vec![PathBuf::from("/home/anna/new.pdf")]);
        assert_eq!(
            usable(last.take(), "main", at, is_folder),
            None,
            "the second ask finds nothing"
        );
    }
}
