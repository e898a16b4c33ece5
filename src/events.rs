//! Typed events the engine emits; the desktop shell forwards them to the window.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use ts_rs::TS;

use crate::connectivity::{Connectivity, SyncProgress};
use crate::conversation::ConversationId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EngineEvent {
    Connectivity {
        connectivity: Connectivity,
    },
    SyncProgress {
        progress: SyncProgress,
    },
    /// Conversations were added, changed, merged or removed. `ids` lists the ones whose
    /// rows changed (empty: any row may have changed); the order may have changed too.
    ConversationsChanged {
        ids: Vec<ConversationId>,
    },
    /// The link to the team server or the team's membership changed.
    Team {
        overview: crate::conversation::TeamOverview,
    },
    /// Who is viewing or replying on a conversation changed (team server only).
    Presence {
        presence: crate::conversation::PresenceOn,
    },
    /// A message in the outbox changed state (queued, sending, retrying, sent, …).
    Outbox {
        item: crate::outbox::OutboxItem,
    },
    /// Notes were added, edited or deleted somewhere (the Mentions view may change too).
    NotesChanged,
    /// Something this member wants to hear about (they chose which in the settings).
    Notify {
        notification: crate::notes::watch::Notification,
    },
    /// The listener fell behind and missed events: reload everything shown.
    Resync,
}

/// The engine's event channel. A listener that lags does not silently lose events: it
/// receives `Resync` and reloads.
#[derive(Debug, Clone)]
pub struct Events {
    sender: broadcast::Sender<EngineEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(1024);
        Events { sender }
    }

    pub fn emit(&self, event: EngineEvent) {
        // No listener is fine: the UI may not have subscribed yet.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> EventListener {
        EventListener {
            receiver: self.sender.subscribe(),
        }
    }
}

pub struct EventListener {
    receiver: broadcast::Receiver<EngineEvent>,
}

impl EventListener {
    /// The next event; `None` when the engine is gone.
    pub async fn next(&mut self) -> Option<EngineEvent> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(EngineEvent::Resync),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lagging_listener_gets_resync() {
        let events = Events::new();
        let mut listener = events.subscribe();
        for _ in 0..2000 {
            events.emit(EngineEvent::ConversationsChanged { ids: vec![] });
        }
        assert_eq!(listener.next().await, Some(EngineEvent::Resync));
        // After the resync marker the listener continues with what is still buffered.
        assert!(matches!(
            listener.next().await,
            Some(EngineEvent::ConversationsChanged { .. })
        ));
    }
}
