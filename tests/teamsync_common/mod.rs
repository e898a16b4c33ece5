//! Set-up for the team server's tests: a real server on 127.0.0.1 port 0 with a private
//! store, members enrolled through the real invite flow, clients, and a raw WebSocket for
//! the frames a well-behaved client never sends.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use baton::teamsync::protocol::ServerFrame;
use baton::teamsync::{
    ClientOptions, RunningServer, ServerConfig, TeamClient, TeamEvent, TeamServer, Trust,
};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

pub const MAILBOX: &str = "support";
pub const OTHER_MAILBOX: &str = "sales";
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Team {
    pub server: RunningServer,
    pub config: ServerConfig,
    pub dir: tempfile::TempDir,
    pub secrets: BTreeMap<String, String>,
}

impl Team {
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn secret(&self, member: &str) -> &str {
        &self.secrets[member]
    }

    pub fn options(&self, member: &str) -> ClientOptions {
        fast(ClientOptions::new(
            &self.url(),
            Trust::System,
            MAILBOX,
            member,
            self.secret(member),
        ))
    }

    /// A connected client and its events (the welcome's already read).
    pub async fn client(&self, member: &str) -> (TeamClient, broadcast::Receiver<TeamEvent>) {
        connect(self.options(member)).await
    }

    pub async fn raw(&self) -> Raw {
        Raw::connect(&self.url()).await
    }

    /// A raw connection that said hello as `member` and read its welcome.
    pub async fn raw_member(&self, member: &str) -> Raw {
        let mut raw = self.raw().await;
        raw.hello(MAILBOX, member, self.secret(member)).await;
        match raw.recv().await {
            Some(ServerFrame::Welcome(_)) => raw,
            other => panic!("expected a welcome, got {other:?}"),
        }
    }
}

/// Short heartbeats and reconnect waits, so tests of dropped connections are quick.
pub fn fast(mut options: ClientOptions) -> ClientOptions {
    options.heartbeat = Duration::from_millis(500);
    options.reconnect_min = Duration::from_millis(100);
    options.reconnect_max = Duration::from_millis(500);
    options
}

pub async fn connect(options: ClientOptions) -> (TeamClient, broadcast::Receiver<TeamEvent>) {
    let (client, mut events) = TeamClient::start(options);
    client.wait_connected(WAIT).await.expect("connected");
    // The welcome's own events: Connected, Snapshot or changes, PresenceSnapshot.
    next(&mut events, |e| matches!(e, TeamEvent::PresenceSnapshot(_))).await;
    (client, events)
}

/// Starts a server with `members` in the support mailbox (and `sales_members` in the
/// sales mailbox), each having redeemed their invite.
pub async fn team_with(
    members: &[&str],
    sales_members: &[&str],
    tweak: impl FnOnce(&mut ServerConfig),
) -> Team {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = ServerConfig::loopback(dir.path().join("store"), &[MAILBOX, OTHER_MAILBOX]);
    tweak(&mut config);
    let server = TeamServer::start(config.clone())
        .await
        .expect("server starts");
    let mut secrets = BTreeMap::new();
    for (mailbox, list) in [(MAILBOX, members), (OTHER_MAILBOX, sales_members)] {
        for member in list.iter().copied() {
            let enrollment = server.add_member(mailbox, member).await.expect("enrol");
            let invite = enrollment.invite.expect("a new member gets an invite");
            let secret =
                TeamClient::redeem(&server.url(), &Trust::System, mailbox, member, &invite)
                    .await
                    .expect("redeem");
            secrets.insert(member.to_owned(), secret);
        }
    }
    Team {
        server,
        config,
        dir,
        secrets,
    }
}

pub async fn team(members: &[&str]) -> Team {
    team_with(members, &[], |_| {}).await
}

/// The next event that matches, skipping others; panics after [`WAIT`].
pub async fn next(
    events: &mut broadcast::Receiver<TeamEvent>,
    want: impl Fn(&TeamEvent) -> bool,
) -> TeamEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => panic!("no matching event within {WAIT:?}"),
            Ok(Err(e)) => panic!("event stream: {e}"),
            Ok(Ok(event)) if want(&event) => return event,
            Ok(Ok(_)) => {}
        }
    }
}

/// A WebSocket speaking raw frames.
pub struct Raw {
    pub ws: WebSocketStream<TcpStream>,
}

impl Raw {
    pub async fn connect(url: &str) -> Raw {
        let stream = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/'))
            .await
            .expect("tcp");
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .expect("websocket");
        Raw { ws }
    }

    pub async fn send(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    /// Sends without failing when the server already closed.
    pub async fn try_send(&mut self, text: &str) -> bool {
        self.ws.send(Message::text(text.to_owned())).await.is_ok()
    }

    pub async fn hello(&mut self, mailbox: &str, member: &str, secret: &str) {
        let hello = serde_json::json!({
            "type": "hello", "version": "baton/1", "mailbox": mailbox,
            "member": member, "secret": secret, "last_seq": null
        });
        self.send(&hello.to_string()).await;
    }

    /// The next frame from the server; `None` once the connection is closed.
    pub async fn recv(&mut self) -> Option<ServerFrame> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("nothing from the server within {WAIT:?}"),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(serde_json::from_str(&text).expect("server frames parse"));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// The next error frame, skipping events and presence; `None` when closed first.
    pub async fn error(&mut self) -> Option<baton::teamsync::protocol::ErrorFrame> {
        loop {
            match self.recv().await? {
                ServerFrame::Error(error) => return Some(error),
                _ => continue,
            }
        }
    }

    /// Whether the server closes the connection (reading until it does).
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}
