//! Baton's benchmarks: one program, a subcommand per area. Each starts its own servers,
//! measures Baton beside a baseline in the same run, prints a table and ends with one
//! `RESULT <name> key=value …` line for scripts.
//!
//! ```text
//! baton-bench sync [--messages N] [--rounds R]
//! baton-bench propagation [--clients N] [--changes C] [--observers O] [--engines E]
//! baton-bench load [--clients N] [--writers W] [--seconds S]
//! baton-bench send [--replies N]
//! ```

#[path = "bench/load.rs"]
mod load;
#[path = "bench/propagation.rs"]
mod propagation;
#[path = "bench/send.rs"]
mod send;
#[path = "bench/team.rs"]
mod team;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use baton::account::{Security, ServerEndpoint};
use baton::conversation::{FolderRole, View};
use baton::dev::corpus::{self, CorpusOptions};
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::events::Events;
use baton::imap::connect::open_session;
use baton::imap::headers::fetch_items;
use baton::imap::tls::client_config;
use baton::store::Store;
use baton::store::bodies::BodyCache;
use baton::sync::context::SyncContext;
use baton::sync::folder::sync_folder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USAGE: &str = "usage:
  baton-bench sync [--messages N] [--rounds R]
      First sync of N messages (default 100000) against a raw-socket baseline of the
      same header FETCH, a no-change resync, and opening the list from the cache in a
      fresh process. R rounds (default 3); the table shows medians.
  baton-bench propagation [--clients N] [--changes C] [--observers O] [--engines E]
                          [--imap-rounds R]
      Latency from one member's change to every other member: N team clients (default
      50) on an in-process team server, C changes (default 200), against the server's
      ping round trip; then the mailbox alone, a claim through an engine watched by O raw
      IMAP sessions in IDLE (default 10) and E other engines (default 2), against a raw
      UID STORE; then the server again with the mailbox as its authority.
  baton-bench load [--clients N] [--writers W] [--in-flight F] [--seconds S]
      N connected team clients (default 500); W of them (default 8) send changes as fast
      as the server takes them, F at a time each (default 4), for S seconds (default
      10); every client counts the events it saw (lost must be 0).
  baton-bench send [--replies N]
      N replies (default 40) through a real Postfix into the private Dovecot: what the
      duplicate-reply guard (reading the mailbox again) adds, and Send → SMTP accepted,
      against the same message sent by plain lettre.";

const SHARED: &str = "support@brightdesk.example";
const LOGIN: &str = "bench";
/// The corpus is generated as of this moment, so every run loads the same mail.
const BENCH_NOW: i64 = 1_795_000_000;
const PASSWORD: &str = "bench-secret";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("baton-bench: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("sync") => runtime.block_on(sync_bench(&args[1..])),
        Some("propagation") => runtime.block_on(propagation::run(&args[1..])),
        Some("load") => runtime.block_on(load::run(&args[1..])),
        Some("send") => runtime.block_on(send::run(&args[1..])),
        // Internal: the fresh process of the cache-open measurement.
        Some("open-cache") => open_cache(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

type BenchResult<T = ()> = Result<T, String>;

fn flag(args: &[String], name: &str, default: usize) -> BenchResult<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
        None => Ok(default),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The nearest-rank percentile (`p` in 0..=1); NaN for no values.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len().max(1)) - 1)
        .copied()
        .unwrap_or(f64::NAN)
}

/// One line of a result table: what, how much, the ratio to its baseline, the target.
fn row(measure: &str, value: String, ratio: Option<f64>, target: &str) {
    let ratio = ratio.map(|r| format!("{r:.2}")).unwrap_or_default();
    println!("{measure:<58} {value:>11} {ratio:>7} {target:>10}");
}

/// A fresh working directory, removed at the end unless BATON_BENCH_KEEP is set (to
/// look at the servers' and caches' files afterwards).
fn work_dir() -> BenchResult<(Option<tempfile::TempDir>, PathBuf)> {
    let work = tempfile::Builder::new()
        .prefix("baton-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    Ok(if std::env::var_os("BATON_BENCH_KEEP").is_some() {
        let kept = work.keep();
        eprintln!("keeping {}", kept.display());
        (None, kept)
    } else {
        let path = work.path().to_path_buf();
        (Some(work), path)
    })
}

