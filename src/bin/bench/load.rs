//! `baton-bench load`: many connected members, a few writing as fast as the server
//! accepts, and every member counting the events it saw.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use baton::contract::Action;
use baton::teamsync::{TeamClient, TeamEvent};
use tokio::sync::broadcast;

use super::team;
use super::{BenchResult, flag, percentile, process_cpu_seconds, row, work_dir};

/// Members enrolled; the connections take them in turn (each hello is still checked).
const MAX_MEMBERS: usize = 50;
/// How long the clients may take to catch up once the writers stop.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);
/// Catching up is given up when no client saw anything new for this long.
const DRAIN_STALL: Duration = Duration::from_secs(5);

/// What one client saw.
#[derive(Default)]
struct Tally {
    /// Distinct seqs above the start of the measured phase.
    distinct: AtomicU64,
    max_seq: AtomicU64,
    lagged: AtomicU64,
    reconnects: AtomicU64,
}

/// Counts the distinct change events above `base` (a resumed connection may repeat some).
fn count(mut events: broadcast::Receiver<TeamEvent>, base: u64, tally: Arc<Tally>) {
    tokio::spawn(async move {
        let mut seen: Vec<u64> = Vec::new();
        loop {
            match events.recv().await {
                Ok(TeamEvent::Change(event)) if event.seq > base => {
                    let bit = (event.seq - base) as usize;
                    if seen.len() <= bit / 64 {
                        seen.resize(bit / 64 + 1024, 0);
                    }
                    let mask = 1u64 << (bit % 64);
                    if seen[bit / 64] & mask == 0 {
                        seen[bit / 64] |= mask;
                        tally.distinct.fetch_add(1, Ordering::Relaxed);
                        tally.max_seq.fetch_max(event.seq, Ordering::Relaxed);
                    }
                }
                Ok(TeamEvent::Disconnected { .. }) => {
                    tally.reconnects.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tally.lagged.fetch_add(n, Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

#[derive(Default)]
struct Written {
    seqs: Vec<u64>,
    acks: Vec<f64>,
    errors: BTreeMap<String, u64>,
}

/// The writers (the first `writers` clients, `in_flight` changes at a time each) claim
/// fresh conversations until `seconds` have passed.
async fn write(
    clients: &[Arc<TeamClient>],
    writers: usize,
    in_flight: usize,
    seconds: f64,
    phase: &str,
) -> BenchResult<(Written, f64)> {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for (w, client) in clients.iter().take(writers).enumerate() {
        for f in 0..in_flight {
            let client = client.clone();
            let phase = phase.to_owned();
            tasks.push(tokio::spawn(async move {
                let mut written = Written::default();
                let mut n = 0u64;
                while Instant::now() < until {
                    n += 1;
                    let conversation = format!("<{phase}-{w}-{f}-{n}@load.example>");
                    let sent = Instant::now();
                    match client.change(&conversation, &Action::Claim, None).await {
                        Ok(seq) => {
                            written.seqs.push(seq);
                            written.acks.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        Err(e) => {
                            *written.errors.entry(format!("{:?}", e.code)).or_default() += 1;
                        }
                    }
                }
                written
            }));
        }
    }
    let mut all = Written::default();
    for task in tasks {
        let written = task.await.map_err(|e| e.to_string())?;
        all.seqs.extend(written.seqs);
        all.acks.extend(written.acks);
        for (code, n) in written.errors {
            *all.errors.entry(code).or_default() += n;
        }
    }
    Ok((all, started.elapsed().as_secs_f64()))
}

pub async fn run(args: &[String]) -> BenchResult {
    let clients = flag(args, "--clients", 500)?.max(1);
    let writers = flag(args, "--writers", 8)?.clamp(1, clients);
    let in_flight = flag(args, "--in-flight", 4)?.max(1);
    let seconds = flag(args, "--seconds", 10)?.max(1) as f64;
    let baseline_seconds = flag(args, "--baseline-seconds", 3)? as f64;
    if let Some(limit) = open_files_limit()
        && limit < 2 * clients as u64 + 256
    {
        eprintln!(
            "warning: {limit} open files allowed; {clients} clients need about {} \
             (raise with `ulimit -n`)",
            2 * clients + 256
        );
    }
    let (_guard, work) = work_dir()?;
    let server = team::start_server(&work.join("store"), clients, None).await?;
    let members = team::enrol(&server, clients.min(MAX_MEMBERS)).await?;

    // The baseline: the writers alone, so the fan-out to the others is the difference.
    eprintln!("connecting {writers} writers …");
    let mut connected: Vec<Arc<TeamClient>> = team::connect(&server, &members, writers)
        .await?
        .into_iter()
        .map(|(client, _)| Arc::new(client))
        .collect();
    let mut baseline_rate = None;
    let mut base = 0;
    if baseline_seconds > 0.0 {
        eprintln!(
            "baseline: {writers} writers × {in_flight} in flight, no other clients, {baseline_seconds} s …"
        );
        let (written, elapsed) =
            write(&connected, writers, in_flight, baseline_seconds, "base").await?;
        base = written.seqs.iter().copied().max().unwrap_or(0);
        baseline_rate = Some(written.seqs.len() as f64 / elapsed);
    }

    eprintln!("connecting {} more clients …", clients - writers);
    let connect_started = Instant::now();
    let rest = team::connect(
        &server,
        &members[writers % members.len()..],
        clients - writers,
    )
    .await?;
    let connect_s = connect_started.elapsed().as_secs_f64();
    connected.extend(rest.into_iter().map(|(client, _)| Arc::new(client)));
    let tallies: Vec<Arc<Tally>> = connected
        .iter()
        .map(|client| {
            let tally = Arc::new(Tally::default());
            count(client.subscribe(), base, tally.clone());
            tally
        })
        .collect();

    eprintln!("load: {clients} clients, {writers} writers × {in_flight} in flight, {seconds} s …");
    let cpu_before = process_cpu_seconds();
    let (written, elapsed) = write(&connected, writers, in_flight, seconds, "load").await?;
    let cpu_s = process_cpu_seconds() - cpu_before;
    let stopped = Instant::now();
    let accepted = written.seqs.len();
    let rate = accepted as f64 / elapsed;

    // Every seq handed out since `base` must reach every client, including changes whose
    // `ok` was lost (their event still goes out).
    let highest = |tallies: &[Arc<Tally>]| {
        tallies
            .iter()
            .map(|t| t.max_seq.load(Ordering::Relaxed))
            .chain(written.seqs.iter().copied())
            .max()
            .unwrap_or(base)
    };
    let seen_total = |tallies: &[Arc<Tally>]| -> u64 {
        tallies
            .iter()
            .map(|t| t.distinct.load(Ordering::Relaxed))
            .sum()
    };
    let mut last_total = seen_total(&tallies);
    let mut last_progress = Instant::now();
    let mut caught_up = None;
    while stopped.elapsed() < DRAIN_LIMIT {
        let expected = (highest(&tallies) - base) * clients as u64;
        let total = seen_total(&tallies);
        if total >= expected {
            caught_up = Some(stopped.elapsed());
            break;
        }
        if total != last_total {
            last_total = total;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > DRAIN_STALL {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let expected = highest(&tallies) - base;
    let lost: u64 = tallies
        .iter()
        .map(|t| expected.saturating_sub(t.distinct.load(Ordering::Relaxed)))
        .sum();
    let short = tallies
        .iter()
        .filter(|t| t.distinct.load(Ordering::Relaxed) < expected)
        .count();
    let lagged: u64 = tallies
        .iter()
        .map(|t| t.lagged.load(Ordering::Relaxed))
        .sum();
    let reconnects: u64 = tallies
        .iter()
        .map(|t| t.reconnects.load(Ordering::Relaxed))
        .sum();
    let delivered_s = elapsed + caught_up.unwrap_or(stopped.elapsed()).as_secs_f64();
    let delivered = seen_total(&tallies) as f64 / delivered_s;

    println!();
    println!(
        "load: {clients} clients on one mailbox (store authority; server in this process on its own runtime), \
         {writers} writers × {in_flight} in flight for {elapsed:.1} s; all clients connected in {connect_s:.1} s"
    );
    println!(
        "{:<58} {:>11} {:>7} {:>10}",
        "measure", "value", "ratio", "target"
    );
    if let Some(baseline) = baseline_rate {
        row(
            &format!("changes/s, {writers} writers alone (baseline)"),
            format!("{baseline:.0}"),
            Some(1.0),
            "",
        );
    }
    row(
        &format!("changes/s with {clients} clients listening"),
        format!("{rate:.0}"),
        baseline_rate.map(|b| rate / b),
        "≥ 2000",
    );
    row(
        "events delivered/s (all clients, until caught up)",
        format!("{delivered:.0}"),
        None,
        "",
    );
    row(
        "change ok'd under load, p50",
        format!("{:.1} ms", percentile(&written.acks, 0.50)),
        None,
        "",
    );
    row(
        "change ok'd under load, p99",
        format!("{:.1} ms", percentile(&written.acks, 0.99)),
        None,
        "",
    );
    row(
        "last change → every client has everything",
        caught_up.map_or("never".to_owned(), |d| {
            format!("{:.0} ms", d.as_secs_f64() * 1000.0)
        }),
        None,
        "",
    );
    row(
        "process CPU while writing (server + all clients)",
        format!("{:.0} %", 100.0 * cpu_s / elapsed),
        None,
        "of 200 %",
    );
    row(
        "lost events (expected − seen, over all clients)",
        lost.to_string(),
        None,
        "0",
    );
    if lost > 0 {
        eprintln!("  {short} of {clients} clients are missing events");
    }
    if lagged > 0 || reconnects > 0 {
        eprintln!("  client-side lagged events: {lagged}, reconnects: {reconnects}");
    }
    if !written.errors.is_empty() {
        eprintln!("  refused changes: {:?}", written.errors);
    }
    println!();
    println!(
        "RESULT load clients={clients} changes_per_s={rate:.0} lost={lost} writers={writers} \
         in_flight={in_flight} baseline_changes_per_s={:.0} ack_p50_ms={:.1} ack_p99_ms={:.1} \
         catch_up_ms={:.0} reconnects={reconnects} refused={}",
        baseline_rate.unwrap_or(f64::NAN),
        percentile(&written.acks, 0.50),
        percentile(&written.acks, 0.99),
        caught_up.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
        written.errors.values().sum::<u64>(),
    );
    let owned: Vec<TeamClient> = connected
        .into_iter()
        .filter_map(|c| Arc::try_unwrap(c).ok())
        .collect();
    team::stop(owned, server).await;
    Ok(())
}

/// The soft limit on open files, from /proc (Linux).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
