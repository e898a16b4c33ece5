//! `baton-bench propagation`: how long one member's change takes to reach everyone else,
//! through the team server and through the mailbox alone (IMAP IDLE).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::Engine;
use baton::account::{AccountSettings, Security, ServerEndpoint};
use baton::connectivity::Connectivity;
use baton::contract::Action;
use baton::conversation::{ConversationId, TeamAction, View};
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::imap::tls::client_config;
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, SecretStore};
use baton::team::authority::{ImapAuthority, ServerMailbox};
use baton::teamsync::authority::Authority;
use baton::teamsync::protocol::{ClientFrame, PROTOCOL, ServerFrame};
use baton::teamsync::{RunningServer, TeamEvent};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;

use super::team::{self, MAILBOX};
use super::{BenchResult, flag, percentile, row, work_dir};

/// How long one change may take to reach everyone before the run is called failed.
const REACH_WAIT: Duration = Duration::from_secs(10);
const SHARED: &str = "support@brightdesk.example";
/// The member whose claims the IMAP observers watch for.
const CLAIMER: &str = "claimer";

pub async fn run(args: &[String]) -> BenchResult {
    let clients = flag(args, "--clients", 50)?.max(2);
    let changes = flag(args, "--changes", 200)?.max(1);
    let observers = flag(args, "--observers", 10)?.max(1);
    let watchers = flag(args, "--engines", 2)?;
    let rounds = flag(args, "--imap-rounds", 20)?.max(1);
    let (_guard, work) = work_dir()?;

    // (1) Through the server, its own store deciding.
    eprintln!("team server (store authority): {clients} clients, {changes} changes …");
    let server = team::start_server(&work.join("store-a"), clients, None).await?;
    let members = team::enrol(&server, clients).await?;
    let ping = ping_rtt(&server, &members[0], changes).await?;
    let conversations: Vec<String> = (0..10).map(|i| format!("<bench-{i}@example>")).collect();
    let store_run = through_server(server, &members, clients, &conversations, changes).await?;

    // (2) The mailbox alone: Dovecot's IDLE.
    eprintln!("starting a private Dovecot …");
    let mut logins = vec![
        Login::new(CLAIMER, "bench-secret", "support"),
        Login::new("driver", "bench-secret", "support"),
        Login::new("server", "bench-secret", "support"),
    ];
    logins
        .extend((0..observers).map(|i| Login::new(&format!("obs{i}"), "bench-secret", "support")));
    logins
        .extend((0..watchers).map(|i| Login::new(&format!("watch{i}"), "bench-secret", "support")));
    let dovecot = Dovecot::start(DovecotOptions {
        dir: Some(work.join("dovecot")),
        logins,
    })
    .map_err(|e| e.to_string())?;
    // Messages 0..rounds for the raw baseline, rounds..2·rounds (+1 warm-up) for claims.
    let questions = 2 * rounds + 1;
    let report = dovecot
        .import(CLAIMER, (0..questions).map(question))
        .map_err(|e| e.to_string())?;
    let loaded: u32 = report.folders.iter().map(|(_, n)| n).sum();
    if loaded as usize != questions {
        return Err(format!("Dovecot loaded {loaded} of {questions} messages"));
    }
    let imap = imap_idle(&dovecot, &work, observers, watchers, rounds).await?;

    // (3) Through the server again, the mailbox deciding (ImapAuthority).
    eprintln!("team server (IMAP authority on Dovecot): {clients} clients, {changes} changes …");
    let mailbox = server_mailbox(&work.join("engine-server"), &dovecot).await?;
    let mut conversations: Vec<String> = mailbox
        .mailbox()
        .page(View::All, 0, 1000)
        .rows
        .iter()
        // Not the ones the IMAP rounds claimed.
        .filter(|r| r.owner.is_none())
        .map(|r| r.id.0.to_string())
        .collect();
    conversations.truncate(10);
    let authority: Arc<dyn Authority> = ImapAuthority::new(mailbox.clone());
    let server = team::start_server(&work.join("store-b"), clients, Some(authority)).await?;
    let members_b = team::enrol(&server, clients).await?;
    let imap_run = through_server(server, &members_b, clients, &conversations, changes).await?;
    mailbox.stop().await;

    let receivers = clients - 1;
    let ping_p50 = percentile(&ping, 0.50);
    let ping_p99 = percentile(&ping, 0.99);
    let p50 = percentile(&store_run.reach, 0.50);
    let p99 = percentile(&store_run.reach, 0.99);
    let raw_p50 = percentile(&imap.raw, 0.50);
    let raw_p95 = percentile(&imap.raw, 0.95);
    let imap_p50 = percentile(&imap.claim, 0.50);
    let imap_p95 = percentile(&imap.claim, 0.95);

    println!();
    println!(
        "propagation: {clients} clients on one mailbox, {changes} changes (claim/release in turn), \
         {} samples per server row; IMAP: {observers} raw IDLE observers, {watchers} engines, \
         {rounds} rounds",
        store_run.reach.len()
    );
    println!(
        "{:<58} {:>11} {:>7} {:>10}",
        "measure", "value", "ratio", "target"
    );
    let ms = |v: f64| format!("{v:.2} ms");
    row(
        "server ping RTT, raw WebSocket, p50 (baseline)",
        ms(ping_p50),
        Some(1.0),
        "",
    );
    row(
        "server ping RTT, raw WebSocket, p99 (baseline)",
        ms(ping_p99),
        Some(1.0),
        "",
    );
    row(
        "change ok'd to its sender (store authority), p50",
        ms(percentile(&store_run.ack, 0.50)),
        Some(percentile(&store_run.ack, 0.50) / ping_p50),
        "",
    );
    row(
        &format!("change → {receivers} others, store authority, p50"),
        ms(p50),
        Some(p50 / ping_p50),
        "≤ 20 ms",
    );
    row(
        &format!("change → {receivers} others, store authority, p99"),
        ms(p99),
        Some(p99 / ping_p99),
        "≤ 100 ms",
    );
    let ia50 = percentile(&imap_run.reach, 0.50);
    let ia99 = percentile(&imap_run.reach, 0.99);
    row(
        &format!("change → {receivers} others, IMAP authority, p50"),
        ms(ia50),
        Some(ia50 / ping_p50),
        "",
    );
    row(
        &format!("change → {receivers} others, IMAP authority, p99"),
        ms(ia99),
        Some(ia99 / ping_p99),
        "",
    );
    row(
        "raw UID STORE → IDLE observers, p50 (baseline)",
        ms(raw_p50),
        Some(1.0),
        "",
    );
    row(
        "raw UID STORE → IDLE observers, p95 (baseline)",
        ms(raw_p95),
        Some(1.0),
        "",
    );
    row(
        "engine.act claim → IDLE observers, p50",
        ms(imap_p50),
        Some(imap_p50 / raw_p50),
        "",
    );
    row(
        "engine.act claim → IDLE observers, p95",
        ms(imap_p95),
        Some(imap_p95 / raw_p95),
        "≤ 1500 ms",
    );
    if !imap.engines.is_empty() {
        let e50 = percentile(&imap.engines, 0.50);
        let e95 = percentile(&imap.engines, 0.95);
        row(
            "engine.act claim → other engines' lists, p50",
            ms(e50),
            Some(e50 / raw_p50),
            "",
        );
        row(
            "engine.act claim → other engines' lists, p95",
            ms(e95),
            Some(e95 / raw_p95),
            "",
        );
    }
    println!();
    println!(
        "RESULT propagation clients={clients} p50_ms={p50:.2} p99_ms={p99:.2} \
         imap_p50_ms={imap_p50:.1} imap_p95_ms={imap_p95:.1} ping_p50_ms={ping_p50:.2} \
         imap_authority_p50_ms={ia50:.2} imap_authority_p99_ms={ia99:.2} \
         raw_idle_p50_ms={raw_p50:.1} observers={observers}"
    );
    Ok(())
}