async fn sync_bench(args: &[String]) -> BenchResult {
    let messages = flag(args, "--messages", 100_000)?;
    let rounds = flag(args, "--rounds", 3)?.max(1);
    let (_guard, work) = work_dir()?;

    eprintln!("starting a private Dovecot and loading {messages} messages …");
    let server = Dovecot::start(DovecotOptions {
        dir: Some(work.join("dovecot")),
        logins: vec![Login::new(LOGIN, PASSWORD, "support")],
    })
    .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let options = CorpusOptions {
        messages,
        ..CorpusOptions::demo_at(BENCH_NOW)
    };
    let batch = corpus::generate(&options).map(|m| {
        (
            m.folder.name().to_owned(),
            m.received_at,
            m.maildir_flags().to_owned(),
            m.raw,
        )
    });
    let report = server.import(LOGIN, batch).map_err(|e| e.to_string())?;
    let loaded: u32 = report.folders.iter().map(|(_, n)| n).sum();
    eprintln!(
        "loaded {loaded} messages in {:.1} s: {:?}",
        started.elapsed().as_secs_f64(),
        report.folders
    );
    let folders: Vec<String> = report.folders.iter().map(|(f, _)| f.clone()).collect();

    let endpoint = ServerEndpoint {
        host: "127.0.0.1".into(),
        port: server.imaps_port,
        security: Security::Tls,
    };
    let ca = server.pki.ca_file.clone();

    // Dovecot builds its header cache on the first FETCH; warm it so every measured run,
    // baseline and Baton alike, sees the same server state.
    raw_fetch(&endpoint, &ca, &folders).await?;

    let mut raw = Vec::new();
    let mut baton = Vec::new();
    let mut resync = Vec::new();
    let mut cache_open = Vec::new();
    let mut cache_loaded = Vec::new();
    let mut conversations = 0;
    for round in 0..rounds {
        raw.push(raw_fetch(&endpoint, &ca, &folders).await?);
        let dir = work.join(format!("cache-{round}"));
        let cpu_before = process_cpu_seconds();
        let (first, again, count) = baton_sync(&endpoint, &ca, &folders, &dir).await?;
        eprintln!(
            "  client CPU during Baton's sync: {:.2} s",
            process_cpu_seconds() - cpu_before
        );
        baton.push(first);
        resync.push(again);
        conversations = count;
        let (listed, loaded) = open_cache_in_fresh_process(&dir)?;
        cache_open.push(listed);
        cache_loaded.push(loaded);
        eprintln!(
            "round {}: raw {:.3} s, baton {:.3} s, resync {:.1} ms, cache open {:.1} ms (all loaded {:.1} ms)",
            round + 1,
            raw[round],
            baton[round],
            resync[round] * 1000.0,
            cache_open[round],
            cache_loaded[round]
        );
    }
    let raw_s = median(raw);
    let baton_s = median(baton);
    let resync_ms = median(resync) * 1000.0;
    let cache_open_ms = median(cache_open);
    let cache_loaded_ms = median(cache_loaded);
    let ratio = baton_s / raw_s;

    println!();
    println!("sync: {loaded} messages, {conversations} conversations, median of {rounds} rounds");
    println!(
        "{:<44} {:>12} {:>10} {:>10}",
        "measure", "value", "ratio", "target"
    );
    println!(
        "{:<44} {:>10.3} s {:>10} {:>10}",
        "raw socket header FETCH (baseline)", raw_s, "1.00", ""
    );
    println!(
        "{:<44} {:>10.3} s {:>10.2} {:>10}",
        "Baton first sync, threaded, ready to list", baton_s, ratio, "≤ 1.25"
    );
    println!(
        "{:<44} {:>9.1} ms {:>10} {:>10}",
        "Baton no-change resync", resync_ms, "", "≤ 150 ms"
    );
    println!(
        "{:<44} {:>9.1} ms {:>10} {:>10}",
        "open list from cache, fresh process", cache_open_ms, "", "≤ 300 ms"
    );
    println!();
    println!(
        "RESULT sync messages={loaded} raw_s={raw_s:.3} baton_s={baton_s:.3} ratio={ratio:.2} \
         resync_ms={resync_ms:.1} cache_open_ms={cache_open_ms:.1} cache_loaded_ms={cache_loaded_ms:.1}"
    );
    Ok(())
}

