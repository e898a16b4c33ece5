//! A private Dovecot on loopback: its own config directory, free ports, a test CA, and
//! several logins that share one mailbox — the shape of a team's support@ mailbox.
//! Used by the tests, the demo and `baton-bench`. It never touches a system instance.
//!
//! For a private Postfix in front of it (the `postfix` module beside this one) it also offers an auth
//! listener for SMTP AUTH and accepts LMTP deliveries to `<mailbox>@<any domain>`.

use std::io;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::tls::{TestPki, write_test_pki};

/// One IMAP login. Logins with the same `mailbox` share one mailbox (keywords and flags
/// included), as the members of a team share support@.
#[derive(Debug, Clone)]
pub struct Login {
    pub name: String,
    pub password: String,
    pub mailbox: String,
}

impl Login {
    pub fn new(name: &str, password: &str, mailbox: &str) -> Login {
        Login {
            name: name.into(),
            password: password.into(),
            mailbox: mailbox.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DovecotOptions {
    /// Where config, state and mail live. `None`: a temporary directory removed on drop.
    pub dir: Option<PathBuf>,
    pub logins: Vec<Login>,
}

/// A running private Dovecot. Dropping it stops the server.
#[derive(Debug)]
pub struct Dovecot {
    dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    conf: PathBuf,
    /// Plain IMAP (for STARTTLS and for proxies in tests).
    pub imap_port: u16,
    /// IMAP over TLS.
    pub imaps_port: u16,
    /// LMTP: `<mailbox>@<any domain>` (or `<login>@…`) lands in that mailbox's INBOX.
    pub lmtp_port: u16,
    /// Dovecot's auth service for Postfix's SMTP AUTH (`smtpd_sasl_type = dovecot`).
    pub auth_port: u16,
    pub pki: TestPki,
    logins: Vec<Login>,
}

/// Who owns the mail files and runs the server's internal processes.
struct Identities {
    internal_user: String,
    login_user: String,
    mail_uid: u32,
    mail_gid: u32,
}

impl Dovecot {
    pub fn start(options: DovecotOptions) -> io::Result<Dovecot> {
        // Dovecot's unprivileged processes must reach the mail under this directory.
        let (dir, temp) = server_dir(options.dir, "baton-dovecot-")?;
        let ids = identities()?;
        let pki = write_test_pki(&dir.join("tls"))?;

        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let mut users = String::new();
        // Mail for a mailbox arrives by LMTP under the mailbox's name, which need not be
        // any login's: a userdb of its own, one entry per mailbox, that no passdb sees,
        // so nobody can log in as a mailbox.
        let mut mailboxes = String::new();
        let mut seen = std::collections::BTreeSet::new();
        for login in &options.logins {
            check_name(&login.name)?;
            check_name(&login.mailbox)?;
            let home = dir.join("mail").join(&login.mailbox);
            std::fs::create_dir_all(&home)?;
            chown(&home, ids.mail_uid, ids.mail_gid)?;
            users.push_str(&format!(
                "{}:{{PLAIN}}{}:{}:{}::{}::\n",
                login.name,
                login.password,
                ids.mail_uid,
                ids.mail_gid,
                home.display()
            ));
            if seen.insert(login.mailbox.as_str()) {
                mailboxes.push_str(&format!(
                    "{}::{}:{}::{}::\n",
                    login.mailbox,
                    ids.mail_uid,
                    ids.mail_gid,
                    home.display()
                ));
            }
        }
        std::fs::write(dir.join("users"), users)?;
        std::fs::write(dir.join("mailboxes"), mailboxes)?;
        let conf = dir.join("dovecot.conf");
        let mut temp = temp;
        with_free_ports(|[imap_port, imaps_port, lmtp_port, auth_port]| {
            Dovecot::launch(
                Dovecot {
                    dir: dir.clone(),
                    temp: None,
                    conf: conf.clone(),
                    imap_port,
                    imaps_port,
                    lmtp_port,
                    auth_port,
                    pki: pki.clone(),
                    logins: options.logins.clone(),
                },
                &ids,
            )
        })
        .map(|mut server| {
            server.temp = temp.take();
            server
        })
    }

    /// Writes the configuration for `server`'s ports and starts Dovecot on it.
    fn launch(server: Dovecot, ids: &Identities) -> io::Result<Dovecot> {
        let (dir, conf) = (&server.dir, &server.conf);
        std::fs::write(
            conf,
            config(
                dir,
                ids,
                &server.pki,
                Ports {
                    imap: server.imap_port,
                    imaps: server.imaps_port,
                    lmtp: server.lmtp_port,
                    auth: server.auth_port,
                },
            ),
        )?;
        let log = dir.join("dovecot.log");
        let _ = std::fs::remove_file(&log);

        // Stop a leftover instance of a persistent directory (the demo) before starting.
        let _ = doveadm_status(conf, &["stop"]);
        // Never pipe Dovecot's output: its master keeps stderr open and a pipe never closes.
        let status = Command::new("dovecot")
            .arg("-c")
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| {
                io::Error::other(format!("could not run dovecot (is it installed?): {e}"))
            })?;
        if !status.success() {
            return Err(server.failure("dovecot exited with an error"));
        }
        server.wait_until_listening()?;
        Ok(server)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn logins(&self) -> &[Login] {
        &self.logins
    }

    /// Runs `doveadm` against this instance.
    pub fn doveadm(&self, args: &[&str]) -> io::Result<String> {
        let output = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(io::Error::other(format!(
                "doveadm {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )))
        }
    }

    /// How many messages `folder` of `login` holds.
    pub fn message_count(&self, login: &str, folder: &str) -> io::Result<u32> {
        let out = self.doveadm(&[
            "-f", "flow", "mailbox", "status", "-u", login, "messages", folder,
        ])?;
        out.split_whitespace()
            .find_map(|field| field.strip_prefix("messages="))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected doveadm output: {out}")))
    }

    /// Loads messages into `login`'s mailbox through a maildir and `doveadm import`
    /// (10k messages in under a second). `messages` yields (folder, received_at unix
    /// seconds, maildir flags such as "S" or "RS", raw bytes). UIDs follow the order
    /// given. Fails unless every message arrived: `doveadm import` exits 0 even when
    /// every message failed.
    pub fn import<I>(&self, login: &str, messages: I) -> io::Result<ImportReport>
    where
        I: IntoIterator<Item = (String, i64, String, Vec<u8>)>,
    {
        let ids = identities()?;
        let source = self.dir.join(format!("import-{}", fastrand::u64(..)));
        let mut expected: std::collections::BTreeMap<String, u32> = Default::default();
        for (n, (folder, received_at, flags, raw)) in messages.into_iter().enumerate() {
            // Maildir++: INBOX is the root, other folders are ".Name".
            let folder_dir = if folder == "INBOX" {
                source.clone()
            } else {
                check_name(&folder)?;
                source.join(format!(".{folder}"))
            };
            let cur = folder_dir.join("cur");
            if !expected.contains_key(&folder) {
                for sub in ["cur", "new", "tmp"] {
                    std::fs::create_dir_all(folder_dir.join(sub))?;
                }
            }
            *expected.entry(folder.clone()).or_default() += 1;
            // The name sorts in the order given so UIDs follow it.
            let path = cur.join(format!("{received_at}.M{n:09}.baton:2,{flags}"));
            std::fs::write(&path, &raw)?;
            let mtime = std::time::UNIX_EPOCH + Duration::from_secs(received_at.max(0) as u64);
            std::fs::File::options()
                .write(true)
                .open(&path)?
                .set_modified(mtime)?;
        }
        chown_tree(&source, ids.mail_uid, ids.mail_gid)?;
        let before: Vec<u32> = expected
            .keys()
            .map(|f| self.message_count(login, f))
            .collect::<io::Result<_>>()?;
        let location = format!("maildir:{}", source.display());
        let result = self.doveadm(&["import", "-s", "-u", login, &location, "", "all"]);
        let _ = std::fs::remove_dir_all(&source);
        result?;
        let mut report = ImportReport::default();
        for ((folder, want), had) in expected.iter().zip(before) {
            let now = self.message_count(login, folder)?;
            if now != had + want {
                return Err(io::Error::other(format!(
                    "import into {folder} stored {} of {want} messages (see {})",
                    now.saturating_sub(had),
                    self.dir.join("dovecot.log").display()
                )));
            }
            report.folders.push((folder.clone(), *want));
        }
        Ok(report)
    }

    fn wait_until_listening(&self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let up = [
                self.imap_port,
                self.imaps_port,
                self.lmtp_port,
                self.auth_port,
            ]
            .iter()
            .all(|port| TcpStream::connect((Ipv4Addr::LOCALHOST, *port)).is_ok());
            if up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(self.failure("dovecot did not start listening within 15 s"))
    }

    fn failure(&self, what: &str) -> io::Error {
        let log = std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        io::Error::other(format!(
            "{what}; dovecot.log ends with:\n{}",
            tail.join("\n")
        ))
    }

    /// Leaves the server running after this handle is gone (the demo); stop it later
    /// with `doveadm -c <dir>/dovecot.conf stop`.
    pub fn detach(mut self) {
        self.conf = PathBuf::new();
        if let Some(temp) = self.temp.take() {
            let _ = temp.keep();
        }
    }

    pub fn stop(&mut self) {
        if self.conf.as_os_str().is_empty() {
            return;
        }
        let _ = doveadm_status(&self.conf, &["stop"]);
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        if let Some(temp) = self.temp.take() {
            let _ = temp.close();
        }
    }
}

#[derive(Debug, Default)]
pub struct ImportReport {
    /// Messages stored per folder.
    pub folders: Vec<(String, u32)>,
}

fn doveadm_status(conf: &Path, args: &[&str]) -> io::Result<std::process::ExitStatus> {
    Command::new("doveadm")
        .arg("-c")
        .arg(conf)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
}

struct Ports {
    imap: u16,
    imaps: u16,
    lmtp: u16,
    auth: u16,
}

fn config(dir: &Path, ids: &Identities, pki: &TestPki, ports: Ports) -> String {
    let Ports {
        imap,
        imaps,
        lmtp,
        auth,
    } = ports;
    let d = dir.display();
    let dh = Path::new("/usr/share/dovecot/dh.pem");
    let ssl_dh = if dh.exists() {
        format!("ssl_dh = <{}\n", dh.display())
    } else {
        String::new()
    };
    format!(
        r#"# Private Dovecot for Baton's tests and demo. Generated; edits are overwritten.
instance_name = baton-{instance}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
mail_fsync = never
auth_mechanisms = plain login
disable_plaintext_auth = no
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
{ssl_dh}mail_location = mdbox:~/mdbox
imap_metadata = yes
mail_max_keyword_length = 50

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
  default_fields = mail=mdbox:~/mdbox
}}
# LMTP looks up the whole recipient address: a login by its exact name above, else the
# mailbox named by the address's local part here.
userdb {{
  driver = passwd-file
  args = username_format=%Ln {d}/mailboxes
  default_fields = mail=mdbox:~/mdbox
}}

namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = subscribe
  }}
  mailbox Junk {{
    special_use = \Junk
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \Archive
    auto = subscribe
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
  process_min_avail = 2
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service auth {{
  inet_listener auth-postfix {{
    address = 127.0.0.1
    port = {auth}
  }}
}}
service imap {{
  process_limit = 2048
}}
protocol imap {{
  mail_max_userip_connections = 2048
}}
"#,
        instance = fastrand::u32(..),
        internal = ids.internal_user,
        internal_group = ids.internal_user,
        login_user = ids.login_user,
        cert = pki.cert_file.display(),
        key = pki.key_file.display(),
    )
}

/// Names that end up in paths and config lines.
fn check_name(name: &str) -> io::Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "invalid name for the test server: {name:?}"
        )))
    }
}

