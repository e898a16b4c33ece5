//! `baton-sync`: the team sync server for Baton, for an always-on machine. The same
//! server runs inside the desktop app when a team hosts it there.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use std::collections::BTreeMap;
use std::sync::Arc;

use baton::account::{AccountSettings, ServerEndpoint};
use baton::problem::{Problem, ProblemCode};
use baton::profile::Profile;
use baton::secrets::{MemorySecrets, OsKeychain, SecretStore};
use baton::team::authority::{ImapAuthority, ServerMailbox};
use baton::teamsync::Authority;
use baton::teamsync::config::{ImapAccount, SAMPLE_CONFIG};
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
    // Mailboxes with an IMAP account keep the team state in the mailbox itself; the
    // others (and servers without custom keywords) in the server's store.
    let mut authorities: BTreeMap<String, Arc<dyn Authority>> = BTreeMap::new();
    let mut mailboxes = Vec::new();
    for mailbox in &config.mailboxes {
        if let Some(imap) = &mailbox.imap {
            let opened = Arc::new(server_mailbox(&config.store, &mailbox.id, imap).await?);
            authorities.insert(mailbox.id.clone(), ImapAuthority::new(opened.clone()));
            mailboxes.push(opened);
        }
    }
    let server = TeamServer::start_with(config, authorities).await?;
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
    for mailbox in mailboxes {
        mailbox.stop().await;
    }
    Ok(())
}

/// The server's own connection to a shared mailbox, with its cache under the store.
async fn server_mailbox(
    store: &std::path::Path,
    id: &str,
    imap: &ImapAccount,
) -> baton::problem::Result<ServerMailbox> {
    let password = match (&imap.password_env, &imap.password_keychain) {
        (Some(var), _) => std::env::var(var).map_err(|_| {
            Problem::new(
                ProblemCode::PasswordMissing,
                format!("mailbox {id}: the environment variable {var} is not set"),
            )
        })?,
        (None, Some(key)) => OsKeychain::new("baton-sync", id).get(key)?.ok_or_else(|| {
            Problem::new(
                ProblemCode::PasswordMissing,
                format!("mailbox {id}: no password in the credential store under {key}"),
            )
        })?,
        (None, None) => {
            return Err(Problem::new(
                ProblemCode::PasswordMissing,
                format!("mailbox {id}: no password source"),
            ));
        }
    };
    let endpoint = ServerEndpoint {
        host: imap.host.clone(),
        port: imap.port,
        security: imap.security,
    };
    let account = AccountSettings {
        member_id: "team-server".to_owned(),
        display_name: "Team server".to_owned(),
        shared_address: imap.address.clone(),
        imap: endpoint.clone(),
        // Not used: the server never sends mail.
        smtp: endpoint,
        username: imap.username.clone(),
        extra_ca_file: imap.ca_file.as_ref().map(|p| p.display().to_string()),
    };
    let profile = Profile::open(&store.join("imap"), id)?;
    // The password stays in this process's memory: it came from the environment or
    // the credential store and is never written anywhere by the server.
    let secrets: Arc<dyn SecretStore> = Arc::new(MemorySecrets::default());
    secrets.set(&account.credential_key(), &password)?;
    let cache = baton::mailbox::cache_dir(&profile.cache_dir(), &account);
    let mailbox = ServerMailbox::open(&cache, account, secrets).await?;
    tracing::info!(mailbox = id, "reading the mailbox for its team state");
    Ok(mailbox)
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
