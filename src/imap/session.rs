//! One logged-in IMAP connection and the commands Baton sends over it.
//!
//! Commands go out with async-imap's `run_command` and their responses are read here
//! until the tagged completion, so that a `NO` or `BAD` is never mistaken for an empty
//! result, and untagged news from other clients (new mail, flag changes, expunges) is
//! noticed instead of dropped.

use std::ops::RangeInclusive;
use std::time::Duration;

use async_imap::imap_proto::{
    AttributeValue, MailboxDatum, NameAttribute, Response, ResponseCode, Status,
};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::command::quoted;
use super::headers::{self, Fetched};
use crate::account::ServerEndpoint;
use crate::conversation::FolderRole;
use crate::problem::{Problem, ProblemCode, Result};
use crate::store::record::FlagUpdate;

pub type ImapStream = tokio_rustls::client::TlsStream<TcpStream>;

/// How long the server may stay silent in the middle of a command.
const READ_TIMEOUT: Duration = Duration::from_secs(90);
/// A large sent copy (attachments) may take a while to upload.
const APPEND_TIMEOUT: Duration = Duration::from_secs(600);

/// What the server supports, read once after login.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCaps {
    pub condstore: bool,
    pub qresync: bool,
    pub idle: bool,
    pub special_use: bool,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub ok: bool,
    /// `NO` (refused) rather than `BAD` (not understood).
    pub refused: bool,
    pub text: String,
}

impl Completion {
    pub fn into_result(self, what: &str) -> Result<Completion> {
        if self.ok {
            Ok(self)
        } else {
            Err(Problem::new(
                ProblemCode::ServerRefused,
                format!("the server refused {what}"),
            )
            .with_detail(self.text))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderInfo {
    /// The name as the server spells it (modified UTF-7); used in commands.
    pub name: String,
    pub role: FolderRole,
    pub selectable: bool,
}

/// The state of a folder the server reports on SELECT, with what QRESYNC says changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectInfo {
    pub uid_validity: u32,
    pub uid_next: u32,
    pub exists: u32,
    pub highest_modseq: Option<u64>,
    pub permanent_flags: Vec<String>,
    /// The flags and keywords the folder knows (the untagged FLAGS answer); a keyword
    /// that was ever stored in the folder stays in it.
    pub flags: Vec<String>,
    /// UIDs expunged since the modseq we gave (QRESYNC).
    pub vanished: Vec<RangeInclusive<u32>>,
    /// Messages whose flags changed since the modseq we gave (QRESYNC).
    pub changed: Vec<FlagUpdate>,
    /// Whether QRESYNC parameters were sent, so `vanished`/`changed` are complete.
    pub qresync_used: bool,
}

/// What a conditional STORE did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// New flags and modseqs of the messages that were changed.
    pub updates: Vec<FlagUpdate>,
    /// Messages left alone because someone changed them since the given modseq.
    pub modified: Vec<u32>,
}

/// Why IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleEnd {
    /// The server reported a change in the folder.
    Changed,
    /// The time limit passed; re-issue IDLE (servers drop it after 30 minutes).
    TimedOut,
    /// Someone asked for the connection.
    Woken,
}

pub struct ImapSession {
    inner: Option<async_imap::Session<ImapStream>>,
    caps: ServerCaps,
    label: String,
    /// The selected folder changed under us since the last `take_changed`.
    changed: bool,
}

