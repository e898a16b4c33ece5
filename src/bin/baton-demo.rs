//! The demo shared mailbox: a private Dovecot on loopback holding a realistic support
//! mailbox, and a Baton profile per team member pointing at it, passwords in the OS
//! credential store. `scripts/demo.sh` runs this and then opens Baton.
//!
//! ```text
//! baton-demo up --dir DIR      start (and on first run, fill) the mailbox; write profiles
//! baton-demo down --dir DIR    stop the mailbox
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use baton::account::{AccountSettings, Security, ServerEndpoint};
use baton::dev::corpus::{self, CorpusOptions};
use baton::dev::dovecot::{Dovecot, DovecotOptions, Login};
use baton::profile::Profile;
use baton::secrets::{OsKeychain, SecretStore};

/// Must match the desktop shell's keychain service name.
const KEYCHAIN_SERVICE: &str = "baton";
const MAILBOX: &str = "support";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("baton-demo"));
    let result = match args.first().map(String::as_str) {
        Some("up") => up(&dir),
        Some("down") => down(&dir),
        _ => {
            eprintln!("usage: baton-demo up|down [--dir DIR]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton-demo: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Member {
    id: &'static str,
    name: &'static str,
    password: &'static str,
}

const MEMBERS: [Member; 3] = [
    Member {
        id: "anna",
        name: "Anna de Vries",
        password: "anna-demo-pw",
    },
    Member {
        id: "bram",
        name: "Bram Jansen",
        password: "bram-demo-pw",
    },
    Member {
        id: "chloe",
        name: "Chloé Martin",
        password: "chloe-demo-pw",
    },
];

fn up(dir: &Path) -> Result<(), String> {
    let options = CorpusOptions::demo();
    let server_dir = dir.join("dovecot");
    // A mailbox that is already up is reused, so a second window can join the first.
    let (port, ca_file) = match running(&server_dir) {
        Some(running) => running,
        None => start(&server_dir, &options)?,
    };
    let app_dir = dir.join("app");
    for member in &MEMBERS {
        let profile = Profile::open(&app_dir, member.id).map_err(|e| e.to_string())?;
        let settings = AccountSettings {
            member_id: member.id.into(),
            display_name: member.name.into(),
            shared_address: options.shared_address.clone(),
            imap: ServerEndpoint {
                host: "127.0.0.1".into(),
                port,
                security: Security::Tls,
            },
            // The walking skeleton does not send yet; SMTP joins the demo with sending.
            smtp: ServerEndpoint {
                host: "127.0.0.1".into(),
                port: 465,
                security: Security::Tls,
            },
            username: member.id.into(),
            extra_ca_file: Some(ca_file.display().to_string()),
        };
        profile.save_account(&settings).map_err(|e| e.to_string())?;
        OsKeychain::new(KEYCHAIN_SERVICE, member.id)
            .set(&settings.credential_key(), member.password)
            .map_err(|e| format!("{e}: {}", e.detail.as_deref().unwrap_or_default()))?;
    }
    println!(
        "The demo shared mailbox {} is up on 127.0.0.1:{port} (IMAP over TLS).",
        options.shared_address
    );
    for member in &MEMBERS {
        println!(
            "  {:<6} {:<15} login {:<6} password {}",
            member.id, member.name, member.id, member.password
        );
    }
    Ok(())
}

/// The port and CA of a demo mailbox that is already running in `dir`.
fn running(dir: &Path) -> Option<(u16, PathBuf)> {
    let state = std::fs::read_to_string(dir.join("demo-port")).ok()?;
    let port: u16 = state.trim().parse().ok()?;
    let ca = dir.join("tls").join("ca.pem");
    let answering = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    (answering && ca.exists()).then_some((port, ca))
}

fn start(dir: &Path, options: &CorpusOptions) -> Result<(u16, PathBuf), String> {
    let server = Dovecot::start(DovecotOptions {
        dir: Some(dir.to_path_buf()),
        logins: MEMBERS
            .iter()
            .map(|m| Login::new(m.id, m.password, MAILBOX))
            .collect(),
    })
    .map_err(|e| e.to_string())?;
    if server
        .message_count(MEMBERS[0].id, "INBOX")
        .map_err(|e| e.to_string())?
        == 0
    {
        eprintln!("Filling the demo mailbox …");
        let batch = corpus::generate(options).map(|m| {
            (
                m.folder.name().to_owned(),
                m.received_at,
                m.maildir_flags().to_owned(),
                m.raw,
            )
        });
        let report = server
            .import(MEMBERS[0].id, batch)
            .map_err(|e| e.to_string())?;
        eprintln!("Demo mailbox: {:?}", report.folders);
    }
    std::fs::write(dir.join("demo-port"), server.imaps_port.to_string())
        .map_err(|e| e.to_string())?;
    let found = (server.imaps_port, server.pki.ca_file.clone());
    // The server keeps running after this program exits; `down` stops it.
    server.detach();
    Ok(found)
}

fn down(dir: &Path) -> Result<(), String> {
    let conf = dir.join("dovecot").join("dovecot.conf");
    if conf.exists() {
        let _ = std::process::Command::new("doveadm")
            .arg("-c")
            .arg(&conf)
            .arg("stop")
            .status();
    }
    let _ = std::fs::remove_file(dir.join("dovecot").join("demo-port"));
    Ok(())
}
