//! The duplicate-reply guard under a busy team: two and five members answer the same
//! customers at moments spread over 15 seconds, some with a 10-second undo window and
//! some with none, through a real Dovecot and Postfix — with the team server hosted in
//! one member's Baton, with one member unable to reach it, and without any. Each
//! conversation is one round; all rounds run at once, which only makes the race harder.
//!
//! What must hold: a customer receives exactly one reply per round unless a member
//! explicitly chose "send anyway" despite a colleague's reply (sent, on its way, or a
//! colleague holding the conversation); every message held back names a colleague who
//! really replied in that round; and no message leaves twice.
//!
//! `BATON_RACE_ROUNDS` (default 200) and `BATON_RACE_SEED` (default: from the clock,
//! printed) reproduce a run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton::Engine;
use baton::compose::{ComposeSettings, Draft, GuardFinding};
use baton::conversation::ConversationId;
use baton::outbox::OutboxStatus;
use baton::outbox::{SendOptions, SendOutcome};
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, SecretStore};
use common::sending::*;
use common::*;

/// How long a member may take in all: the spread, the undo window, the queue of sends.
const ROUND_LIMIT: Duration = Duration::from_secs(300);
/// Send times fall in this window after the start.
const SPREAD_MS: u64 = 15_000;
/// How often a member, told a colleague answered, sends anyway.
const ANYWAY: f64 = 0.2;

/// What happened in one round, across its members.
#[derive(Default, Debug)]
struct Round {
    /// Members whose reply went into the outbox at some point.
    queued: BTreeSet<String>,
    /// Members who chose to send despite a colleague's reply.
    anyway: BTreeSet<String>,
    /// Message-IDs that the outbox reported sent.
    sent: Vec<String>,
    /// Every colleague named by a warning or a hold, and by which kind.
    named: Vec<(String, String)>,
    /// Warnings or holds that named nobody.
    anonymous: Vec<String>,
}

type Rounds = Arc<Mutex<BTreeMap<usize, Round>>>;

/// One run at a time: each starts its own Dovecot, Postfix and up to five Batons, and on
/// a two-core machine several at once starve each other into timeouts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How the team reaches its team server in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Server {
    /// Hosted in the first member's Baton; everyone connected.
    Hosted,
    /// Hosted, but the second member cannot reach it (their link stays offline): their
    /// claims go straight to the mailbox while the others' go through the server.
    OneOffline,
    /// No team server at all: the mailbox decides.
    None,
}