impl ImapSession {
    pub(super) async fn start(
        inner: async_imap::Session<ImapStream>,
        endpoint: &ServerEndpoint,
    ) -> Result<Self> {
        let mut session = ImapSession {
            inner: Some(inner),
            caps: ServerCaps::default(),
            label: format!("{}:{}", endpoint.host, endpoint.port),
            changed: false,
        };
        let capabilities = session
            .inner()?
            .capabilities()
            .await
            .map_err(|e| session.lost(e.to_string()))?;
        session.caps = ServerCaps {
            condstore: capabilities.has_str("CONDSTORE") || capabilities.has_str("QRESYNC"),
            qresync: capabilities.has_str("QRESYNC"),
            idle: capabilities.has_str("IDLE"),
            special_use: capabilities.has_str("SPECIAL-USE"),
        };
        if !capabilities.has_str("IMAP4rev1") && !capabilities.has_str("IMAP4rev2") {
            return Err(Problem::new(
                ProblemCode::ServerUnsupported,
                format!("{} does not speak IMAP4rev1", session.label),
            ));
        }
        if session.caps.qresync {
            // With QRESYNC, expunges arrive as VANISHED with UIDs and pushed FETCHes
            // carry UIDs; without it neither does.
            let done = session.execute("ENABLE QRESYNC", |_| {}).await?;
            session.caps.qresync = done.ok;
        }
        Ok(session)
    }

    pub fn caps(&self) -> ServerCaps {
        self.caps
    }