/// Starts a server with `start` on ports found free, again with other ports when one was
/// taken meanwhile: between finding a port free and the server binding it, another
/// process (or an outgoing connection's ephemeral port) can take it.
pub(super) fn with_free_ports<const N: usize, T>(
    mut start: impl FnMut([u16; N]) -> io::Result<T>,
) -> io::Result<T> {
    const ATTEMPTS: usize = 4;
    let mut attempt = 1;
    loop {
        match start(free_ports()?) {
            Err(e) if attempt < ATTEMPTS && e.to_string().contains("Address already in use") => {
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

pub(super) fn free_ports<const N: usize>() -> io::Result<[u16; N]> {
    // Hold all listeners at once so the ports differ; the window between closing them
    // and the server binding is small and only other processes can race it.
    let listeners = (0..N)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<io::Result<Vec<_>>>()?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

pub(super) fn command_output(program: &str, args: &[&str]) -> io::Result<String> {
    let out = Command::new(program).args(args).output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn identities() -> io::Result<Identities> {
    let uid: u32 = command_output("id", &["-u"])?
        .parse()
        .map_err(io::Error::other)?;
    if uid == 0 {
        // As root, Dovecot drops to its own users and the mail belongs to nobody.
        let mail_uid = command_output("id", &["-u", "nobody"])?
            .parse()
            .map_err(io::Error::other)?;
        let mail_gid = command_output("id", &["-g", "nobody"])?
            .parse()
            .map_err(io::Error::other)?;
        Ok(Identities {
            internal_user: "dovecot".into(),
            login_user: "dovenull".into(),
            mail_uid,
            mail_gid,
        })
    } else {
        // As an ordinary user everything runs as that user.
        let name = command_output("id", &["-un"])?;
        let gid = command_output("id", &["-g"])?
            .parse()
            .map_err(io::Error::other)?;
        Ok(Identities {
            internal_user: name.clone(),
            login_user: name,
            mail_uid: uid,
            mail_gid: gid,
        })
    }
}

/// A test server's directory: `dir` when given (kept), else a temporary one removed
/// with the returned guard; readable by the server's unprivileged processes either way.
pub(super) fn server_dir(
    dir: Option<PathBuf>,
    prefix: &str,
) -> io::Result<(PathBuf, Option<tempfile::TempDir>)> {
    let (dir, temp) = match dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            (dir, None)
        }
        None => {
            let temp = tempfile::Builder::new().prefix(prefix).tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    set_mode(&dir, 0o755)?;
    Ok((dir, temp))
}

pub(super) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn chown(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    match std::os::unix::fs::chown(path, Some(uid), Some(gid)) {
        // As an ordinary user the files are already ours.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(()),
        other => other,
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    chown(path, uid, gid)?;
    if path.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_taken_meanwhile_means_another_try_with_other_ports() {
        let mut tried: Vec<[u16; 2]> = Vec::new();
        let started = with_free_ports(|ports| {
            tried.push(ports);
            if tried.len() < 3 {
                Err(io::Error::other(
                    "dovecot exited with an error; dovecot.log ends with:\nlisten(127.0.0.1, 1) failed: Address already in use",
                ))
            } else {
                Ok(ports)
            }
        })
        .expect("the third try");
        assert_eq!(tried.len(), 3);
        assert_eq!(started, tried[2]);
        assert!(tried.iter().all(|[a, b]| a != b && *a != 0));

        // Any other failure is reported at once, and the tries are bounded.
        let mut calls = 0;
        let refused = with_free_ports(|_: [u16; 1]| -> io::Result<()> {
            calls += 1;
            Err(io::Error::other("a bad configuration"))
        });
        assert!(refused.is_err());
        assert_eq!(calls, 1);
        let mut calls = 0;
        let busy = with_free_ports(|_: [u16; 1]| -> io::Result<()> {
            calls += 1;
            Err(io::Error::other("Address already in use"))
        });
        assert!(busy.is_err());
        assert_eq!(calls, 4);
    }
}