/// The baseline: the same FETCH Baton sends, over the same TLS, read to the end and not
/// parsed. Seconds for all folders.
async fn raw_fetch(endpoint: &ServerEndpoint, ca: &Path, folders: &[String]) -> BenchResult<f64> {
    let tls = client_config(Some(&ca.display().to_string())).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(endpoint.host.clone())
        .map_err(|e| e.to_string())?;
    let mut stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 256 * 1024];
    // Reads until the tagged reply's line is complete. Only the last bytes are looked at,
    // without decoding, so the baseline costs no more than the socket and TLS.
    let mut exchange =
        async |stream: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
               command: Option<String>,
               tag: &str|
               -> BenchResult<u64> {
            if let Some(command) = command {
                stream
                    .write_all(command.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let marker = format!("\r\n{tag} ").into_bytes();
            let mut tail: Vec<u8> = Vec::with_capacity(8192);
            let mut total = 0u64;
            loop {
                let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("the server closed the connection".into());
                }
                total += n as u64;
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 4096 {
                    tail.drain(..tail.len() - 4096);
                }
                if !tail.ends_with(b"\r\n") {
                    continue;
                }
                // The greeting is untagged: its first line is all there is.
                if tag == "*" {
                    return Ok(total);
                }
                let body = &tail[..tail.len() - 2];
                let line_start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let last_line = &tail[line_start.saturating_sub(1)..];
                if last_line.starts_with(&marker[1..])
                    || (line_start == 0 && tail.starts_with(&marker[2..]))
                {
                    return Ok(total);
                }
            }
        };
    exchange(&mut stream, None, "*").await?;
    exchange(
        &mut stream,
        Some(format!("R1 LOGIN {LOGIN} {PASSWORD}\r\n")),
        "R1",
    )
    .await?;
    let started = Instant::now();
    for (i, folder) in folders.iter().enumerate() {
        exchange(
            &mut stream,
            Some(format!("S{i} SELECT \"{folder}\" (CONDSTORE)\r\n")),
            &format!("S{i}"),
        )
        .await?;
        exchange(
            &mut stream,
            Some(format!("F{i} UID FETCH 1:* {}\r\n", fetch_items(true))),
            &format!("F{i}"),
        )
        .await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stream.write_all(b"Z LOGOUT\r\n").await;
    Ok(elapsed)
}

/// Baton's first sync into an empty cache (seconds), then a no-change resync on the same
/// connection (seconds), and the number of conversations.
async fn baton_sync(
    endpoint: &ServerEndpoint,
    ca: &Path,
    folders: &[String],
    dir: &Path,
) -> BenchResult<(f64, f64, usize)> {
    let tls = client_config(Some(&ca.display().to_string())).map_err(|e| e.to_string())?;
    let mut session = open_session(endpoint, tls, LOGIN, PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    let store =
        Store::open_loaded(&dir.join("headers"), SHARED, "bench").map_err(|e| e.to_string())?;
    let ctx = SyncContext {
        store: Arc::new(Mutex::new(store)),
        events: Events::new(),
        bodies: BodyCache::new(&dir.join("bodies")),
        suspects: Default::default(),
        checked: Default::default(),
        keywords: Default::default(),
    };
    let slots: Vec<u16> = folders
        .iter()
        .map(|f| {
            let role = if f == "INBOX" {
                FolderRole::Inbox
            } else {
                FolderRole::Sent
            };
            ctx.store().ensure_folder(f, role)
        })
        .collect();
    let started = Instant::now();
    for (folder, slot) in folders.iter().zip(&slots) {
        sync_folder(&mut session, &ctx, *slot, folder)
            .await
            .map_err(|e| e.to_string())?;
    }
    ctx.thread_pending().await.map_err(|e| e.to_string())?;
    let first = started.elapsed().as_secs_f64();
    let conversations = ctx.store().conversation_count();

    let started = Instant::now();
    for (folder, slot) in folders.iter().zip(&slots) {
        sync_folder(&mut session, &ctx, *slot, folder)
            .await
            .map_err(|e| e.to_string())?;
    }
    let again = started.elapsed().as_secs_f64();
    session.logout().await;
    Ok((first, again, conversations))
}

/// CPU time (user + system) this process has used, from /proc (Linux); 0 elsewhere.
fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the stat line; 100 ticks a second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `baton-bench open-cache` as a new process and returns the milliseconds it
/// reports: until the first page of the inbox list shows, and until every cached message
/// is loaded and threaded.
fn open_cache_in_fresh_process(dir: &Path) -> BenchResult<(f64, f64)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = std::process::Command::new(exe)
        .arg("open-cache")
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "open-cache failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut numbers = text.split_whitespace().map(|n| n.parse::<f64>());
    match (numbers.next(), numbers.next()) {
        (Some(Ok(listed)), Some(Ok(loaded))) => Ok((listed, loaded)),
        _ => Err(format!("open-cache printed {text:?}")),
    }
}

fn open_cache(args: &[String]) -> BenchResult {
    let dir = PathBuf::from(args.first().ok_or("open-cache needs a directory")?);
    let started = Instant::now();
    let (mut store, pending) =
        Store::open(&dir.join("headers"), SHARED, "bench").map_err(|e| e.to_string())?;
    let page = store.page(View::All, 0, 100);
    let listed = started.elapsed();
    if page.rows.len() < 100.min(page.total as usize) || page.rows.is_empty() {
        return Err("the cache listed nothing".into());
    }
    std::hint::black_box(&page);
    // The rest of a start: every message loaded and threaded, as the engine does next.
    store.install(pending.build().map_err(|e| e.to_string())?);
    let loaded = started.elapsed();
    let again = store.page(View::All, 0, 100);
    if again.rows.iter().map(|r| r.id).collect::<Vec<_>>()
        != page.rows.iter().map(|r| r.id).collect::<Vec<_>>()
    {
        return Err("the saved list and the loaded cache disagree".into());
    }
    println!(
        "{:.1} {:.1}",
        listed.as_secs_f64() * 1000.0,
        loaded.as_secs_f64() * 1000.0
    );
    Ok(())
}
