//! A fault-injecting SMTP proxy in front of the private Postfix: implicit TLS toward the
//! client with the test certificate, plain SMTP to Postfix's submission port. It reads the
//! client's stream line by line, so it can fail a step on demand — the failures a sending
//! client must survive and that a real server will not produce when asked.
//!
//! The EHLO reply loses PIPELINING and CHUNKING (the client must send one command at a
//! time and use DATA, never BDAT) and STARTTLS (the client already has TLS with us).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use baton::dev::tls::TestPki;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use super::front::tls_front;

/// What the proxy does to a connection. The fault in force when a connection opens
/// applies to that whole connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// Complete the TLS handshake, then close without a greeting (the listener stays up:
    /// a server that accepts and dies, not one that is down).
    RefuseConnect,
    /// Answer every RCPT TO with `451 4.3.0` without forwarding it.
    TempFailRcpt,
    /// Take the whole message, then answer its end-of-data dot with `554 5.7.1`; the dot
    /// never reaches Postfix and the upstream connection is dropped, so nothing is
    /// delivered.
    PermFailData,
    /// Forward the end-of-data dot (Postfix accepts and delivers the message), then close
    /// the client's connection without relaying Postfix's 250: the client cannot know.
    DropAfterData,
}

#[derive(Debug)]
struct Plan {
    fault: Fault,
    /// Revert to `Fault::None` once a connection has taken the fault.
    once: bool,
}

#[derive(Clone)]
pub struct SmtpProxy {
    pub port: u16,
    plan: Arc<Mutex<Plan>>,
    connections: Arc<AtomicU64>,
    delivered: Arc<AtomicU64>,
}

impl SmtpProxy {
    /// Starts the proxy toward Postfix's plain (STARTTLS) port; no fault at first.
    pub async fn start(plain_port: u16, pki: &TestPki) -> SmtpProxy {
        let plan = Arc::new(Mutex::new(Plan {
            fault: Fault::None,
            once: false,
        }));
        let connections = Arc::new(AtomicU64::new(0));
        let delivered = Arc::new(AtomicU64::new(0));
        let (p, c, d) = (plan.clone(), connections.clone(), delivered.clone());
        let port = tls_front(plain_port, pki, move |client, server| {
            c.fetch_add(1, Ordering::SeqCst);
            let fault = {
                let mut plan = p.lock().expect("fault plan");
                let fault = plan.fault;
                if plan.once {
                    *plan = Plan {
                        fault: Fault::None,
                        once: false,
                    };
                }
                fault
            };
            relay(client, server, fault, d.clone())
        })
        .await;
        SmtpProxy {
            port,
            plan,
            connections,
            delivered,
        }
    }

    /// `fault` for every connection from now on.
    pub fn set_fault(&self, fault: Fault) {
        *self.plan.lock().expect("fault plan") = Plan { fault, once: false };
    }

    /// `fault` for the next connection only; later ones pass through.
    pub fn fault_once(&self, fault: Fault) {
        *self.plan.lock().expect("fault plan") = Plan { fault, once: true };
    }

    /// Client connections accepted (TLS handshake done) so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Messages Postfix accepted (250 to the end-of-data dot) through this proxy,
    /// whether or not the client heard of it.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }
}

const TEMP_FAIL_RCPT: &[u8] = b"451 4.3.0 Temporary failure injected by the test proxy\r\n";
const PERM_FAIL_DATA: &[u8] = b"554 5.7.1 Message refused by the test proxy\r\n";

