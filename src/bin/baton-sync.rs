//! `baton-sync`: the team sync server for Baton, for an always-on machine. The same
//! server runs inside the desktop app when a team hosts it there.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use baton::teamsync::config::SAMPLE_CONFIG;
use baton::teamsync::{ServerConfig, TeamServer, auth::Verifier, members, store::Store};

fn help() -> String {
    format!(
        "baton-sync {version}: the team sync server for Baton (claims, status and presence \
for shared mailboxes)

USAGE:
    baton-sync --config FILE                          run the server
    baton-sync --config FILE invite MAILBOX MEMBER    add a member; prints a one-time invite code
    baton-sync --help | --version

The server prints the address it listens on and, with TLS, the SHA-256 fingerprint of
its certificate: members compare it with the one their Baton shows when they connect.

'invite' opens the store directly, so run it while the server is stopped. The member
redeems the code once in Baton (or with a `redeem` frame) and gets their secret; only a
hash of it is stored. A member who already has a secret keeps it and is only added to
the mailbox.

Logging goes to standard error; set RUST_LOG (for example RUST_LOG=debug) for more.

CONFIGURATION (TOML), every key with an example:

{SAMPLE_CONFIG}",
        version = env!("CARGO_PKG_VERSION")
    )
}

enum Command {
    Help,
    Version,
    Run(PathBuf),
    Invite {
        config: PathBuf,
        mailbox: String,
        member: String,
    },
}

fn parse(args: &[String]) -> Result<Command, String> {
    let mut config = None;
    let mut rest = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-c" | "--config" => {
                config = Some(PathBuf::from(
                    iter.next().ok_or("--config needs a file name")?,
                ));
            }
            other if other.starts_with("--config=") => {
                config = Some(PathBuf::from(&other["--config=".len()..]));
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other => rest.push(other.to_owned()),
        }
    }
    let config = config.ok_or("--config FILE is required")?;
    match rest.as_slice() {
        [] => Ok(Command::Run(config)),
        [invite, mailbox, member] if invite == "invite" => Ok(Command::Invite {
            config,
            mailbox: mailbox.clone(),
            member: member.clone(),
        }),
        _ => Err(format!("unexpected arguments: {}", rest.join(" "))),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("baton-sync: {message}\nTry 'baton-sync --help'.");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{}", help());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("baton-sync {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("baton-sync: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match command {
            Command::Run(path) => run(path).await,
            Command::Invite {
                config,
                mailbox,
                member,
            } => invite(config, mailbox, member).await,
            Command::Help | Command::Version => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            match &problem.detail {
                Some(detail) => eprintln!("baton-sync: {} ({detail})", problem.message),
                None => eprintln!("baton-sync: {}", problem.message),
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(path: PathBuf) -> baton::problem::Result<()> {
    let config = ServerConfig::load(&path)?;
    let server = TeamServer::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "baton-sync {} listening on {}",
            env!("CARGO_PKG_VERSION"),
            server.url()
        );
        if let Some(fingerprint) = server.fingerprint() {
            let _ = writeln!(out, "certificate fingerprint (SHA-256): {fingerprint}");
        }
        let _ = out.flush();
    }
    stopped().await;
    tracing::info!("stopping");
    server.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn invite(path: PathBuf, mailbox: String, member: String) -> baton::problem::Result<()> {
    let config = ServerConfig::load(&path)?;
    let store = Store::open(&config.store, config.log_keep)?;
    let verifier = Verifier::new(1);
    let enrollment = members::enroll(&store, &verifier, &config, &mailbox, &member).await;
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    let enrollment = enrollment?;
    match enrollment.invite {
        Some(code) => {
            println!("{member} was added to {mailbox}.");
            println!("invite code (valid for 7 days, works once): {code}");
        }
        None => println!("{member} already has a secret; it now works for {mailbox} too."),
    }
    Ok(())
}