/// A plain question from a customer, one conversation each.
fn question(i: usize) -> (String, i64, String, Vec<u8>) {
    let raw = format!(
        "From: Customer {i} <c{i}@customer.example>\r\nTo: {SHARED}\r\n\
         Subject: Question number {i}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <q{i}@customer.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello, I have a question.\r\n"
    );
    (
        "INBOX".to_owned(),
        1_793_000_000 + i as i64,
        String::new(),
        raw.into_bytes(),
    )
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Round trips of the protocol's own ping on an authenticated raw WebSocket: the floor
/// under any change's latency (one frame each way, no decision, no disk).
async fn ping_rtt(
    server: &RunningServer,
    (member, secret): &(String, String),
    samples: usize,
) -> BenchResult<Vec<f64>> {
    let url = server.url();
    let tcp = TcpStream::connect(server.local_addr())
        .await
        .map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let send = async |ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
                      frame: &ClientFrame|
           -> BenchResult {
        let text = serde_json::to_string(frame).map_err(|e| e.to_string())?;
        ws.send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    };
    let recv =
        async |ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>| -> BenchResult<ServerFrame> {
            loop {
                match tokio::time::timeout(REACH_WAIT, ws.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        return serde_json::from_str(&text).map_err(|e| e.to_string());
                    }
                    Ok(Some(Ok(_))) => continue,
                    _ => return Err("the raw WebSocket closed".into()),
                }
            }
        };
    let hello = ClientFrame::Hello {
        version: PROTOCOL.to_owned(),
        mailbox: MAILBOX.to_owned(),
        member: member.clone(),
        secret: secret.clone(),
        last_seq: None,
        epoch: None,
    };
    send(&mut ws, &hello).await?;
    match recv(&mut ws).await? {
        ServerFrame::Welcome(_) => {}
        other => return Err(format!("expected a welcome, got {other:?}")),
    }
    let mut rtts = Vec::with_capacity(samples);
    for i in 0..samples {
        let id = format!("p{i}");
        let started = Instant::now();
        send(
            &mut ws,
            &ClientFrame::Ping {
                id: Some(id.clone()),
            },
        )
        .await?;
        loop {
            if let ServerFrame::Pong { id: Some(got) } = recv(&mut ws).await?
                && got == id
            {
                break;
            }
        }
        rtts.push(millis(started.elapsed()));
    }
    let _ = ws.close(None).await;
    Ok(rtts)
}

