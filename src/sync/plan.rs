//! What to do to bring one folder up to date, decided from what the cache knows and what
//! the server said on SELECT. Pure, so every case is tested without a server.

use crate::imap::session::SelectInfo;
use crate::store::persist::FolderState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagSync {
    /// Nothing to do: QRESYNC already reported the changes, or nothing changed.
    None,
    /// Ask for flags changed since this modseq (CONDSTORE).
    ChangedSince(u64),
    /// Read every message's flags (no CONDSTORE); also reveals expunges.
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// The cache's UIDs mean nothing anymore (UIDVALIDITY changed, or never synced).
    pub reset: bool,
    /// Apply the VANISHED/FETCH news that came with a QRESYNC SELECT.
    pub apply_select_news: bool,
    /// Fetch headers of messages with UID ≥ this.
    pub fetch_new_from: Option<u32>,
    pub flags: FlagSync,
    /// Fetch headers of every message below this UID not yet cached, newest first.
    pub backfill_below: Option<u32>,
    /// Compare the message count afterwards and look for expunges when it differs
    /// (servers without QRESYNC report expunges only as counts).
    pub verify_count: bool,
}

pub fn plan(cached: &FolderState, server: &SelectInfo, condstore: bool) -> SyncPlan {
    let fresh = cached.uid_validity == 0
        || cached.uid_validity != server.uid_validity
        || cached.synced_from == 0;
    if fresh {
        return SyncPlan {
            reset: true,
            apply_select_news: false,
            fetch_new_from: None,
            flags: FlagSync::None,
            backfill_below: Some(if server.uid_next > 0 {
                server.uid_next
            } else {
                u32::MAX
            }),
            verify_count: false,
        };
    }
    // Without UIDNEXT from the server, ask from our mark; the caller drops the one
    // message `n:*` returns when nothing is new.
    let fetch_new_from = (server.uid_next == 0 || server.uid_next > cached.uid_next)
        .then_some(cached.uid_next.max(1));
    let flags = if server.qresync_used {
        FlagSync::None
    } else if condstore && cached.highest_modseq > 0 {
        match server.highest_modseq {
            Some(m) if m == cached.highest_modseq => FlagSync::None,
            _ => FlagSync::ChangedSince(cached.highest_modseq),
        }
    } else {
        FlagSync::All
    };
    SyncPlan {
        reset: false,
        apply_select_news: server.qresync_used,
        fetch_new_from,
        flags,
        backfill_below: (cached.synced_from > 1).then_some(cached.synced_from),
        verify_count: !server.qresync_used && flags != FlagSync::All,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(
        uid_validity: u32,
        uid_next: u32,
        highest_modseq: u64,
        synced_from: u32,
    ) -> FolderState {
        FolderState {
            uid_validity,
            uid_next,
            highest_modseq,
            synced_from,
        }
    }

    fn server(
        uid_validity: u32,
        uid_next: u32,
        highest_modseq: Option<u64>,
        qresync_used: bool,
    ) -> SelectInfo {
        SelectInfo {
            uid_validity,
            uid_next,
            exists: 10,
            highest_modseq,
            qresync_used,
            ..Default::default()
        }
    }

    #[test]
    fn never_synced_fetches_everything_newest_first() {
        let p = plan(
            &FolderState::default(),
            &server(7, 101, Some(5), false),
            true,
        );
        assert!(p.reset);
        assert_eq!(p.backfill_below, Some(101));
        assert_eq!(p.fetch_new_from, None);
    }

    #[test]
    fn uidvalidity_change_resets() {
        let p = plan(&cached(7, 101, 5, 1), &server(8, 50, Some(9), false), true);
        assert!(p.reset);
        assert_eq!(p.backfill_below, Some(50));
    }

    #[test]
    fn no_change_with_qresync_does_nothing() {
        let p = plan(&cached(7, 101, 5, 1), &server(7, 101, Some(5), true), true);
        assert_eq!(
            p,
            SyncPlan {
                reset: false,
                apply_select_news: true,
                fetch_new_from: None,
                flags: FlagSync::None,
                backfill_below: None,
                verify_count: false,
            }
        );
    }

    #[test]
    fn new_mail_and_flag_changes_with_condstore_only() {
        let p = plan(&cached(7, 101, 5, 1), &server(7, 103, Some(9), false), true);
        assert_eq!(p.fetch_new_from, Some(101));
        assert_eq!(p.flags, FlagSync::ChangedSince(5));
        assert!(p.verify_count);
        assert!(!p.apply_select_news);
    }

    #[test]
    fn unchanged_modseq_skips_the_flag_fetch() {
        let p = plan(&cached(7, 101, 5, 1), &server(7, 101, Some(5), false), true);
        assert_eq!(p.flags, FlagSync::None);
        assert_eq!(p.fetch_new_from, None);
        assert!(p.verify_count);
    }

    #[test]
    fn without_condstore_reads_all_flags() {
        let p = plan(&cached(7, 101, 0, 1), &server(7, 101, None, false), false);
        assert_eq!(p.flags, FlagSync::All);
        assert!(!p.verify_count, "the full flag list already shows expunges");
    }

    #[test]
    fn interrupted_first_sync_resumes_below_its_mark() {
        let p = plan(&cached(7, 101, 5, 60), &server(7, 104, Some(8), true), true);
        assert!(!p.reset);
        assert_eq!(p.fetch_new_from, Some(101));
        assert_eq!(p.backfill_below, Some(60));
    }

    #[test]
    fn missing_uidnext_still_looks_for_new_mail() {
        let p = plan(&cached(7, 101, 5, 1), &server(7, 0, Some(5), true), true);
        assert_eq!(p.fetch_new_from, Some(101));
    }
}
