//! A private Postfix on loopback: the real SMTP server a sending client talks to in tests
//! and the demo. It delivers every recipient of the test domain by LMTP to the private
//! Dovecot and turns every other recipient into the `sink` mailbox, so nothing can leave
//! the machine. It never touches the system's Postfix (its own config, queue and log).
//!
//! Postfix's master must start as root (it drops to the `postfix` user itself), so this
//! works where the tests run in CI: as root.

use std::io;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::dovecot::{command_output, server_dir, set_mode, with_free_ports};
use super::tls::TestPki;

/// The mailbox that receives whatever is addressed outside the test domain.
pub const SINK_MAILBOX: &str = "sink";

#[derive(Debug, Clone)]
pub struct PostfixOptions {
    /// Where config, queue and log live. `None`: a temporary directory removed on drop.
    pub dir: Option<PathBuf>,
    /// Dovecot's LMTP port: where mail for `domain` goes.
    pub lmtp_port: u16,
    /// Dovecot's auth port. With it, both ports require SMTP AUTH before any recipient
    /// is accepted (a submission server); without it, any loopback client may send.
    pub sasl_port: Option<u16>,
    /// The test domain, e.g. `brightdesk.example`.
    pub domain: String,
    /// The server certificate (a leaf of the test CA) for STARTTLS and implicit TLS.
    pub pki: TestPki,
}

/// A running private Postfix. Dropping it stops the server.
#[derive(Debug)]
pub struct Postfix {
    dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    /// Postfix's config directory (`postfix -c`); empty once stopped.
    etc: PathBuf,
    /// Plain SMTP offering STARTTLS, like a submission port (587). AUTH is accepted
    /// before STARTTLS too, so a TLS-terminating test proxy can pass it through.
    pub smtp_port: u16,
    /// SMTP inside TLS from the first byte, like port 465.
    pub smtps_port: u16,
    pub domain: String,
    pub pki: TestPki,
}

impl Postfix {
    pub fn start(options: PostfixOptions) -> io::Result<Postfix> {
        check_domain(&options.domain)?;
        if id_number(&["-u"])? != 0 {
            return Err(io::Error::other(
                "a private Postfix must be started as root (its master drops privileges itself)",
            ));
        }
        // The postfix user must reach its queue and data directories below this one.
        let (dir, temp) = server_dir(options.dir, "baton-postfix-")?;
        let etc = dir.join("etc");
        std::fs::create_dir_all(&etc)?;
        make_queue(&dir)?;

        let mut temp = temp;
        with_free_ports(|[smtp_port, smtps_port]| {
            Postfix::launch(
                Postfix {
                    dir: dir.clone(),
                    temp: None,
                    etc: etc.clone(),
                    smtp_port,
                    smtps_port,
                    domain: options.domain.clone(),
                    pki: options.pki.clone(),
                },
                options.lmtp_port,
                options.sasl_port,
            )
        })
        .map(|mut server| {
            server.temp = temp.take();
            server
        })
    }

    /// Writes the configuration for `server`'s ports and starts Postfix on it.
    fn launch(server: Postfix, lmtp_port: u16, sasl_port: Option<u16>) -> io::Result<Postfix> {
        let (smtp_port, smtps_port) = (server.smtp_port, server.smtps_port);
        write_config(
            &server.etc.join("main.cf"),
            &main_cf(&server, lmtp_port, sasl_port),
        )?;
        write_config(
            &server.etc.join("master.cf"),
            &master_cf(smtp_port, smtps_port),
        )?;
        // Postfix regexp tables: `!/re/` matches what `re` does not.
        write_config(
            &server.etc.join("outside"),
            &format!(
                "!/@{}$/ {SINK_MAILBOX}@{}\n",
                regex_escape(&server.domain),
                server.domain
            ),
        )?;
        let _ = std::fs::remove_file(server.log_file());
        // `postfix start` would first check the whole installation, which takes from
        // 0.4 s on an idle machine to 4 s on a busy one; the queue is fresh and made
        // right by `make_queue`, so skip it (the marker is consumed by the start).
        std::fs::write(server.dir.join("queue").join("quick-start"), "")?;

        // A leftover instance of a persistent directory would hold the lock. Only then:
        // `postfix stop` with nothing running takes seconds (it waits to log).
        if server.dir.join("queue/pid/master.pid").exists() {
            let _ = postfix(&server.etc, "stop").status();
        }
        // `postfix start` exits 0 even when the master dies at once (a bad port, a
        // config it rejects): only the listening ports and the log tell.
        // Its output goes to a file, not a pipe: a daemon that kept the pipe open would
        // leave us waiting for an end that never comes.
        let errors = server.dir.join("start.err");
        let status = postfix(&server.etc, "start")
            .stderr(std::fs::File::create(&errors)?)
            .status()
            .map_err(|e| {
                io::Error::other(format!("could not run postfix (is it installed?): {e}"))
            })?;
        if !status.success() {
            let stderr = std::fs::read_to_string(&errors).unwrap_or_default();
            return Err(server.failure(&format!("postfix start failed: {}", stderr.trim())));
        }
        server.wait_until_listening()?;
        Ok(server)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.join("postfix.log")
    }

