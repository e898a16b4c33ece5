//! Killed at any moment, the cache converges. The real engine runs in a child process
//! (this test binary again, with only the ignored `engine_process` test selected): it
//! opens the profile and syncs a 20,000-message mailbox, and is killed with SIGKILL at a
//! random moment, 30 times (200 with `BATON_LONG_TESTS=1`) — during the first sync, then
//! during incremental syncs while new mail arrives and flags change. After every kill the
//! cache opens; at the end it holds exactly the server's messages and flags.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::account::AccountSettings;
use baton::conversation::View;
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, SecretStore};
use baton::store::Store;
use baton::store::record::Flags;
use common::*;

/// Set in the child: the account it runs, as JSON.
const CHILD_ACCOUNT: &str = "BATON_CRASH_ACCOUNT";
/// Set in the child: the profile's base directory.
const CHILD_DIR: &str = "BATON_CRASH_DIR";
/// Set in the child that is left alone: sync, then shut down cleanly.
const CHILD_FINAL: &str = "BATON_CRASH_FINAL";
const FIRST: usize = 20_000;

/// The process the test kills: an engine on the profile, syncing until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the process kill_9_at_random_moments starts and kills"]
async fn engine_process() {
    let (Ok(account), Ok(dir)) = (std::env::var(CHILD_ACCOUNT), std::env::var(CHILD_DIR)) else {
        return;
    };
    let account: AccountSettings = serde_json::from_str(&account).expect("account");
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    secrets
        .set(&account.credential_key(), &password("anna"))
        .expect("password");
    let profile = Profile::open(std::path::Path::new(&dir), "anna").expect("profile");
    let engine = baton::Engine::open(profile, secrets)
        .await
        .expect("the engine opens after every kill");
    println!("opened");
    if std::env::var_os(CHILD_FINAL).is_some() {
        wait_until(Duration::from_secs(600), "the sync is done", || {
            matches!(
                engine.connectivity(),
                baton::connectivity::Connectivity::Online { syncing: false }
            )
        })
        .await;
        // Flag news that arrived during the sync comes with the next IDLE round.
        tokio::time::sleep(Duration::from_secs(3)).await;
        engine.shutdown().await;
        return;
    }
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = engine.list_conversations(View::All, 0, 1);
    }
}