/// A change event one client received, and when.
struct Arrival {
    client: usize,
    seq: u64,
    conversation: String,
    owner: Option<String>,
    at: Instant,
}

struct ServerRun {
    /// Milliseconds from a change being sent to one other client having its event.
    reach: Vec<f64>,
    /// Milliseconds until the sender had its `ok`.
    ack: Vec<f64>,
}

/// Client 0 claims and releases `conversations` in turn, one change at a time; every
/// other client's arrival time of each event is a sample. Stops the server at the end.
async fn through_server(
    server: RunningServer,
    members: &[(String, String)],
    clients: usize,
    conversations: &[String],
    changes: usize,
) -> BenchResult<ServerRun> {
    let connected = team::connect(&server, members, clients).await?;
    let (arrivals, mut arrived) = mpsc::unbounded_channel::<Arrival>();
    let mut clients_only = Vec::with_capacity(clients);
    let mut readers = Vec::with_capacity(clients);
    for (index, (client, mut events)) in connected.into_iter().enumerate() {
        clients_only.push(client);
        if index == 0 {
            continue;
        }
        let arrivals = arrivals.clone();
        readers.push(tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(TeamEvent::Change(event)) => {
                        let at = Instant::now();
                        let _ = arrivals.send(Arrival {
                            client: index,
                            seq: event.seq,
                            conversation: event.record.conversation,
                            owner: event.record.owner,
                            at,
                        });
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        eprintln!("  client {index} lagged by {n} events");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }));
    }
    drop(arrivals);
    let sender = &clients_only[0];
    let sender_member = members[0].0.as_str();
    let others = clients - 1;
    let mut reach = Vec::with_capacity(changes * others);
    let mut ack = Vec::with_capacity(changes);
    let mut other_seq = 0;
    for k in 0..changes {
        let conversation = &conversations[k % conversations.len()];
        let (action, owner) = if (k / conversations.len()).is_multiple_of(2) {
            (Action::Claim, Some(sender_member))
        } else {
            (Action::Release, None)
        };
        let started = Instant::now();
        let seq = sender
            .change(conversation, &action, None)
            .await
            .map_err(|e| format!("change {k} ({action:?} {conversation}) refused: {e}"))?;
        ack.push(millis(started.elapsed()));
        // Matched on what changed, not on the seq: an authority with its own view may
        // answer "unchanged" when its watcher got there first, and the event then comes
        // as an outside change under another seq.
        let mut seen: BTreeMap<usize, f64> = BTreeMap::new();
        let deadline = tokio::time::Instant::now() + REACH_WAIT;
        while seen.len() < others {
            match tokio::time::timeout_at(deadline, arrived.recv()).await {
                Ok(Some(arrival)) => {
                    if arrival.conversation == *conversation
                        && arrival.owner.as_deref() == owner
                        && !seen.contains_key(&arrival.client)
                    {
                        if arrival.seq != seq {
                            other_seq += 1;
                        }
                        seen.insert(arrival.client, millis(arrival.at.duration_since(started)));
                    }
                }
                Ok(None) => return Err("the clients' readers stopped".into()),
                Err(_) => {
                    return Err(format!(
                        "change {k} (ok'd as seq {seq}) reached {} of {others} clients in {REACH_WAIT:?}",
                        seen.len()
                    ));
                }
            }
        }
        reach.extend(seen.into_values());
    }
    if other_seq > 0 {
        eprintln!(
            "  {other_seq} of {} arrivals came under another seq than the change's ok",
            reach.len()
        );
    }
    for reader in &readers {
        reader.abort();
    }
    team::stop(clients_only, server).await;
    Ok(ServerRun { reach, ack })
}

