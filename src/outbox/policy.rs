//! The outbox's decisions, as pure functions: what an SMTP error means for the message
//! (try again, stop, or "it may have left"), and when to try again.

use std::time::Duration;

use lettre::transport::smtp::Error as SmtpError;

use super::{SendFailure, SendFailureKind};

/// Where in the SMTP exchange an error happened. Only an error after the message's
/// final dot was sent leaves it unknown whether the server took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// TCP, TLS, greeting, EHLO, STARTTLS.
    Connect,
    Auth,
    /// MAIL FROM, RCPT TO, DATA.
    Envelope,
    /// The message and its final dot, until the server's answer.
    Content,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not sent; try again later.
    Retry(SendFailure),
    /// Not sent, and trying again will not help.
    Stop(SendFailure),
    /// Perhaps sent: look before doing anything.
    Ambiguous(SendFailure),
}

/// What an SMTP error at `step` means.
pub fn judge(error: &SmtpError, step: Step, server: &str) -> Verdict {
    let code = error
        .status()
        .map(|c| c.to_string().parse::<u16>().unwrap_or(0));
    let text = server_text(error);
    let failure = |kind| SendFailure {
        kind,
        server: server.to_owned(),
        code,
        server_text: text.clone(),
    };
    if error.is_transient() {
        return Verdict::Retry(failure(SendFailureKind::TemporarilyRefused));
    }
    if error.is_permanent() {
        let kind = match step {
            Step::Auth => SendFailureKind::AuthFailed,
            Step::Envelope => SendFailureKind::RecipientRefused,
            Step::Connect | Step::Content => SendFailureKind::MessageRefused,
        };
        return Verdict::Stop(failure(kind));
    }
    if error.is_tls() {
        return Verdict::Stop(failure(SendFailureKind::TlsFailed));
    }
    if error.is_client() {
        // Refused by lettre before anything was sent for this step (for example no
        // common login mechanism): the same again would fail the same way.
        let kind = if step == Step::Auth {
            SendFailureKind::AuthFailed
        } else {
            SendFailureKind::Invalid
        };
        return Verdict::Stop(failure(kind));
    }
    // The connection broke, timed out, or the answer could not be read.
    match step {
        Step::Content => Verdict::Ambiguous(failure(SendFailureKind::ConnectionLostAfterData)),
        Step::Connect => Verdict::Retry(failure(SendFailureKind::Unreachable)),
        Step::Auth | Step::Envelope => Verdict::Retry(failure(SendFailureKind::ConnectionLost)),
    }
}

/// A step that took too long: like a broken connection at that step.
pub fn timed_out(step: Step, server: &str) -> Verdict {
    let failure = |kind| SendFailure {
        kind,
        server: server.to_owned(),
        code: None,
        server_text: None,
    };
    match step {
        Step::Content => Verdict::Ambiguous(failure(SendFailureKind::ConnectionLostAfterData)),
        Step::Connect => Verdict::Retry(failure(SendFailureKind::Unreachable)),
        Step::Auth | Step::Envelope => Verdict::Retry(failure(SendFailureKind::ConnectionLost)),
    }
}

/// The server's words without the code, when it answered.
fn server_text(error: &SmtpError) -> Option<String> {
    error.status()?;
    let full = error.to_string();
    // lettre formats "permanent error (550): 5.1.1 <x@y>: Recipient address rejected".
    let text = full.split_once("): ").map_or(full.as_str(), |(_, t)| t);
    Some(text.chars().filter(|c| !c.is_control()).take(500).collect())
}

/// How long to wait before attempt `attempts + 1`: soon at first, then less often.
pub fn retry_delay(attempts: u32) -> Duration {
    const STEPS: [u64; 6] = [30, 120, 300, 600, 1800, 3600];
    let index = (attempts.saturating_sub(1) as usize).min(STEPS.len() - 1);
    let base = STEPS[index];
    // A little jitter so a team's outboxes do not knock at the same second.
    Duration::from_millis(base * 1000 + fastrand::u64(..base * 100))
}

/// After this long of temporary failures a message is given up as failed.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_and_are_capped() {
        assert!(
            retry_delay(1) >= Duration::from_secs(30) && retry_delay(1) < Duration::from_secs(34)
        );
        assert!(retry_delay(2) >= Duration::from_secs(120));
        assert!(retry_delay(100) >= Duration::from_secs(3600));
        assert!(retry_delay(100) < Duration::from_secs(3600 + 361));
    }

    #[test]
    fn a_broken_connection_is_ambiguous_only_after_the_content() {
        for step in [Step::Connect, Step::Auth, Step::Envelope] {
            assert!(
                matches!(timed_out(step, "mail.x"), Verdict::Retry(_)),
                "{step:?}"
            );
        }
        let Verdict::Ambiguous(failure) = timed_out(Step::Content, "mail.x") else {
            panic!("content step must be ambiguous");
        };
        assert_eq!(failure.kind, SendFailureKind::ConnectionLostAfterData);
        assert_eq!(failure.server, "mail.x");
    }
}
