//! Conversations from Message-ID, In-Reply-To and References (in the spirit of JWZ
//! threading), with two fallbacks for clients that drop the references: Outlook's
//! Thread-Index, and a reply subject from the same correspondent.
//!
//! A conversation is identified by its root: the top-most ancestor known from any
//! message's references, present in the mailbox or not. Its id is a fixed hash of the
//! root's Message-ID, so every client computes the same id for the same conversation.
//! Everything here is pure and incremental: messages are added and removed one at a
//! time, and each call reports the conversations that changed.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use crate::conversation::ConversationId;

/// The store's handle for one message (a folder slot and a UID).
pub type MessageHandle = u64;

/// How far back a reply subject may find its conversation, in milliseconds.
const SUBJECT_WINDOW_MS: i64 = 90 * 24 * 3600 * 1000;
/// Remembered messages per normalized subject; older ones stop matching.
const SUBJECT_ENTRIES: usize = 16;

/// What threading needs of a message.
#[derive(Debug, Clone, Copy)]
pub struct ThreadInput<'a> {
    pub handle: MessageHandle,
    pub message_id: &'a str,
    pub references: &'a [String],
    pub in_reply_to: &'a [String],
    pub subject: &'a str,
    pub date: i64,
    /// Outlook's Thread-Index conversation key, when present.
    pub thread_key: Option<&'a str>,
    /// The customer's address (lowercase), for the subject fallback.
    pub correspondent: Option<&'a str>,
}

/// Conversations whose membership changed in one call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ThreadChanges {
    pub changed: BTreeSet<ConversationId>,
    pub removed: BTreeSet<ConversationId>,
}

impl ThreadChanges {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }

    /// Every conversation touched: changed or removed.
    pub fn all(self) -> BTreeSet<ConversationId> {
        let mut all = self.changed;
        all.extend(self.removed);
        all
    }

    fn touch(&mut self, id: ConversationId) {
        self.removed.remove(&id);
        self.changed.insert(id);
    }

    fn remove(&mut self, id: ConversationId) {
        self.changed.remove(&id);
        self.removed.insert(id);
    }
}

type NodeIndex = u32;

#[derive(Debug)]
struct Node {
    message_id: Arc<str>,
    parent: Option<NodeIndex>,
    /// Usually one; more when the same message is in two folders.
    messages: Vec<MessageHandle>,
}

#[derive(Debug, Clone)]
struct SubjectEntry {
    node: NodeIndex,
    date: i64,
    /// Hash of the customer's address.
    correspondent: u64,
}

#[derive(Debug, Default)]
pub struct Threads {
    nodes: Vec<Node>,
    by_message_id: HashMap<Arc<str>, NodeIndex>,
    by_handle: HashMap<MessageHandle, NodeIndex>,
    /// Root node → the messages of that conversation.
    groups: HashMap<NodeIndex, Vec<MessageHandle>>,
    ids: HashMap<ConversationId, NodeIndex>,
    /// Hash of the normalized subject → recent messages with it.
    by_subject: HashMap<u64, Vec<SubjectEntry>>,
    by_thread_key: HashMap<Box<str>, NodeIndex>,
}

impl Threads {
    pub fn new() -> Threads {
        Threads::default()
    }

    pub fn conversation_count(&self) -> usize {
        self.groups.len()
    }

    /// The conversation a message belongs to.
    pub fn conversation_of(&self, handle: MessageHandle) -> Option<ConversationId> {
        let node = *self.by_handle.get(&handle)?;
        Some(self.id_of(self.root(node)))
    }

    /// The conversation a Message-ID (without brackets) belongs to, by the index the
    /// threading keeps anyway; `None` when no message of it is here.
    pub fn conversation_of_message_id(&self, message_id: &str) -> Option<ConversationId> {
        let root = self.root(*self.by_message_id.get(message_id)?);
        self.groups.contains_key(&root).then(|| self.id_of(root))
    }

    /// The messages of a conversation, in no particular order.
    pub fn messages(&self, id: ConversationId) -> &[MessageHandle] {
        self.ids
            .get(&id)
            .and_then(|root| self.groups.get(root))
            .map_or(&[], Vec::as_slice)
    }