async fn race(members: &[&str], server: Server) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rounds_n: usize = std::env::var("BATON_RACE_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("BATON_RACE_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!(
        "race: {} members, team server {server:?}, {rounds_n} rounds, BATON_RACE_SEED={seed}",
        members.len()
    );
    let world = send_world(members).await;
    let questions: Vec<(String, i64, String, Vec<u8>)> = (0..rounds_n)
        .map(|r| {
            let raw = mail(
                &format!("race{r}@customer.example"),
                &format!("Jan Klant <{CUSTOMER}>"),
                &format!("Race question {r}"),
                &[],
                "Can someone help me?",
            );
            (
                "INBOX".to_owned(),
                1_793_000_000 + r as i64,
                String::new(),
                raw,
            )
        })
        .collect();
    world
        .dovecot
        .import(members[0], questions)
        .expect("import the questions");

    let dirs: Vec<tempfile::TempDir> = members
        .iter()
        .map(|_| tempfile::tempdir().expect("dir"))
        .collect();
    let secrets: Vec<Arc<dyn SecretStore>> = members
        .iter()
        .map(|_| Arc::new(MemorySecrets::default()) as Arc<dyn SecretStore>)
        .collect();
    let mut engines = Vec::new();
    for ((dir, member), secrets) in dirs.iter().zip(members).zip(&secrets) {
        engines.push(sending_engine_with(dir.path(), &world, member, secrets.clone()).await);
    }
    if server != Server::None {
        let host = &engines[0];
        host.host_team_server(baton::team::HostSettings {
            port: 0,
            open_to_network: false,
        })
        .await
        .expect("hosting the team server");
        for (engine, member) in engines.iter().zip(members).skip(1) {
            let invite = host.invite_colleague(member).await.expect("invite");
            engine.join_team_server(invite).await.expect("joining");
        }
        for engine in &engines {
            wait_synced(engine).await;
        }
        wait_until(WAIT, "every member is online with the team server", || {
            engines.iter().all(online)
        })
        .await;
    }
    if server == Server::OneOffline {
        // The second member's Baton points at a port where nothing listens (a laptop
        // on a network that cannot reach the office box).
        let (dir, member) = (dirs[1].path(), members[1]);
        engines[1].shutdown().await;
        let profile = Profile::open(dir, member).expect("profile");
        let mut settings = profile.team_server().expect("read").expect("joined");
        let secret = secrets[1]
            .get(&settings.credential_key())
            .expect("read")
            .expect("the secret");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        settings.url = format!("ws://127.0.0.1:{port}/");
        secrets[1]
            .set(&settings.credential_key(), &secret)
            .expect("secret");
        profile.save_team_server(Some(&settings)).expect("save");
        engines[1] = reopen(dir, member, secrets[1].clone()).await;
        wait_synced(&engines[1]).await;
        wait_until(
            WAIT,
            "the second member is offline from the team server",
            || {
                matches!(
                    engines[1].team().server,
                    baton::team::TeamServerState::Offline { .. }
                )
            },
        )
        .await;
        assert!(online(&engines[0]));
    }
    // Half the team has an undo window, half sends at once.
    for (i, engine) in engines.iter().enumerate() {
        engine
            .save_compose_settings(ComposeSettings {
                sender_name: "{name} from Brightdesk".into(),
                undo_seconds: if i % 2 == 0 { 10 } else { 0 },
                ..ComposeSettings::default()
            })
            .expect("settings");
    }
    let ids: Vec<ConversationId> = {
        let first = &engines[0];
        wait_until(WAIT, "every question is listed", || {
            (0..rounds_n).all(|r| {
                first
                    .list_conversations(baton::conversation::View::All, 0, rounds_n as u32 + 10)
                    .rows
                    .iter()
                    .any(|row| row.subject == format!("Race question {r}"))
            })
        })
        .await;
        (0..rounds_n)
            .map(|r| by_subject(first, &format!("Race question {r}")))
            .collect()
    };
    // Everyone opens a reply to everything first (colleagues see them "replying").
    let mut drafts: Vec<Vec<Draft>> = Vec::new();
    for engine in &engines {
        wait_until(WAIT, "every question is there for each member", || {
            ids.iter().all(|id| row(engine, *id).is_some())
        })
        .await;
        let mut mine = Vec::new();
        for (r, id) in ids.iter().enumerate() {
            mine.push(reply(engine, *id, &format!("Answer to {r}.")).await);
        }
        drafts.push(mine);
    }

    let rounds: Rounds = Arc::default();
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (m, (engine, member)) in engines.iter().zip(members).enumerate() {
        for (r, draft) in drafts[m].iter().enumerate() {
            let plan = Plan {
                round: r,
                member: member.to_string(),
                at: started + Duration::from_millis(rng.u64(0..SPREAD_MS)),
                seed: rng.u64(..),
            };
            let (engine, draft, rounds) = (engine.clone(), draft.clone(), rounds.clone());
            tasks.spawn(async move { answer(engine, draft, plan, rounds).await });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a member's round panicked");
    }
    println!("race: every member decided after {:?}", started.elapsed());

    // Every reply the outboxes sent arrives exactly once; count them per round.
    let rounds = std::mem::take(&mut *rounds.lock().expect("rounds"));
    let delivered = wait_delivered(&world, &rounds).await;
    let mut doubles = 0;
    let mut held_named = 0;
    for (r, round) in &rounds {
        let got = delivered.get(r).copied().unwrap_or(0);
        assert!(
            round.anonymous.is_empty(),
            "round {r}: a warning or hold named nobody: {:?}",
            round.anonymous
        );
        for (named, kind) in &round.named {
            assert!(
                round.queued.contains(named),
                "round {r}: {kind} names {named}, who sent nothing: {round:?}"
            );
            held_named += 1;
        }
        if round.anyway.is_empty() {
            assert_eq!(
                got, 1,
                "round {r}: {got} replies reached the customer: {round:?}"
            );
        } else {
            assert!(got >= 1, "round {r}: no reply at all: {round:?}");
            if got > 1 {
                doubles += 1;
            }
        }
    }
    let anyway_rounds = rounds.values().filter(|r| !r.anyway.is_empty()).count();
    println!(
        "race: {} rounds, {anyway_rounds} with a send-anyway ({doubles} of them got two or more \
         replies), {held_named} colleagues named by warnings and holds, {:?} in all",
        rounds.len(),
        started.elapsed()
    );
    for engine in engines {
        engine.shutdown().await;
    }
}

struct Plan {
    round: usize,
    member: String,
    /// When this member presses Send.
    at: Instant,
    /// Their decisions when told a colleague answered.
    seed: u64,
}

/// One member's part in one round: press Send at the planned moment, and when warned or
/// held because a colleague answered, send anyway now and then, else give up.
async fn answer(engine: Engine, draft: Draft, plan: Plan, rounds: Rounds) {
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    tokio::time::sleep_until(plan.at.into()).await;
    let note = |change: &dyn Fn(&mut Round)| {
        let mut rounds = rounds.lock().expect("rounds");
        change(rounds.entry(plan.round).or_default());
    };
    let mut despite: Vec<GuardFinding> = Vec::new();
    let item = loop {
        let options = SendOptions {
            send_at: None,
            despite: despite.clone(),
        };
        match engine.send_draft(&draft.id, options).await.expect("send") {
            SendOutcome::Queued { item } | SendOutcome::Held { item } => break item,
            SendOutcome::Guarded { report } => {
                note(&|round| record_names(round, &report.findings, "warning"));
                if report.findings.iter().any(reply_given) {
                    if rng.f64() >= ANYWAY {
                        engine.discard_draft(&draft.id).await.expect("discard");
                        return;
                    }
                    note(&|round| {
                        round.anyway.insert(plan.member.clone());
                    });
                }
                // Only colleagues with a reply open, or the customer: send.
                despite = report.findings;
            }
        }
    };
    note(&|round| {
        round.queued.insert(plan.member.clone());
    });
    let deadline = Instant::now() + ROUND_LIMIT;
    loop {
        let now = engine.outbox_items().into_iter().find(|i| i.id == item.id);
        let Some(now) = now else {
            panic!(
                "{}'s reply in round {} left the outbox",
                plan.member, plan.round
            )
        };
        match now.status.clone() {
            OutboxStatus::Sent {
                sent_copy: true, ..
            } => {
                note(&|round| round.sent.push(now.message_id.clone()));
                return;
            }
            OutboxStatus::Held { findings } => {
                note(&|round| record_names(round, &findings, "hold"));
                assert!(
                    findings.iter().any(reply_given) || findings.iter().any(customer_wrote),
                    "held for nothing a member must decide on: {findings:?}"
                );
                if rng.f64() < ANYWAY {
                    note(&|round| {
                        round.anyway.insert(plan.member.clone());
                    });
                    engine
                        .send_held(&item.id, findings)
                        .await
                        .expect("send anyway");
                } else {
                    engine.discard_outbox(&item.id).await.expect("discard");
                    return;
                }
            }
            OutboxStatus::Failed { failure } | OutboxStatus::Unknown { failure } => {
                panic!("{}'s reply did not go out: {failure:?}", plan.member)
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{}'s reply in round {} is stuck: {:?}",
            plan.member,
            plan.round,
            now.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A colleague answered, is answering with a reply on its way, or holds the
/// conversation: a second reply would be a duplicate.
fn reply_given(finding: &GuardFinding) -> bool {
    matches!(
        finding,
        GuardFinding::ColleagueReplied { .. }
            | GuardFinding::ColleagueSending { .. }
            | GuardFinding::OwnedByOther { .. }
    )
}

fn customer_wrote(finding: &GuardFinding) -> bool {
    matches!(finding, GuardFinding::CustomerWrote { .. })
}

/// Who each warning names ("anna from Brightdesk" is anna).
fn record_names(round: &mut Round, findings: &[GuardFinding], kind: &str) {
    for finding in findings {
        let named = match finding {
            GuardFinding::ColleagueReplied { by, .. } => {
                by.split_whitespace().next().unwrap_or_default().to_owned()
            }
            GuardFinding::ColleagueSending { member, .. }
            | GuardFinding::OwnedByOther { member, .. } => member.clone(),
            _ => continue,
        };
        if named.is_empty() {
            round.anonymous.push(format!("{kind}: {finding:?}"));
        } else {
            round.named.push((named, kind.to_owned()));
        }
    }
}

/// Waits until every reply the outboxes sent is in the customer's inbox, and checks none
/// arrived twice; the number that arrived per round.
async fn wait_delivered(
    world: &SendWorld,
    rounds: &BTreeMap<usize, Round>,
) -> BTreeMap<usize, usize> {
    let expected: usize = rounds.values().map(|r| r.sent.len()).sum();
    let start = Instant::now();
    loop {
        let inbox = customer_replies(world);
        if inbox.len() >= expected {
            let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
            for (message_id, _) in &inbox {
                *copies.entry(message_id.as_str()).or_default() += 1;
            }
            let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
            assert!(twice.is_empty(), "messages that arrived twice: {twice:?}");
            let mut per_round = BTreeMap::new();
            for (r, round) in rounds {
                for id in &round.sent {
                    assert!(
                        copies.contains_key(id.as_str()),
                        "round {r}: {id} never arrived"
                    );
                }
            }
            for (_, in_reply_to) in &inbox {
                if let Some(r) = in_reply_to
                    .strip_prefix("race")
                    .and_then(|rest| rest.strip_suffix("@customer.example"))
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    *per_round.entry(r).or_default() += 1;
                }
            }
            return per_round;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{} of {expected} sent replies reached the customer",
            inbox.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// (Message-ID, In-Reply-To) of every message in the customer's inbox, brackets off.
fn customer_replies(world: &SendWorld) -> Vec<(String, String)> {
    let out = world
        .dovecot
        .doveadm(&[
            "fetch",
            "-u",
            "customer",
            "hdr.message-id hdr.in-reply-to",
            "mailbox",
            "INBOX",
            "all",
        ])
        .expect("doveadm fetch");
    let bare = |v: &str| {
        v.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    };
    let mut replies = Vec::new();
    for message in out.split('\u{c}') {
        let mut id = None;
        let mut parent = None;
        for line in message.lines() {
            if let Some(v) = line.strip_prefix("hdr.message-id:") {
                id = Some(bare(v));
            } else if let Some(v) = line.strip_prefix("hdr.in-reply-to:") {
                parent = Some(bare(v));
            }
        }
        if let (Some(id), Some(parent)) = (id, parent)
            && !id.is_empty()
        {
            replies.push((id, parent));
        }
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_with_the_team_server() {
    race(&["anna", "bram"], Server::Hosted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_one_of_them_offline_from_the_team_server() {
    race(&["anna", "bram"], Server::OneOffline).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_on_the_mailbox_alone() {
    race(&["anna", "bram"], Server::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_members_with_the_team_server() {
    race(&["anna", "bram", "chloe", "dirk", "eva"], Server::Hosted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_members_on_the_mailbox_alone() {
    race(&["anna", "bram", "chloe", "dirk", "eva"], Server::None).await;
}