async fn relay<C>(client: C, server: TcpStream, fault: Fault, delivered: Arc<AtomicU64>)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    if fault == Fault::RefuseConnect {
        return;
    }
    let (client_read, mut client_write) = tokio::io::split(client);
    let mut client_read = BufReader::new(client_read);
    let (server_read, server_write) = server.into_split();
    let mut server_read = BufReader::new(server_read);
    // Message content is written line by line and flushed with the end-of-data dot.
    let mut server_write = BufWriter::new(server_write);

    let Some(greeting) = reply(&mut server_read).await else {
        return;
    };
    if send(&mut client_write, &greeting).await.is_none() {
        return;
    }
    let mut in_data = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        match client_read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if in_data {
            // Dot-stuffing: only a line that is exactly "." ends the content.
            if line != b".\r\n" && line != b".\n" {
                if server_write.write_all(&line).await.is_err() {
                    return;
                }
                continue;
            }
            in_data = false;
            if fault == Fault::PermFailData {
                // Postfix never sees the dot; losing the connection mid-DATA makes it
                // discard the message.
                drop(server_write);
                let _ = send(&mut client_write, PERM_FAIL_DATA).await;
                after_abandon(&mut client_read, &mut client_write).await;
                return;
            }
            if send(&mut server_write, &line).await.is_none() {
                return;
            }
            let Some(result) = reply(&mut server_read).await else {
                return;
            };
            if result.starts_with(b"2") {
                delivered.fetch_add(1, Ordering::SeqCst);
            }
            if fault == Fault::DropAfterData || send(&mut client_write, &result).await.is_none() {
                return;
            }
            continue;
        }
        let verb = verb(&line);
        let answer = match verb.as_str() {
            "RCPT" if fault == Fault::TempFailRcpt => TEMP_FAIL_RCPT.to_vec(),
            // Not offered, and the proxy could follow neither.
            "STARTTLS" | "BDAT" => {
                let _ = send(&mut client_write, b"502 5.5.1 Not offered here\r\n").await;
                return;
            }
            _ => {
                if send(&mut server_write, &line).await.is_none() {
                    return;
                }
                let Some(answer) = reply(&mut server_read).await else {
                    return;
                };
                match verb.as_str() {
                    "EHLO" => strip_extensions(&answer),
                    "DATA" => {
                        in_data = answer.starts_with(b"354");
                        answer
                    }
                    _ => answer,
                }
            }
        };
        if send(&mut client_write, &answer).await.is_none() || verb == "QUIT" {
            return;
        }
    }
}

/// After a refused message the upstream session is gone: end the client's politely.
async fn after_abandon<R, W>(client_read: &mut R, client_write: &mut W)
where
    R: AsyncBufReadExt + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    loop {
        line.clear();
        match client_read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let answer: &[u8] = match verb(&line).as_str() {
            "RSET" | "NOOP" => b"250 2.0.0 Ok\r\n",
            "QUIT" => b"221 2.0.0 Bye\r\n",
            _ => b"421 4.3.0 Session ended by the test proxy\r\n",
        };
        if send(client_write, answer).await.is_none() || !answer.starts_with(b"250") {
            return;
        }
    }
}

/// The command's verb, upper case ("" for a blank line).
fn verb(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    text.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// One whole reply: lines up to the one whose code is followed by a space.
async fn reply<R>(server: &mut R) -> Option<Vec<u8>>
where
    R: AsyncBufReadExt + Unpin,
{
    let mut answer = Vec::new();
    loop {
        let start = answer.len();
        match server.read_until(b'\n', &mut answer).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if answer.get(start + 3) != Some(&b'-') {
            return Some(answer);
        }
    }
}

async fn send<W>(to: &mut W, bytes: &[u8]) -> Option<()>
where
    W: AsyncWrite + Unpin,
{
    to.write_all(bytes).await.ok()?;
    to.flush().await.ok()
}

/// The EHLO reply without the extensions the proxy cannot follow.
fn strip_extensions(answer: &[u8]) -> Vec<u8> {
    if !answer.starts_with(b"250") {
        return answer.to_vec();
    }
    let text = String::from_utf8_lossy(answer);
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(n, line)| {
            let keyword = line.get(4..).unwrap_or("").split_whitespace().next();
            *n == 0
                || !matches!(
                    keyword.map(str::to_ascii_uppercase).as_deref(),
                    Some("PIPELINING" | "CHUNKING" | "STARTTLS")
                )
        })
        .map(|(_, line)| line.get(4..).unwrap_or(""))
        .collect();
    let mut out = String::new();
    for (n, rest) in kept.iter().enumerate() {
        let sep = if n + 1 == kept.len() { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{rest}\r\n"));
    }
    out.into_bytes()
}