    /// Whether the selected folder changed (new mail, flags, expunges) since last asked.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    fn inner(&mut self) -> Result<&mut async_imap::Session<ImapStream>> {
        self.inner.as_mut().ok_or_else(|| {
            Problem::new(
                ProblemCode::ConnectionLost,
                "the connection was lost during IDLE",
            )
        })
    }

    fn lost(&self, detail: String) -> Problem {
        Problem::new(
            ProblemCode::ConnectionLost,
            format!("the connection to {} broke", self.label),
        )
        .with_detail(detail)
    }

    /// Sends `command` and passes every untagged response to `on_data` until the command
    /// completes. Changes to the selected folder are also remembered for `take_changed`.
    pub async fn execute<F>(&mut self, command: &str, mut on_data: F) -> Result<Completion>
    where
        F: FnMut(&Response<'_>),
    {
        let label = self.label.clone();
        let lost = |detail: String| {
            Problem::new(
                ProblemCode::ConnectionLost,
                format!("the connection to {label} broke"),
            )
            .with_detail(detail)
        };
        let inner = self.inner()?;
        let tag = inner
            .run_command(command)
            .await
            .map_err(|e| lost(e.to_string()))?;
        let mut changed = false;
        loop {
            let response = tokio::time::timeout(READ_TIMEOUT, inner.read_response())
                .await
                .map_err(|_| {
                    Problem::new(ProblemCode::Timeout, format!("{label} stopped answering"))
                })?
                .map_err(|e| {
                    // An answer the parser cannot read leaves the stream in an unknown
                    // state; the connection is dropped and re-established.
                    Problem::new(
                        ProblemCode::ProtocolError,
                        format!("{label} sent an answer Baton cannot read"),
                    )
                    .with_detail(e.to_string())
                })?
                .ok_or_else(|| lost("the server closed the connection".into()))?;
            match response.parsed() {
                Response::Done {
                    tag: done_tag,
                    status,
                    outcome,
                } if *done_tag == tag => {
                    self.changed |= changed;
                    return Ok(Completion {
                        ok: matches!(status, Status::Ok),
                        refused: matches!(status, Status::No),
                        text: outcome
                            .information
                            .as_deref()
                            .unwrap_or_default()
                            .to_owned(),
                    });
                }
                Response::Data {
                    status: Status::Bye,
                    outcome,
                } => {
                    return Err(lost(format!(
                        "the server said goodbye: {}",
                        outcome.information.as_deref().unwrap_or_default()
                    )));
                }
                other => {
                    changed |= matches!(
                        other,
                        Response::Expunge(_)
                            | Response::Vanished { .. }
                            | Response::MailboxData(MailboxDatum::Exists(_))
                    );
                    on_data(other);
                }
            }
        }
    }

    pub async fn list_folders(&mut self) -> Result<Vec<FolderInfo>> {
        let command = if self.caps.special_use {
            "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
        } else {
            "LIST \"\" \"*\""
        };
        let mut folders = Vec::new();
        self.execute(command, |response| {
            if let Response::MailboxData(MailboxDatum::List(list)) = response {
                let mut role = None;
                let mut selectable = true;
                for attribute in &list.name_attributes {
                    match attribute {
                        NameAttribute::NoSelect => selectable = false,
                        NameAttribute::Extension(name)
                            if name.eq_ignore_ascii_case("\\NonExistent") =>
                        {
                            selectable = false
                        }
                        NameAttribute::Sent => role = Some(FolderRole::Sent),
                        NameAttribute::Drafts => role = Some(FolderRole::Drafts),
                        NameAttribute::Trash => role = Some(FolderRole::Trash),
                        NameAttribute::Junk => role = Some(FolderRole::Junk),
                        NameAttribute::Archive => role = Some(FolderRole::Archive),
                        _ => {}
                    }
                }
                let name = list.name.to_string();
                let role = role.unwrap_or_else(|| role_from_name(&name));
                folders.push(FolderInfo {
                    name,
                    role,
                    selectable,
                });
            }
        })
        .await?
        .into_result("to list the folders")?;
        Ok(folders)
    }

    /// Selects `folder`. With `known` = (UIDVALIDITY, HIGHESTMODSEQ) from the cache and a
    /// QRESYNC server, the answer includes what was expunged and changed since then.
    pub async fn select(&mut self, folder: &str, known: Option<(u32, u64)>) -> Result<SelectInfo> {
        let name = quoted(folder)?;
        let mut info = SelectInfo::default();
        let command = match known {
            Some((validity, modseq)) if self.caps.qresync && modseq > 0 => {
                info.qresync_used = true;
                format!("SELECT {name} (QRESYNC ({validity} {modseq}))")
            }
            _ if self.caps.condstore => format!("SELECT {name} (CONDSTORE)"),
            _ => format!("SELECT {name}"),
        };
        self.execute(&command, |response| match response {
            Response::Data {
                status: Status::Ok,
                outcome,
            } => match &outcome.code {
                Some(ResponseCode::UidValidity(v)) => info.uid_validity = *v,
                Some(ResponseCode::UidNext(n)) => info.uid_next = *n,
                Some(ResponseCode::HighestModSeq(m)) => info.highest_modseq = Some(*m),
                Some(ResponseCode::PermanentFlags(flags)) => {
                    info.permanent_flags = flags.iter().map(|f| f.to_string()).collect();
                }
                _ => {}
            },
            Response::MailboxData(MailboxDatum::Exists(n)) => info.exists = *n,
            Response::MailboxData(MailboxDatum::Flags(flags)) => {
                info.flags = flags.iter().map(|f| f.to_lowercase()).collect();
            }
            Response::Vanished { uids, .. } => info.vanished.extend(uids.iter().cloned()),
            Response::Fetch(_, attributes) => {
                if let Some(update) = flag_update(attributes) {
                    info.changed.push(update);
                }
            }
            _ => {}
        })
        .await?
        .into_result(&format!("to open the folder {folder}"))?;
        // What SELECT reports is the new baseline, not news.
        self.changed = false;
        if info.uid_validity == 0 {
            return Err(Problem::new(
                ProblemCode::ServerUnsupported,
                format!("{} gave no UIDVALIDITY for {folder}", self.label),
            ));
        }
        Ok(info)
    }

    /// The UIDs in `uid_set` that exist in the selected folder. A FETCH of the UID alone
    /// rather than SEARCH: a SEARCH answer is one line with every UID, which the parser
    /// re-reads from its start as each piece arrives — quadratic for a large folder.
    pub async fn uids(&mut self, uid_set: &str) -> Result<Vec<u32>> {
        let mut uids = Vec::new();
        self.execute(&format!("UID FETCH {uid_set} (UID)"), |response| {
            if let Response::Fetch(_, attributes) = response {
                for attribute in attributes {
                    if let AttributeValue::Uid(uid) = attribute {
                        uids.push(*uid);
                    }
                }
            }
        })
        .await?
        .into_result("to list the messages")?;
        uids.sort_unstable();
        uids.dedup();
        Ok(uids)
    }

    /// Fetches the cached headers of `uid_set` (a UID set string) in the selected folder.
    /// Items arrive through `on_item` as they are read.
    pub async fn fetch_headers<F>(&mut self, uid_set: &str, mut on_item: F) -> Result<Completion>
    where
        F: FnMut(Fetched),
    {
        let command = format!(
            "UID FETCH {uid_set} {}",
            headers::fetch_items(self.caps.condstore)
        );
        self.execute(&command, |response| {
            if let Response::Fetch(_, attributes) = response
                && let Some(item) = headers::fetched(attributes)
            {
                on_item(item);
            }
        })
        .await
    }

    /// Flags of messages changed since `modseq` (CONDSTORE), or of all messages.
    pub async fn fetch_flags(&mut self, since_modseq: Option<u64>) -> Result<Vec<FlagUpdate>> {
        let command = match since_modseq {
            Some(modseq) if self.caps.condstore => {
                format!("UID FETCH 1:* (UID FLAGS MODSEQ) (CHANGEDSINCE {modseq})")
            }
            _ if self.caps.condstore => "UID FETCH 1:* (UID FLAGS MODSEQ)".to_owned(),
            _ => "UID FETCH 1:* (UID FLAGS)".to_owned(),
        };
        let mut updates = Vec::new();
        self.execute(&command, |response| {
            if let Response::Fetch(_, attributes) = response {
                updates.extend(flag_update(attributes));
            }
        })
        .await?
        .into_result("to read the flags")?;
        Ok(updates)
    }

    /// Flags and modseqs of the messages `uids` of the selected folder, read afresh.
    pub async fn fetch_flags_of(&mut self, uids: &[u32]) -> Result<Vec<FlagUpdate>> {
        let items = if self.caps.condstore {
            "(UID FLAGS MODSEQ)"
        } else {
            "(UID FLAGS)"
        };
        let command = format!("UID FETCH {} {items}", super::command::uid_set(uids));
        let mut updates = Vec::new();
        self.execute(&command, |response| {
            if let Response::Fetch(_, attributes) = response {
                updates.extend(flag_update(attributes));
            }
        })
        .await?
        .into_result("to read the flags")?;
        // Pushed FETCHes of other messages may arrive in between: keep the ones asked for.
        updates.retain(|u| uids.contains(&u.uid));
        Ok(updates)
    }

    /// Bytes `offset..offset+len` of each message in `uid_set` (`BODY.PEEK[]<offset.len>`),
    /// by UID. Messages that no longer exist are simply absent.
    pub async fn fetch_partial(
        &mut self,
        uid_set: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<(u32, Vec<u8>)>> {
        let command = format!("UID FETCH {uid_set} (UID BODY.PEEK[]<{offset}.{len}>)");
        let mut parts = Vec::new();
        let done = self
            .execute(&command, |response| {
                if let Response::Fetch(_, attributes) = response {
                    let mut uid = None;
                    let mut data = None;
                    for attribute in attributes {
                        match attribute {
                            AttributeValue::Uid(u) => uid = Some(*u),
                            AttributeValue::BodySection {
                                data: Some(bytes), ..
                            } => data = Some(bytes.to_vec()),
                            AttributeValue::BodySection { data: None, .. } => {
                                data = Some(Vec::new())
                            }
                            _ => {}
                        }
                    }
                    if let (Some(uid), Some(data)) = (uid, data) {
                        parts.push((uid, data));
                    }
                }
            })
            .await?;
        // Dovecot answers NO for a message it cannot read but still returns the others.
        if !done.ok && parts.is_empty() {
            return Err(Problem::new(
                ProblemCode::ServerRefused,
                "the server could not return the message",
            )
            .with_detail(done.text));
        }
        Ok(parts)
    }

    /// Waits in IDLE until the folder changes, `limit` passes, or `wake` is notified.
    /// Keep-alive chatter (`* OK Still here`) does not end it.
    pub async fn idle(&mut self, limit: Duration, wake: &Notify) -> Result<IdleEnd> {
        if self.take_changed() {
            return Ok(IdleEnd::Changed);
        }
        let session = self
            .inner
            .take()
            .ok_or_else(|| self.lost("no session".into()))?;
        let mut handle = session.idle();
        if let Err(e) = handle.init().await {
            return Err(self.lost(format!("IDLE failed: {e}")));
        }
        let end = {
            let (wait, interrupt) = handle.wait_with_timeout(limit);
            tokio::pin!(wait);
            let deadline = tokio::time::sleep(limit);
            tokio::pin!(deadline);
            let result = tokio::select! {
                result = &mut wait => result,
                _ = wake.notified() => { drop(interrupt); wait.await.map(|_| async_imap::extensions::idle::IdleResponse::ManualInterrupt) }
                _ = &mut deadline => { drop(interrupt); wait.await.map(|_| async_imap::extensions::idle::IdleResponse::Timeout) }
            };
            use async_imap::extensions::idle::IdleResponse;
            match result {
                Ok(IdleResponse::NewData(_)) => Ok(IdleEnd::Changed),
                Ok(IdleResponse::Timeout) => Ok(IdleEnd::TimedOut),
                Ok(IdleResponse::ManualInterrupt) => Ok(IdleEnd::Woken),
                Err(e) => Err(e.to_string()),
            }
        };
        let end = end.map_err(|e| self.lost(e))?;
        let session = tokio::time::timeout(READ_TIMEOUT, handle.done())
            .await
            .map_err(|_| {
                Problem::new(
                    ProblemCode::Timeout,
                    format!("{} stopped answering", self.label),
                )
            })?
            .map_err(|e| self.lost(e.to_string()))?;
        self.inner = Some(session);
        Ok(end)
    }

    /// Adds or removes keywords on `uids` of the selected folder, but only on messages
    /// unchanged since `unchanged_since` (RFC 7162 conditional STORE). Keywords must
    /// already be valid atoms (the contract's codec makes them).
    pub async fn store_keywords(
        &mut self,
        uids: &[u32],
        unchanged_since: u64,
        add: bool,
        keywords: &[String],
    ) -> Result<StoreOutcome> {
        if keywords.iter().any(|k| !is_atom(k)) {
            return Err(Problem::new(
                ProblemCode::InvalidSettings,
                "a keyword is not a valid IMAP atom",
            ));
        }
        let sign = if add { '+' } else { '-' };
        let command = format!(
            "UID STORE {} (UNCHANGEDSINCE {unchanged_since}) {sign}FLAGS ({})",
            super::command::uid_set(uids),
            keywords.join(" ")
        );
        let mut updates = Vec::new();
        let completion = self
            .execute(&command, |response| {
                if let Response::Fetch(_, attributes) = response {
                    updates.extend(flag_update(attributes));
                }
            })
            .await?;
        if !completion.ok {
            return Err(Problem::new(
                ProblemCode::ServerRefused,
                "the server refused to store the team state",
            )
            .with_detail(completion.text));
        }
        // `OK [MODIFIED 7,9] …`: imap-proto does not know the code and leaves it in the text.
        let modified = modified_uids(&completion.text);
        Ok(StoreOutcome { updates, modified })
    }

    /// Makes `keyword` known to the selected folder by adding it to message `uid` and
    /// taking it off again. Dovecot lets two conditional stores both win when they bring
    /// a keyword the folder has never had; one that is already known is decided right.
    pub async fn register_keyword(&mut self, uid: u32, keyword: &str) -> Result<()> {
        if !is_atom(keyword) {
            return Err(Problem::new(
                ProblemCode::InvalidSettings,
                "a keyword is not a valid IMAP atom",
            ));
        }
        for sign in ['+', '-'] {
            self.execute(
                &format!("UID STORE {uid} {sign}FLAGS.SILENT ({keyword})"),
                |_| {},
            )
            .await?
            .into_result("to store the team state")?;
        }
        Ok(())
    }

    /// Stores a message in `folder` (a sent copy, a draft, a template) with `flags`
    /// (system flags such as `\\Seen`, written by Baton, never user text).
    pub async fn append(&mut self, folder: &str, flags: &str, message: &[u8]) -> Result<()> {
        // async-imap quotes the name itself; this only refuses what cannot be quoted.
        quoted(folder)?;
        let label = self.label.clone();
        let flags = (!flags.is_empty()).then(|| format!("({flags})"));
        let result = tokio::time::timeout(
            APPEND_TIMEOUT,
            self.inner()?
                .append(folder, flags.as_deref(), None, message),
        )
        .await
        .map_err(|_| Problem::new(ProblemCode::Timeout, format!("{label} stopped answering")))?;
        result.map_err(|e| match e {
            async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => {
                Problem::new(
                    ProblemCode::ServerRefused,
                    "the server refused to store the message",
                )
                .with_detail(text)
            }
            other => self.lost(other.to_string()),
        })
    }

    /// UIDs in the selected folder of messages whose Message-ID is `message_id`
    /// (without brackets).
    pub async fn search_message_id(&mut self, message_id: &str) -> Result<Vec<u32>> {
        let needle = quoted(&format!("<{message_id}>"))?;
        let mut uids = Vec::new();
        self.execute(
            &format!("UID SEARCH HEADER Message-ID {needle}"),
            |response| {
                if let Response::MailboxData(MailboxDatum::Search(found)) = response {
                    uids.extend(found.iter().copied());
                }
            },
        )
        .await?
        .into_result("to search the folder")?;
        Ok(uids)
    }

    /// Adds (or removes) system flags on `uids` of the selected folder.
    pub async fn store_flags(&mut self, uids: &[u32], add: bool, flags: &str) -> Result<()> {
        if !flags
            .split(' ')
            .all(|f| f.starts_with('\\') && is_atom(&f[1..]))
        {
            return Err(Problem::new(
                ProblemCode::InvalidSettings,
                "a flag is not a valid IMAP system flag",
            ));
        }
        let sign = if add { '+' } else { '-' };
        self.execute(
            &format!(
                "UID STORE {} {sign}FLAGS.SILENT ({flags})",
                super::command::uid_set(uids)
            ),
            |_| {},
        )
        .await?
        .into_result("to store flags")?;
        Ok(())
    }

    /// Adds (`add`) or removes a keyword on `uids` of the selected folder, without
    /// condition (the note keyword: it only ever says "there are notes").
    pub async fn set_keyword(&mut self, uids: &[u32], add: bool, keyword: &str) -> Result<()> {
        if !is_atom(keyword) || keyword.starts_with('\\') {
            return Err(Problem::new(
                ProblemCode::InvalidSettings,
                "a keyword is not a valid IMAP atom",
            ));
        }
        let sign = if add { '+' } else { '-' };
        self.execute(
            &format!(
                "UID STORE {} {sign}FLAGS.SILENT ({keyword})",
                super::command::uid_set(uids)
            ),
            |_| {},
        )
        .await?
        .into_result("to store a keyword")?;
        Ok(())
    }

    /// Creates `folder`; one that exists already is fine.
    pub async fn create_folder(&mut self, folder: &str) -> Result<()> {
        let name = quoted(folder)?;
        let done = self.execute(&format!("CREATE {name}"), |_| {}).await?;
        if !done.ok && !done.text.to_ascii_uppercase().contains("ALREADYEXISTS") {
            // Some servers say "exists" without the response code; a real failure shows
            // on the next SELECT.
            tracing::debug!("CREATE {folder}: {}", done.text);
        }
        Ok(())
    }

    /// Removes `uids` of the selected folder for good (UIDPLUS), or marks them deleted
    /// where the server cannot expunge single messages.
    pub async fn expunge_uids(&mut self, uids: &[u32]) -> Result<()> {
        self.store_flags(uids, true, "\\Deleted").await?;
        let set = super::command::uid_set(uids);
        self.execute(&format!("UID EXPUNGE {set}"), |_| {}).await?;
        Ok(())
    }

    pub async fn noop(&mut self) -> Result<()> {
        self.execute("NOOP", |_| {}).await?.into_result("NOOP")?;
        Ok(())
    }

    /// Logs out politely; errors do not matter at this point.
    pub async fn logout(mut self) {
        if let Some(mut session) = self.inner.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), session.logout()).await;
        }
    }
}

