//! Members of the team server: enrolment with a one-time invite code, redeeming it for a
//! secret, and checking a secret on every hello.
//!
//! A member is one identity across mailboxes (their secret works for every mailbox they
//! belong to), so a member asking for a mailbox they do not belong to can be told so
//! after proving who they are, without telling strangers which mailboxes exist.

use std::time::Duration;

use super::auth::{self, Verifier};
use super::config::ServerConfig;
use super::protocol::ErrorCode;
use super::store::{MemberRecord, Store};
use crate::account::validate_member_id;
use crate::problem::{Problem, ProblemCode, Result};

/// How long an invite code may wait to be redeemed.
pub const INVITE_VALID: Duration = Duration::from_secs(7 * 24 * 3600);

/// The outcome of adding a member to a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    pub mailbox: String,
    pub member: String,
    /// The one-time code to hand to the member; `None` when they already have a secret,
    /// which now works for this mailbox too.
    pub invite: Option<String>,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn settings(message: impl Into<String>) -> Problem {
    Problem::new(ProblemCode::InvalidSettings, message)
}

/// Adds `member` to `mailbox`. A member without a secret gets a fresh invite code (an
/// earlier, unredeemed one stops working).
pub async fn enroll(
    store: &Store,
    verifier: &Verifier,
    config: &ServerConfig,
    mailbox: &str,
    member: &str,
) -> Result<Enrollment> {
    validate_member_id(member)?;
    if config.mailbox(mailbox).is_none() {
        return Err(settings(format!(
            "there is no mailbox {mailbox:?} in the configuration"
        )));
    }
    loop {
        let current = store.member(member).await?;
        let mut record = current.clone().unwrap_or_default();
        record.mailboxes.insert(mailbox.to_owned());
        let invite = if record.secret_hash.is_none() {
            let code = auth::new_invite()?;
            record.invite_hash = Some(verifier.hash(code.clone()).await?);
            record.invite_expires_ms = now_ms().saturating_add(INVITE_VALID.as_millis() as u64);
            Some(code)
        } else {
            None
        };
        if store.swap_member(member, current, record).await? {
            tracing::info!(mailbox, member, "member added");
            return Ok(Enrollment {
                mailbox: mailbox.to_owned(),
                member: member.to_owned(),
                invite,
            });
        }
        // Someone changed the member meanwhile (a redeem); read again.
    }
}

/// Exchanges an invite code for the member's new secret, once.
pub async fn redeem(
    store: &Store,
    verifier: &Verifier,
    mailbox: &str,
    member: &str,
    invite: &str,
) -> std::result::Result<String, (ErrorCode, String)> {
    let bad = || {
        (
            ErrorCode::BadInvite,
            "this invite code is not valid: it is wrong, used already or expired; ask for a new one"
                .to_owned(),
        )
    };
    let failed = |p: Problem| (ErrorCode::StoreFailed, p.message);
    if validate_member_id(member).is_err() {
        return Err(bad());
    }
    let current = store.member(member).await.map_err(failed)?;
    let hash = current
        .as_ref()
        .filter(|r| r.mailboxes.contains(mailbox) && r.invite_expires_ms > now_ms())
        .and_then(|r| r.invite_hash.clone());
    if !verifier.verify(invite.to_owned(), hash).await {
        return Err(bad());
    }
    let Some(current) = current else {
        return Err(bad());
    };
    let secret = auth::new_secret().map_err(failed)?;
    let new = MemberRecord {
        secret_hash: Some(verifier.hash(secret.clone()).await.map_err(failed)?),
        invite_hash: None,
        invite_expires_ms: 0,
        ..current.clone()
    };
    // Only from the record the code was checked against: two redeems of one code race
    // here and exactly one wins.
    if store
        .swap_member(member, Some(current), new)
        .await
        .map_err(failed)?
    {
        tracing::info!(mailbox, member, "invite redeemed");
        Ok(secret)
    } else {
        Err(bad())
    }
}

/// Checks a hello: the secret first (strangers learn nothing about mailboxes), then that
/// the member belongs to the mailbox.
pub async fn authenticate(
    store: &Store,
    verifier: &Verifier,
    mailbox: &str,
    member: &str,
    secret: &str,
) -> std::result::Result<(), (ErrorCode, String)> {
    if validate_member_id(member).is_err() {
        return Err((
            ErrorCode::InvalidMember,
            format!("{member:?} is not a valid member id"),
        ));
    }
    let record = store
        .member(member)
        .await
        .map_err(|p| (ErrorCode::StoreFailed, p.message))?;
    let hash = record.as_ref().and_then(|r| r.secret_hash.clone());
    if !verifier.verify(secret.to_owned(), hash).await {
        return Err((
            ErrorCode::BadSecret,
            "unknown member or wrong secret".to_owned(),
        ));
    }
    if !record.is_some_and(|r| r.mailboxes.contains(mailbox)) {
        return Err((
            ErrorCode::WrongMailbox,
            format!("{member} is not a member of the mailbox {mailbox:?}"),
        ));
    }
    Ok(())
}