    /// The Message-ID at the root of a conversation (the message itself may be missing).
    pub fn root_message_id(&self, id: ConversationId) -> Option<&str> {
        self.ids
            .get(&id)
            .map(|&root| &*self.nodes[root as usize].message_id)
    }

    pub fn conversation_ids(&self) -> impl Iterator<Item = ConversationId> + '_ {
        self.ids.keys().copied()
    }

    /// Adds a message; the conversations it changes are recorded in `changes`.
    pub fn add(&mut self, input: &ThreadInput<'_>, changes: &mut ThreadChanges) {
        if self.by_handle.contains_key(&input.handle) {
            return;
        }
        let own = self.node(input.message_id);

        // Each References chain says who is whose parent; link what is not linked yet.
        let mut chain: Vec<&str> = Vec::with_capacity(input.references.len() + 1);
        for id in input.references.iter().chain(input.in_reply_to) {
            if id.as_str() != input.message_id && !chain.contains(&id.as_str()) {
                chain.push(id);
            }
        }
        let mut previous: Option<NodeIndex> = None;
        for id in &chain {
            let node = self.node(id);
            if let Some(parent) = previous {
                self.link(node, parent, changes);
            }
            previous = Some(node);
        }
        match previous {
            Some(parent) => self.link(own, parent, changes),
            None => {
                if let Some(parent) = self.fallback_parent(input, own) {
                    self.link(own, parent, changes);
                }
            }
        }

        self.nodes[own as usize].messages.push(input.handle);
        self.by_handle.insert(input.handle, own);
        let root = self.root(own);
        self.groups.entry(root).or_default().push(input.handle);
        let id = self.id_of(root);
        self.ids.insert(id, root);
        changes.touch(id);

        if let Some(key) = input.thread_key {
            self.by_thread_key.entry(key.into()).or_insert(own);
        }
        if let Some(correspondent) = input.correspondent {
            let entries = self
                .by_subject
                .entry(subject_key(input.subject))
                .or_default();
            entries.push(SubjectEntry {
                node: own,
                date: input.date,
                correspondent: fnv(correspondent.as_bytes()),
            });
            if entries.len() > SUBJECT_ENTRIES {
                entries.remove(0);
            }
        }
    }

    /// Removes a message (expunged, or its folder was reset). Its place in the tree stays,
    /// so the structure survives if it comes back.
    pub fn remove(&mut self, handle: MessageHandle, changes: &mut ThreadChanges) {
        let Some(node) = self.by_handle.remove(&handle) else {
            return;
        };
        self.nodes[node as usize].messages.retain(|&h| h != handle);
        let root = self.root(node);
        let id = self.id_of(root);
        if let Some(group) = self.groups.get_mut(&root) {
            group.retain(|&h| h != handle);
            if group.is_empty() {
                self.groups.remove(&root);
                self.ids.remove(&id);
                changes.remove(id);
                return;
            }
        }
        changes.touch(id);
    }

    fn node(&mut self, message_id: &str) -> NodeIndex {
        if let Some(&index) = self.by_message_id.get(message_id) {
            return index;
        }
        let index = self.nodes.len() as NodeIndex;
        self.nodes.push(Node {
            message_id: message_id.into(),
            parent: None,
            messages: Vec::new(),
        });
        self.by_message_id.insert(message_id.into(), index);
        index
    }

    fn root(&self, mut node: NodeIndex) -> NodeIndex {
        while let Some(parent) = self.nodes[node as usize].parent {
            node = parent;
        }
        node
    }

    fn id_of(&self, root: NodeIndex) -> ConversationId {
        conversation_id(&self.nodes[root as usize].message_id)
    }

    /// Makes `parent` the parent of `child` unless `child` already has one or the link
    /// would close a loop. `child` was a root, so its conversation joins the parent's.
    fn link(&mut self, child: NodeIndex, parent: NodeIndex, changes: &mut ThreadChanges) {
        if self.nodes[child as usize].parent.is_some() || self.root(parent) == child {
            return;
        }
        self.nodes[child as usize].parent = Some(parent);
        if let Some(moved) = self.groups.remove(&child) {
            let old = self.id_of(child);
            self.ids.remove(&old);
            changes.remove(old);
            let root = self.root(parent);
            self.groups.entry(root).or_default().extend(moved);
            let id = self.id_of(root);
            self.ids.insert(id, root);
            changes.touch(id);
        }
    }

    /// For a message without references: the conversation its Thread-Index names, or a
    /// recent conversation with the same subject and customer when the subject says it
    /// is a reply.
    fn fallback_parent(&self, input: &ThreadInput<'_>, own: NodeIndex) -> Option<NodeIndex> {
        if let Some(key) = input.thread_key
            && let Some(&node) = self.by_thread_key.get(key)
        {
            let root = self.root(node);
            if root != own && self.groups.contains_key(&root) {
                return Some(root);
            }
        }
        if !is_reply_subject(input.subject) {
            return None;
        }
        let correspondent = fnv(input.correspondent?.as_bytes());
        let entries = self.by_subject.get(&subject_key(input.subject))?;
        entries
            .iter()
            .rev()
            .filter(|e| {
                e.correspondent == correspondent
                    && e.date <= input.date
                    && input.date - e.date <= SUBJECT_WINDOW_MS
            })
            .map(|e| self.root(e.node))
            .find(|root| *root != own && self.groups.contains_key(root))
    }
}