/// An IMAP atom: printable ASCII without specials, so it can stand unquoted in a
/// command.
fn is_atom(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|b| b > b' ' && b < 0x7f && !b"(){%*\"\\]".contains(&b))
}

/// The UIDs of a `[MODIFIED <set>]` response code at the start of `text`.
fn modified_uids(text: &str) -> Vec<u32> {
    let Some(rest) = text.trim_start().strip_prefix('[') else {
        return Vec::new();
    };
    let Some((code, _)) = rest.split_once(']') else {
        return Vec::new();
    };
    let mut words = code.split_whitespace();
    if !words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("MODIFIED"))
    {
        return Vec::new();
    }
    let mut uids = Vec::new();
    for part in words.next().unwrap_or_default().split(',') {
        let (low, high) = part.split_once(':').unwrap_or((part, part));
        if let (Ok(low), Ok(high)) = (low.parse::<u32>(), high.parse::<u32>()) {
            let (low, high) = (low.min(high), low.max(high));
            // A set from a server is bounded by what we asked about; cap it anyway.
            uids.extend((low..=high).take(100_000));
        }
    }
    uids
}

/// Flags (and modseq) of a FETCH response that carries a UID.
fn flag_update(attributes: &[AttributeValue<'_>]) -> Option<FlagUpdate> {
    let mut uid = None;
    let mut modseq = 0;
    let mut flags = None;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::ModSeq(m) => modseq = *m,
            AttributeValue::Flags(f) => flags = Some(headers::parse_flags(f)),
            _ => {}
        }
    }
    let (flags, keywords) = flags?;
    Some(FlagUpdate {
        uid: uid?,
        flags,
        keywords,
        modseq,
    })
}