    /// Messages still in Postfix's queue (received, not yet delivered or bounced).
    pub fn queued(&self) -> io::Result<usize> {
        let mut count = 0;
        for sub in ["maildrop", "incoming", "active", "deferred", "hold"] {
            count += count_files(&self.dir.join("queue").join(sub))?;
        }
        Ok(count)
    }

    fn wait_until_listening(&self) -> io::Result<()> {
        // `postfix start` waits for the master's set-up, so the ports are normally bound
        // by now; the loop covers a slow machine.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let up = [self.smtp_port, self.smtps_port]
                .iter()
                .all(|port| TcpStream::connect((Ipv4Addr::LOCALHOST, *port)).is_ok());
            if up {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(self.failure("postfix did not start listening within 10 s"))
    }

    fn failure(&self, what: &str) -> io::Error {
        let log = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        io::Error::other(format!(
            "{what}; postfix.log ends with:\n{}",
            tail.join("\n")
        ))
    }

    /// Leaves the server running after this handle is gone (the demo); stop it with
    /// `postfix -c <dir>/etc stop`.
    pub fn detach(mut self) {
        self.etc = PathBuf::new();
        if let Some(temp) = self.temp.take() {
            let _ = temp.keep();
        }
    }

    /// The config directory `postfix -c` takes.
    pub fn config_dir(dir: &Path) -> PathBuf {
        dir.join("etc")
    }

    pub fn stop(&mut self) {
        if self.etc.as_os_str().is_empty() {
            return;
        }
        let master = std::fs::read_to_string(self.dir.join("queue/pid/master.pid"))
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok());
        // `postfix stop` sends the master the same signal as `abort`, then checks once a
        // second whether it is gone: a second per test. Waiting here takes milliseconds.
        let _ = postfix(&self.etc, "abort").status();
        if let Some(pid) = master {
            let deadline = Instant::now() + Duration::from_secs(5);
            while running(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        self.etc = PathBuf::new();
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
        if let Some(temp) = self.temp.take() {
            let _ = temp.close();
        }
    }
}

/// Whether process `pid` still runs (a zombie left unreaped in a container does not).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn postfix(etc: &Path, action: &str) -> Command {
    // Root's PATH has /usr/sbin; a test runner's may not.
    let program = if Path::new("/usr/sbin/postfix").exists() {
        "/usr/sbin/postfix"
    } else {
        "postfix"
    };
    let mut command = Command::new(program);
    command
        .arg("-c")
        .arg(etc)
        .arg(action)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Writes a config file dated a minute ago: Postfix rereads a file changed within the
/// last second until it is older ("still being edited"), which cost 2 s a start.
fn write_config(path: &Path, text: &str) -> io::Result<()> {
    std::fs::write(path, text)?;
    let past = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)?
        .set_modified(past)
}

/// The queue and data directories as `postfix post-install create-missing` makes them:
/// the queue root's, its subdirectories the postfix user's, the two that local programs
/// drop mail into group postdrop's.
fn make_queue(dir: &Path) -> io::Result<()> {
    let owner = id_number(&["-u", "postfix"])?;
    let postdrop = command_output("getent", &["group", "postdrop"])?;
    let postdrop: u32 = postdrop
        .split(':')
        .nth(2)
        .and_then(|gid| gid.parse().ok())
        .ok_or_else(|| io::Error::other("no postdrop group (is postfix installed?)"))?;
    let queue = dir.join("queue");
    let entries: [(&str, u32, Option<u32>); 13] = [
        ("active", 0o700, None),
        ("bounce", 0o700, None),
        ("corrupt", 0o700, None),
        ("defer", 0o700, None),
        ("deferred", 0o700, None),
        ("flush", 0o700, None),
        ("hold", 0o700, None),
        ("incoming", 0o700, None),
        ("private", 0o700, None),
        ("saved", 0o700, None),
        ("trace", 0o700, None),
        ("maildrop", 0o730, Some(postdrop)),
        ("public", 0o710, Some(postdrop)),
    ];
    for (name, mode, group) in entries {
        let sub = queue.join(name);
        std::fs::create_dir_all(&sub)?;
        std::os::unix::fs::chown(&sub, Some(owner), Some(group.unwrap_or(0)))?;
        set_mode(&sub, mode)?;
    }
    std::fs::create_dir_all(queue.join("pid"))?;
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    std::os::unix::fs::chown(&data, Some(owner), None)?;
    set_mode(&data, 0o700)
}

fn id_number(args: &[&str]) -> io::Result<u32> {
    let out = command_output("id", args)?;
    out.parse()
        .map_err(|_| io::Error::other(format!("id {} said {out:?}", args.join(" "))))
}

fn main_cf(server: &Postfix, lmtp_port: u16, sasl_port: Option<u16>) -> String {
    let d = server.dir.display();
    let domain = &server.domain;
    let lmtp = format!("lmtp:inet:127.0.0.1:{lmtp_port}");
    let auth = match sasl_port {
        Some(port) => format!(
            "smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{port}
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
"
        ),
        None => "smtpd_relay_restrictions = permit_mynetworks, reject\n".to_owned(),
    };
    format!(
        r#"# Private Postfix for Baton's tests and demo. Generated; edits are overwritten.
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/postfix.log
maillog_file_prefixes = {d}
syslog_name = baton-postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
myhostname = postfix.{domain}
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no

# Everything addressed to the test domain goes to Dovecot by LMTP; everything else is
# rewritten to the sink mailbox first, so no mail can leave the machine. With a non-empty
# virtual_alias_domains every address would bounce 5.1.1 (user unknown).
relay_domains = {domain}
relay_recipient_maps =
virtual_alias_domains =
virtual_alias_maps = regexp:{d}/etc/outside
relay_transport = {lmtp}
default_transport = {lmtp}
lmtp_host_lookup = native
smtp_host_lookup = native
smtp_dns_support_level = disabled
smtpd_peername_lookup = no

# TLS: STARTTLS offered on the plain port; AUTH allowed before it, for the test proxy.
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_session_cache_database =
lmtp_tls_security_level = none

{auth}
# Tests want answers and retries now, not the anti-abuse pauses of a real server.
smtpd_error_sleep_time = 0
in_flow_delay = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
"#,
        cert = server.pki.cert_file.display(),
        key = server.pki.key_file.display(),
    )
}

fn master_cf(smtp: u16, smtps: u16) -> String {
    // Nothing chrooted: the config, certificate and sockets live in a private directory.
    format!(
        r#"# service type  private unpriv chroot wakeup maxproc command
127.0.0.1:{smtp} inet n - n - - smtpd
127.0.0.1:{smtps} inet n - n - - smtpd
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
smtp      unix  - - n - - smtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"#
    )
}

/// The domain ends up in config lines and a regular expression.
fn check_domain(domain: &str) -> io::Result<()> {
    let ok = !domain.is_empty()
        && domain.contains('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "invalid domain for the test server: {domain:?}"
        )))
    }
}

fn regex_escape(domain: &str) -> String {
    domain.replace('.', "\\.")
}

fn count_files(dir: &Path) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut count = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}