/// A conversation's id from its root Message-ID. FNV-1a: fixed, so every client computes
/// the same (std's hasher is seeded per process).
pub fn conversation_id(root_message_id: &str) -> ConversationId {
    // The UI receives ids as strings, so all 64 bits are safe to use.
    ConversationId(fnv(root_message_id.as_bytes()))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv_feed(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn fnv(bytes: &[u8]) -> u64 {
    fnv_feed(FNV_OFFSET, bytes)
}

/// Hash of `normalize_subject(subject)`, computed without building the string: this runs
/// for every message when a large mailbox is threaded.
fn subject_key(subject: &str) -> u64 {
    let mut rest = subject;
    while let Some((_, tail)) = split_prefix(rest) {
        rest = tail;
    }
    let mut hash = FNV_OFFSET;
    let mut first = true;
    for word in rest.split_whitespace() {
        if !first {
            hash = fnv_feed(hash, b" ");
        }
        first = false;
        if word.is_ascii() {
            for byte in word.bytes() {
                hash = fnv_feed(hash, &[byte.to_ascii_lowercase()]);
            }
            continue;
        }
        for c in word.chars() {
            for lower in c.to_lowercase() {
                let mut buf = [0u8; 4];
                hash = fnv_feed(hash, lower.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    hash
}

/// Reply and forward prefixes in the languages our customers write in.
const REPLY_PREFIXES: &[&str] = &["re", "aw", "antw", "sv", "vs", "odp", "ynt"];
const FORWARD_PREFIXES: &[&str] = &["fw", "fwd", "wg", "tr", "doorst", "fs", "rv"];

/// Splits one leading "Re:" / "RE[2]:" / "Antw:" prefix; returns (prefix, rest).
fn split_prefix(subject: &str) -> Option<(String, &str)> {
    // Cheap exit for the common subject without any colon near the start.
    if !subject.as_bytes().iter().take(12).any(|&b| b == b':') {
        return None;
    }
    let trimmed = subject.trim_start();
    let colon = trimmed.find(':')?;
    let word = &trimmed[..colon];
    let word = word.split_once('[').map_or(word, |(w, _)| w).trim();
    if word.is_empty() || word.len() > 6 || !word.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    if REPLY_PREFIXES.contains(&lower.as_str()) || FORWARD_PREFIXES.contains(&lower.as_str()) {
        Some((lower, &trimmed[colon + 1..]))
    } else {
        None
    }
}

pub fn is_reply_subject(subject: &str) -> bool {
    split_prefix(subject).is_some_and(|(prefix, _)| REPLY_PREFIXES.contains(&prefix.as_str()))
}

/// The subject without reply/forward prefixes, lowercased, whitespace collapsed.
pub fn normalize_subject(subject: &str) -> String {
    let mut rest = subject;
    while let Some((_, tail)) = split_prefix(rest) {
        rest = tail;
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Msg {
        handle: MessageHandle,
        id: &'static str,
        refs: Vec<String>,
        irt: Vec<String>,
        subject: &'static str,
        date: i64,
        key: Option<&'static str>,
        who: Option<&'static str>,
    }

    fn msg(handle: MessageHandle, id: &'static str, refs: &[&str]) -> Msg {
        Msg {
            handle,
            id,
            refs: refs.iter().map(|s| s.to_string()).collect(),
            irt: vec![],
            subject: "Order 1234",
            date: handle as i64 * 1000,
            key: None,
            who: Some("jan@example.nl"),
        }
    }

    fn add(threads: &mut Threads, m: &Msg) -> ThreadChanges {
        let mut changes = ThreadChanges::default();
        threads.add(
            &ThreadInput {
                handle: m.handle,
                message_id: m.id,
                references: &m.refs,
                in_reply_to: &m.irt,
                subject: m.subject,
                date: m.date,
                thread_key: m.key,
                correspondent: m.who,
            },
            &mut changes,
        );
        changes
    }

    fn remove(threads: &mut Threads, handle: MessageHandle) -> ThreadChanges {
        let mut changes = ThreadChanges::default();
        threads.remove(handle, &mut changes);
        changes
    }

    fn sorted(threads: &Threads, id: ConversationId) -> Vec<MessageHandle> {
        let mut v = threads.messages(id).to_vec();
        v.sort();
        v
    }

    #[test]
    fn replies_join_the_original() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        add(&mut t, &msg(2, "b@x", &["a@x"]));
        add(&mut t, &msg(3, "c@x", &["a@x", "b@x"]));
        let id = t.conversation_of(1).expect("threaded");
        assert_eq!(sorted(&t, id), vec![1, 2, 3]);
        assert_eq!(t.conversation_count(), 1);
        assert_eq!(t.root_message_id(id), Some("a@x"));
        assert_eq!(id, conversation_id("a@x"));
    }

    #[test]
    fn in_reply_to_alone_is_enough() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        let mut reply = msg(2, "b@x", &[]);
        reply.irt = vec!["a@x".into()];
        add(&mut t, &reply);
        assert_eq!(t.conversation_of(1), t.conversation_of(2));
    }

    #[test]
    fn reply_before_original_merges_when_original_arrives() {
        let mut t = Threads::new();
        add(&mut t, &msg(2, "b@x", &["a@x"]));
        let before = t.conversation_of(2).expect("threaded");
        // The root is the missing original, so its arrival does not change the id.
        assert_eq!(before, conversation_id("a@x"));
        add(&mut t, &msg(1, "a@x", &[]));
        assert_eq!(t.conversation_of(1), Some(before));
        assert_eq!(t.conversation_count(), 1);
    }

    #[test]
    fn a_message_linking_two_conversations_merges_them() {
        let mut t = Threads::new();
        // b only names its parent by In-Reply-To to a message we never saw…
        let mut b = msg(2, "b@x", &[]);
        b.irt = vec!["missing@x".into()];
        add(&mut t, &b);
        add(&mut t, &msg(1, "a@x", &[]));
        assert_eq!(t.conversation_count(), 2);
        // …until c's References show that missing@x answered a@x.
        let changes = add(&mut t, &msg(3, "c@x", &["a@x", "missing@x", "b@x"]));
        assert_eq!(t.conversation_count(), 1);
        let id = t.conversation_of(3).expect("threaded");
        assert_eq!(id, conversation_id("a@x"));
        assert_eq!(sorted(&t, id), vec![1, 2, 3]);
        assert!(changes.removed.contains(&conversation_id("missing@x")));
        assert!(changes.changed.contains(&id));
    }

    #[test]
    fn reference_loops_do_not_hang_or_merge_wrongly() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &["b@x"]));
        add(&mut t, &msg(2, "b@x", &["a@x"]));
        add(&mut t, &msg(3, "c@x", &["c@x", "a@x"]));
        assert_eq!(t.conversation_count(), 1);
        assert_eq!(
            sorted(&t, t.conversation_of(1).expect("threaded")),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn outlook_reply_without_references_joins_by_subject_and_customer() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        let mut reply = msg(2, "b@x", &[]);
        reply.subject = "RE: Order 1234";
        add(&mut t, &reply);
        assert_eq!(t.conversation_of(1), t.conversation_of(2));
        // Dutch Outlook writes "Antw:".
        let mut reply = msg(3, "c@x", &[]);
        reply.subject = "Antw: RE: order   1234";
        add(&mut t, &reply);
        assert_eq!(t.conversation_of(1), t.conversation_of(3));
    }

    #[test]
    fn same_subject_from_someone_else_or_not_a_reply_starts_a_new_conversation() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        let mut other = msg(2, "b@x", &[]);
        other.subject = "Re: Order 1234";
        other.who = Some("someone@else.example");
        add(&mut t, &other);
        let mut fresh = msg(3, "c@x", &[]);
        fresh.subject = "Order 1234";
        add(&mut t, &fresh);
        let mut forward = msg(4, "d@x", &[]);
        forward.subject = "Fwd: Order 1234";
        add(&mut t, &forward);
        assert_eq!(t.conversation_count(), 4);
    }

    #[test]
    fn subject_fallback_has_a_time_window() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        let mut late = msg(2, "b@x", &[]);
        late.subject = "Re: Order 1234";
        late.date = 1000 + SUBJECT_WINDOW_MS + 1;
        add(&mut t, &late);
        assert_eq!(t.conversation_count(), 2);
    }

    #[test]
    fn thread_index_joins_outlook_replies_even_with_another_subject() {
        let mut t = Threads::new();
        let mut first = msg(1, "a@x", &[]);
        first.key = Some("01d9aabbccdd");
        add(&mut t, &first);
        let mut reply = msg(2, "b@x", &[]);
        reply.key = Some("01d9aabbccdd");
        reply.subject = "Something else entirely";
        add(&mut t, &reply);
        assert_eq!(t.conversation_of(1), t.conversation_of(2));
    }

    #[test]
    fn removing_messages_removes_empty_conversations() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        add(&mut t, &msg(2, "b@x", &["a@x"]));
        let id = t.conversation_of(1).expect("threaded");
        let changes = remove(&mut t, 2);
        assert!(changes.changed.contains(&id));
        assert_eq!(sorted(&t, id), vec![1]);
        let changes = remove(&mut t, 1);
        assert!(changes.removed.contains(&id));
        assert_eq!(t.conversation_count(), 0);
        assert!(remove(&mut t, 1).is_empty());
        // The structure is remembered: the reply comes back into the same conversation.
        add(&mut t, &msg(2, "b@x", &["a@x"]));
        assert_eq!(t.conversation_of(2), Some(id));
    }

    #[test]
    fn the_same_message_in_two_folders_is_one_conversation() {
        let mut t = Threads::new();
        add(&mut t, &msg(1, "a@x", &[]));
        add(&mut t, &msg((1 << 32) | 1, "a@x", &[]));
        assert_eq!(t.conversation_count(), 1);
        assert_eq!(t.messages(t.conversation_of(1).expect("threaded")).len(), 2);
    }

    #[test]
    fn order_of_arrival_does_not_change_the_result() {
        let messages = [
            msg(1, "a@x", &[]),
            msg(2, "b@x", &["a@x"]),
            msg(3, "c@x", &["a@x", "b@x"]),
            msg(4, "d@x", &["z@x"]),
            msg(5, "e@x", &["a@x", "b@x", "c@x"]),
        ];
        let mut forward = Threads::new();
        messages.iter().for_each(|m| {
            add(&mut forward, m);
        });
        let mut backward = Threads::new();
        messages.iter().rev().for_each(|m| {
            add(&mut backward, m);
        });
        for m in &messages {
            assert_eq!(
                forward.conversation_of(m.handle),
                backward.conversation_of(m.handle)
            );
        }
    }

    #[test]
    fn subject_key_matches_the_normalized_subject() {
        for (a, b) in [
            ("Re: RE[2]: Aw:  Order\t1234 ", "order 1234"),
            ("Antw: ÉTÉ  Été", "été été"),
        ] {
            assert_eq!(subject_key(a), fnv(normalize_subject(a).as_bytes()), "{a}");
            assert_eq!(subject_key(a), fnv(b.as_bytes()), "{a}");
        }
    }

    #[test]
    fn subject_normalization() {
        assert_eq!(
            normalize_subject("Re: RE[2]: Aw:  Order\t1234 "),
            "order 1234"
        );
        assert_eq!(normalize_subject("Antw: Fwd: Factuur"), "factuur");
        assert_eq!(normalize_subject("Meeting: tomorrow"), "meeting: tomorrow");
        assert!(is_reply_subject("RE: x"));
        assert!(is_reply_subject("Antw: x"));
        assert!(!is_reply_subject("Fwd: x"));
        assert!(!is_reply_subject("Order: x"));
    }
}