/// Folder roles for servers without SPECIAL-USE, by the names common clients use.
fn role_from_name(name: &str) -> FolderRole {
    let last = name
        .rsplit(['/', '.'])
        .next()
        .unwrap_or(name)
        .to_lowercase();
    if name.eq_ignore_ascii_case("INBOX") {
        return FolderRole::Inbox;
    }
    match last.as_str() {
        "sent" | "sent items" | "sent messages" | "sent mail" | "verzonden" | "verzonden items" => {
            FolderRole::Sent
        }
        "drafts" | "concepten" => FolderRole::Drafts,
        "trash" | "deleted items" | "deleted messages" | "prullenbak" | "verwijderde items" => {
            FolderRole::Trash
        }
        "junk" | "spam" | "junk e-mail" | "ongewenste e-mail" => FolderRole::Junk,
        "archive" | "archief" => FolderRole::Archive,
        _ => FolderRole::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_sets() {
        assert_eq!(
            modified_uids("[MODIFIED 7,9:11] Conditional STORE failed"),
            vec![7, 9, 10, 11]
        );
        assert_eq!(modified_uids("[MODIFIED 3]"), vec![3]);
        assert!(modified_uids("Store completed").is_empty());
        assert!(modified_uids("[HIGHESTMODSEQ 5] done").is_empty());
    }

    #[test]
    fn atoms() {
        assert!(is_atom("baton.claim.anna"));
        assert!(is_atom("$Forwarded"));
        for bad in ["", "a b", "a)", "a\r\n", "\\Seen", "a\"", "ä"] {
            assert!(!is_atom(bad), "{bad}");
        }
    }

    #[test]
    fn roles_by_name() {
        assert_eq!(role_from_name("INBOX"), FolderRole::Inbox);
        assert_eq!(role_from_name("INBOX.Sent Items"), FolderRole::Sent);
        assert_eq!(role_from_name("Verzonden items"), FolderRole::Sent);
        assert_eq!(role_from_name("Projects/Sentinel"), FolderRole::Other);
    }
}
