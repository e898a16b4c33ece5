//! Conversations from Message-ID, In-Reply-To and References (in the spirit of JWZ
//! threading), with two fallbacks for clients that drop the references: Outlook's
//! Thread-Index, and a reply subject from the same correspondent.
//!
//! A conversation is identified by its root: the top-most ancestor known from any
//! message's references, present in the mailbox or not. Its id is a fixed hash of the
//! root's Message-ID, so every client computes the same id for the same conversation.
//! Everything here is pure and incremental: messages are added and removed one at a
//! time, and each call reports the conversations that changed.

use std::collections::{BTreeSet, HashMap};

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

    pub fn merge(&mut self, other: ThreadChanges) {
        self.removed.extend(other.removed);
        self.changed.extend(other.changed);
        self.changed.retain(|id| !self.removed.contains(id));
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
    message_id: Box<str>,
    parent: Option<NodeIndex>,
    /// Usually one; more when the same message is in two folders.
    messages: Vec<MessageHandle>,
}

#[derive(Debug, Clone)]
struct SubjectEntry {
    node: NodeIndex,
    date: i64,
    correspondent: Box<str>,
}

#[derive(Debug, Default)]
pub struct Threads {
    nodes: Vec<Node>,
    by_message_id: HashMap<Box<str>, NodeIndex>,
    by_handle: HashMap<MessageHandle, NodeIndex>,
    /// Root node → the messages of that conversation.
    groups: HashMap<NodeIndex, Vec<MessageHandle>>,
    ids: HashMap<ConversationId, NodeIndex>,
    by_subject: HashMap<Box<str>, Vec<SubjectEntry>>,
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

    pub fn add(&mut self, input: &ThreadInput<'_>) -> ThreadChanges {
        let mut changes = ThreadChanges::default();
        if self.by_handle.contains_key(&input.handle) {
            return changes;
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
                self.link(node, parent, &mut changes);
            }
            previous = Some(node);
        }
        match previous {
            Some(parent) => self.link(own, parent, &mut changes),
            None => {
                if let Some(parent) = self.fallback_parent(input, own) {
                    self.link(own, parent, &mut changes);
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
                .entry(normalize_subject(input.subject).into())
                .or_default();
            entries.push(SubjectEntry {
                node: own,
                date: input.date,
                correspondent: correspondent.into(),
            });
            if entries.len() > SUBJECT_ENTRIES {
                entries.remove(0);
            }
        }
        changes
    }

    /// Removes a message (expunged, or its folder was reset). Its place in the tree stays,
    /// so the structure survives if it comes back.
    pub fn remove(&mut self, handle: MessageHandle) -> ThreadChanges {
        let mut changes = ThreadChanges::default();
        let Some(node) = self.by_handle.remove(&handle) else {
            return changes;
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
                return changes;
            }
        }
        changes.touch(id);
        changes
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
        let correspondent = input.correspondent?;
        let entries = self
            .by_subject
            .get(normalize_subject(input.subject).as_str())?;
        entries
            .iter()
            .rev()
            .filter(|e| {
                &*e.correspondent == correspondent
                    && e.date <= input.date
                    && input.date - e.date <= SUBJECT_WINDOW_MS
            })
            .map(|e| self.root(e.node))
            .find(|root| *root != own && self.groups.contains_key(root))
    }
}

/// FNV-1a: a fixed hash every client computes the same way (std's hasher is seeded).
pub fn conversation_id(root_message_id: &str) -> ConversationId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in root_message_id.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // JavaScript-safe ids would need 53 bits; the UI gets strings, so all 64 are used.
    ConversationId(hash)
}

/// Reply and forward prefixes in the languages our customers write in.
const REPLY_PREFIXES: &[&str] = &["re", "aw", "antw", "sv", "vs", "odp", "ynt"];
const FORWARD_PREFIXES: &[&str] = &["fw", "fwd", "wg", "tr", "doorst", "fs", "rv"];

/// Splits one leading "Re:" / "RE[2]:" / "Antw:" prefix; returns (prefix, rest).
fn split_prefix(subject: &str) -> Option<(String, &str)> {
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
        threads.add(&ThreadInput {
            handle: m.handle,
            message_id: m.id,
            references: &m.refs,
            in_reply_to: &m.irt,
            subject: m.subject,
            date: m.date,
            thread_key: m.key,
            correspondent: m.who,
        })
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
        let changes = t.remove(2);
        assert!(changes.changed.contains(&id));
        assert_eq!(sorted(&t, id), vec![1]);
        let changes = t.remove(1);
        assert!(changes.removed.contains(&id));
        assert_eq!(t.conversation_count(), 0);
        assert!(t.remove(1).is_empty());
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