/// An engine for `member` in its own profile directory, synced with the mailbox.
/// The team server's own connection to the mailbox (as `server`), once it has synced.
async fn server_mailbox(dir: &Path, dovecot: &Dovecot) -> BenchResult<Arc<ServerMailbox>> {
    use baton::team::authority::SharedMailbox;
    let settings = account(dovecot, "server");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    secrets
        .set(&settings.credential_key(), "bench-secret")
        .map_err(|p| p.to_string())?;
    let mailbox = ServerMailbox::open(dir, settings, secrets)
        .await
        .map_err(|p| format!("the server's mailbox: {p}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(
        *mailbox.connectivity().borrow(),
        Connectivity::Online { syncing: false }
    ) || mailbox.mailbox().page(View::All, 0, 1).rows.is_empty()
    {
        if Instant::now() > deadline {
            return Err("the server's mailbox did not sync".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Arc::new(mailbox))
}

fn account(dovecot: &Dovecot, member: &str) -> AccountSettings {
    let endpoint = |port| ServerEndpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::Tls,
    };
    AccountSettings {
        member_id: member.into(),
        display_name: member.into(),
        shared_address: SHARED.into(),
        imap: endpoint(dovecot.imaps_port),
        smtp: endpoint(465),
        username: member.into(),
        extra_ca_file: Some(dovecot.pki.ca_file.display().to_string()),
    }
}

async fn engine(dir: &Path, dovecot: &Dovecot, member: &str) -> BenchResult<Engine> {
    let profile = Profile::open(dir, member).map_err(|p| p.to_string())?;
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    let engine = Engine::open(profile, secrets)
        .await
        .map_err(|p| p.to_string())?;
    engine
        .configure(account(dovecot, member), "bench-secret".into())
        .await
        .map_err(|p| format!("configuring {member}: {p}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(
        engine.connectivity(),
        Connectivity::Online { syncing: false }
    ) || engine.list_conversations(View::All, 0, 1).rows.is_empty()
    {
        if Instant::now() > deadline {
            return Err(format!("{member}'s engine did not sync in time"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(engine)
}

/// A bare IMAP session over TLS, line by line.
struct RawImap {
    stream: BufReader<tokio_rustls::client::TlsStream<TcpStream>>,
    tag: u32,
}

impl RawImap {
    async fn login(dovecot: &Dovecot, user: &str) -> BenchResult<RawImap> {
        let tls = client_config(Some(&dovecot.pki.ca_file.display().to_string()))
            .map_err(|e| e.to_string())?;
        let tcp = TcpStream::connect(("127.0.0.1", dovecot.imaps_port))
            .await
            .map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("127.0.0.1")
            .map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let mut session = RawImap {
            stream: BufReader::new(stream),
            tag: 0,
        };
        session.line().await?;
        session.ok(&format!("LOGIN {user} bench-secret")).await?;
        Ok(session)
    }

    async fn line(&mut self) -> BenchResult<String> {
        let mut line = String::new();
        let n = self
            .stream
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("Dovecot closed the connection".into());
        }
        Ok(line)
    }

    async fn write(&mut self, text: &str) -> BenchResult {
        self.stream
            .get_mut()
            .write_all(text.as_bytes())
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends a command and reads to its tagged answer, which must be OK.
    async fn ok(&mut self, command: &str) -> BenchResult<Vec<String>> {
        self.tag += 1;
        let tag = format!("b{} ", self.tag);
        self.write(&format!("{tag}{command}\r\n")).await?;
        let mut lines = Vec::new();
        loop {
            let line = self.line().await?;
            if let Some(status) = line.strip_prefix(&tag) {
                if status.starts_with("OK") {
                    return Ok(lines);
                }
                return Err(format!("{command}: {}", line.trim_end()));
            }
            lines.push(line);
        }
    }

    /// Selects INBOX with CONDSTORE and enters IDLE.
    async fn idle(&mut self) -> BenchResult {
        self.ok("SELECT INBOX (CONDSTORE)").await?;
        self.write("i IDLE\r\n").await?;
        loop {
            if self.line().await?.starts_with('+') {
                return Ok(());
            }
        }
    }
}

/// An untagged FETCH one observer saw, and when.
struct Sighting {
    observer: usize,
    /// The message sequence number.
    message: u32,
    line: String,
    at: Instant,
}

fn fetched_message(line: &str) -> Option<u32> {
    let rest = line.strip_prefix("* ")?;
    let (number, rest) = rest.split_once(' ')?;
    rest.starts_with("FETCH").then(|| number.parse().ok())?
}

fn has_keyword(line: &str, keyword: &str) -> bool {
    line.match_indices(keyword)
        .any(|(at, _)| matches!(line.as_bytes().get(at + keyword.len()), Some(b' ' | b')')))
}

/// Waits until every observer saw a FETCH that `matches`, each counted once; the
/// milliseconds since `started` per observer.
async fn wait_all(
    sighted: &mut mpsc::UnboundedReceiver<Sighting>,
    observers: usize,
    label: &str,
    started: Instant,
    matches: &mut dyn FnMut(&Sighting) -> bool,
) -> BenchResult<Vec<f64>> {
    let mut seen: BTreeMap<usize, f64> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + REACH_WAIT;
    while seen.len() < observers {
        match tokio::time::timeout_at(deadline, sighted.recv()).await {
            Ok(Some(s)) => {
                if !seen.contains_key(&s.observer) && matches(&s) {
                    seen.insert(s.observer, millis(s.at.duration_since(started)));
                }
            }
            Ok(None) => return Err("the IDLE observers stopped".into()),
            Err(_) => {
                return Err(format!(
                    "{label}: {} of {observers} observers saw it in {REACH_WAIT:?}",
                    seen.len()
                ));
            }
        }
    }
    Ok(seen.into_values().collect())
}

struct ImapRun {
    raw: Vec<f64>,
    claim: Vec<f64>,
    engines: Vec<f64>,
}

/// Observers in IDLE watch for (a) a raw `UID STORE` of a fresh keyword (the baseline:
/// Dovecot's own push) and (b) an engine's claim through `engine.act`; `watchers` more
/// engines time until the claim shows in their own conversation list.
async fn imap_idle(
    dovecot: &Dovecot,
    work: &Path,
    observers: usize,
    watchers: usize,
    rounds: usize,
) -> BenchResult<ImapRun> {
    let (sightings, mut sighted) = mpsc::unbounded_channel::<Sighting>();
    let mut tasks = Vec::new();
    for observer in 0..observers {
        let mut session = RawImap::login(dovecot, &format!("obs{observer}")).await?;
        session.idle().await?;
        let sightings = sightings.clone();
        tasks.push(tokio::spawn(async move {
            while let Ok(line) = session.line().await {
                if let Some(message) = fetched_message(&line) {
                    let at = Instant::now();
                    let sighting = Sighting {
                        observer,
                        message,
                        line,
                        at,
                    };
                    if sightings.send(sighting).is_err() {
                        break;
                    }
                }
            }
        }));
    }
    drop(sightings);
    let claimer = engine(&work.join("engine-claimer"), dovecot, CLAIMER).await?;
    let mut others = Vec::new();
    for i in 0..watchers {
        others.push(
            engine(
                &work.join(format!("engine-watch{i}")),
                dovecot,
                &format!("watch{i}"),
            )
            .await?,
        );
    }
    let mut driver = RawImap::login(dovecot, "driver").await?;
    driver.ok("SELECT INBOX").await?;
    let uids: BTreeMap<String, u32> = driver
        .ok("UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .await?
        .windows(2)
        .filter_map(|pair| {
            let uid = pair[0]
                .split_once("UID ")?
                .1
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            let subject = pair[1].strip_prefix("Subject: ")?.trim_end().to_owned();
            Some((subject, uid))
        })
        .collect();
    let ids: BTreeMap<String, ConversationId> = claimer
        .list_conversations(View::All, 0, 1000)
        .rows
        .into_iter()
        .map(|r| (r.subject, r.id))
        .collect();
    let subject = |i: usize| format!("Question number {i}");

    eprintln!(
        "IMAP: {rounds} raw stores, then {rounds} claims, watched by {observers} observers in IDLE …"
    );
    let mut raw = Vec::new();
    for round in 0..rounds {
        let uid = *uids
            .get(&subject(round))
            .ok_or_else(|| format!("no UID for {}", subject(round)))?;
        let keyword = format!("bench.r{round}");
        let started = Instant::now();
        driver
            .ok(&format!("UID STORE {uid} +FLAGS (bench.r{round})"))
            .await?;
        raw.extend(
            wait_all(&mut sighted, observers, "raw store", started, &mut |s| {
                has_keyword(&s.line, &keyword)
            })
            .await?,
        );
    }

    // Messages that already carry a claim, per observer: a later FETCH of them is not news.
    let claim_keyword = format!("baton.claim.{CLAIMER}");
    let mut claimed: BTreeSet<(usize, u32)> = BTreeSet::new();
    let mut claim = Vec::new();
    let mut engine_samples = Vec::new();
    // The first claim also makes the keyword known to the mailbox (an extra store on
    // another message); it is not measured.
    for round in 0..=rounds {
        let i = rounds + round;
        let id = *ids
            .get(&subject(i))
            .ok_or_else(|| format!("the claimer does not list {}", subject(i)))?;
        let listeners: Vec<_> = others
            .iter()
            .map(|engine| {
                let engine = engine.clone();
                let mut events = engine.events();
                tokio::spawn(async move {
                    let deadline = tokio::time::Instant::now() + REACH_WAIT;
                    loop {
                        let owner = engine
                            .list_conversations(View::All, 0, 1000)
                            .rows
                            .into_iter()
                            .find(|r| r.id == id)
                            .and_then(|r| r.owner);
                        if owner.as_deref() == Some(CLAIMER) {
                            return Some(Instant::now());
                        }
                        // Gone or out of time: no sighting.
                        tokio::time::timeout_at(deadline, events.next())
                            .await
                            .ok()
                            .flatten()?;
                    }
                })
            })
            .collect();
        let started = Instant::now();
        claimer
            .act(id, TeamAction::Claim)
            .await
            .map_err(|p| format!("claiming {}: {p}", subject(i)))?;
        let samples = wait_all(&mut sighted, observers, "claim", started, &mut |s| {
            has_keyword(&s.line, &claim_keyword) && claimed.insert((s.observer, s.message))
        })
        .await?;
        for listener in listeners {
            let at = listener
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("an engine did not see the claim of {}", subject(i)))?;
            if round > 0 {
                engine_samples.push(millis(at.duration_since(started)));
            }
        }
        if round == 0 {
            // Let the warm-up's other pushes arrive, then forget them.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            while let Ok(s) = sighted.try_recv() {
                if has_keyword(&s.line, &claim_keyword) {
                    claimed.insert((s.observer, s.message));
                }
            }
        } else {
            claim.extend(samples);
        }
    }
    for task in tasks {
        task.abort();
    }
    claimer.shutdown().await;
    for engine in others {
        engine.shutdown().await;
    }
    Ok(ImapRun {
        raw,
        claim,
        engines: engine_samples,
    })
}