fn spawn_engine(
    dir: &std::path::Path,
    account: &AccountSettings,
    last: bool,
) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    if last {
        command.env(CHILD_FINAL, "1");
    }
    command
        .args(["engine_process", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_ACCOUNT, serde_json::to_string(account).expect("json"))
        .env(CHILD_DIR, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the engine process starts")
}

/// UID → (seen, flagged, answered) of the cache's INBOX; `None` before it has one.
fn cached(
    dir: &std::path::Path,
    account: &AccountSettings,
) -> Option<BTreeMap<u32, (bool, bool, bool)>> {
    let store = Store::open_loaded(&headers_cache(dir, "anna", account), SHARED, "anna")
        .expect("the cache opens after every kill");
    let slot = store.slot_of("INBOX")?;
    Some(
        store
            .folder(slot)?
            .messages
            .values()
            .map(|r| {
                let f = r.flags;
                (
                    r.uid,
                    (
                        f.has(Flags::SEEN),
                        f.has(Flags::FLAGGED),
                        f.has(Flags::ANSWERED),
                    ),
                )
            })
            .collect(),
    )
}

/// The same, as the server has it.
fn on_server(server: &baton::dev::dovecot::Dovecot) -> BTreeMap<u32, (bool, bool, bool)> {
    let out = server
        .doveadm(&[
            "-f",
            "tab",
            "fetch",
            "-u",
            "anna",
            "uid flags",
            "mailbox",
            "INBOX",
        ])
        .expect("doveadm fetch");
    out.lines()
        .skip(1)
        .filter_map(|line| {
            let (uid, flags) = line.split_once('\t')?;
            Some((
                uid.trim().parse().ok()?,
                (
                    flags.contains("\\Seen"),
                    flags.contains("\\Flagged"),
                    flags.contains("\\Answered"),
                ),
            ))
        })
        .collect()
}

fn new_mail(from: usize, n: usize) -> Vec<(String, i64, String, Vec<u8>)> {
    (from..from + n)
        .map(|i| {
            let raw = mail(
                &format!("late{i}@customer.example"),
                &format!("Late customer {i} <l{i}@customer.example>"),
                &format!("Later question {i}"),
                &[],
                "Another question.",
            );
            (
                "INBOX".to_owned(),
                1_794_000_000 + i as i64,
                String::new(),
                raw,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_loses_nothing() {
    let long = std::env::var_os("BATON_LONG_TESTS").is_some();
    let kills = if long { 200 } else { 30 };
    let seed = std::env::var("BATON_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("crash: {kills} kills, BATON_CRASH_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);

    let server = dovecot();
    server.import("anna", questions(FIRST)).expect("import");
    let account = account(&server, "anna", server.imaps_port);
    let dir = tempfile::tempdir().expect("tempdir");
    Profile::open(dir.path(), "anna")
        .expect("profile")
        .save_account(&account)
        .expect("account saved");

    let mut late = 0;
    let mut first_sync_kills = 0;
    for kill in 0..kills {
        // The first kills land inside the first sync; later ones while mail arrives and
        // colleagues change flags.
        if kill >= kills / 3 {
            let n = rng.usize(1..=20);
            server.import("anna", new_mail(late, n)).expect("new mail");
            late += n;
            let low = rng.u32(1..FIRST as u32);
            let range = format!("{low}:{}", low + rng.u32(0..200));
            let flag = ["\\Seen", "\\Flagged", "\\Answered"][rng.usize(0..3)];
            let verb = if rng.bool() { "add" } else { "remove" };
            server
                .doveadm(&[
                    "flags", verb, "-u", "anna", flag, "mailbox", "INBOX", "uid", &range,
                ])
                .expect("flags");
        }
        let mut child = spawn_engine(dir.path(), &account, false);
        let alive = Duration::from_millis(if kill < kills / 3 {
            rng.u64(100..1_200)
        } else {
            rng.u64(150..3_000)
        });
        std::thread::sleep(alive);
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let count = cached(dir.path(), &account).map_or(0, |c| c.len());
        if count < FIRST {
            first_sync_kills += 1;
        }
    }
    println!(
        "crash: {first_sync_kills} kills during the first sync, {late} messages arrived meanwhile"
    );
    assert!(first_sync_kills > 0, "no kill landed in the first sync");

    // The last run is left alone: it must converge to exactly the server.
    let want = on_server(&server);
    assert_eq!(want.len(), FIRST + late);
    let mut child = spawn_engine(dir.path(), &account, true);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(600) {
            let _ = child.kill();
            panic!("the last run did not finish its sync in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "the last run ended with {status}");
    let converged = cached(dir.path(), &account).unwrap_or_default();
    let missing: Vec<u32> = want
        .keys()
        .filter(|u| !converged.contains_key(u))
        .copied()
        .collect();
    let extra: Vec<u32> = converged
        .keys()
        .filter(|u| !want.contains_key(u))
        .copied()
        .collect();
    let wrong_flags = want
        .iter()
        .filter(|(u, f)| converged.get(u).is_some_and(|g| g != *f))
        .count();
    println!(
        "crash: after {kills} kills, {} messages: {} missing, {} extra, {wrong_flags} with other flags",
        want.len(),
        missing.len(),
        extra.len()
    );
    assert!(
        missing.is_empty(),
        "missing after restarts: {:?}",
        &missing[..missing.len().min(20)]
    );
    assert!(
        extra.is_empty(),
        "extra after restarts: {:?}",
        &extra[..extra.len().min(20)]
    );
    assert_eq!(wrong_flags, 0, "flags differ from the server's");
}
