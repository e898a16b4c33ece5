//! The keywords of the contract. IMAP keywords are case-insensitive atoms; Baton writes
//! them in lowercase and reads them in any case.

use crate::account::validate_member_id;

pub const CLAIM_PREFIX: &str = "baton.claim.";
pub const WAITING: &str = "baton.waiting";
pub const DONE: &str = "baton.done";
pub const NOTE: &str = "baton.note";

/// A keyword of the contract, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TeamKeyword {
    /// `baton.claim.<member>`: that member holds the conversation.
    Claim(String),
    /// `baton.waiting`: waiting on the customer.
    Waiting,
    /// `baton.done`: nothing left to do.
    Done,
    /// `baton.note`: the conversation has internal notes.
    Note,
}

impl TeamKeyword {
    /// Reads a keyword; anything that is not ours (or a claim with an invalid member id)
    /// is `None`, so a hostile keyword cannot name a member that could not exist.
    pub fn parse(keyword: &str) -> Option<TeamKeyword> {
        let lower = keyword.to_ascii_lowercase();
        match lower.as_str() {
            WAITING => Some(TeamKeyword::Waiting),
            DONE => Some(TeamKeyword::Done),
            NOTE => Some(TeamKeyword::Note),
            _ => {
                let member = lower.strip_prefix(CLAIM_PREFIX)?;
                validate_member_id(member).ok()?;
                Some(TeamKeyword::Claim(member.to_owned()))
            }
        }
    }

    /// The keyword as written to the server. Member ids are validated when accounts are
    /// set up; this checks again, because the result goes into an IMAP command.
    pub fn encode(&self) -> Option<String> {
        match self {
            TeamKeyword::Claim(member) => {
                validate_member_id(member).ok()?;
                Some(format!("{CLAIM_PREFIX}{member}"))
            }
            TeamKeyword::Waiting => Some(WAITING.to_owned()),
            TeamKeyword::Done => Some(DONE.to_owned()),
            TeamKeyword::Note => Some(NOTE.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for keyword in [
            TeamKeyword::Claim("anna".into()),
            TeamKeyword::Claim("b.de-vries_2".into()),
            TeamKeyword::Waiting,
            TeamKeyword::Done,
            TeamKeyword::Note,
        ] {
            let encoded = keyword.encode().expect("encodes");
            assert_eq!(TeamKeyword::parse(&encoded), Some(keyword));
        }
    }

    #[test]
    fn reads_any_case_and_ignores_foreign_keywords() {
        assert_eq!(
            TeamKeyword::parse("Baton.Claim.Anna"),
            Some(TeamKeyword::Claim("anna".into()))
        );
        assert_eq!(TeamKeyword::parse("BATON.DONE"), Some(TeamKeyword::Done));
        for other in [
            "$Forwarded",
            "NonJunk",
            "baton.claim.",
            "baton.claim.-x",
            "baton.claim.a b",
            "baton.other",
        ] {
            assert_eq!(TeamKeyword::parse(other), None, "{other}");
        }
        let too_long = format!("baton.claim.{}", "x".repeat(33));
        assert_eq!(TeamKeyword::parse(&too_long), None);
    }

    #[test]
    fn refuses_to_encode_an_invalid_member() {
        assert_eq!(TeamKeyword::Claim("Anna Smith".into()).encode(), None);
        assert_eq!(TeamKeyword::Claim("a\\r\\nA1 LOGOUT".into()).encode(), None);
    }

    #[test]
    fn keywords_fit_the_server_limit() {
        // Dovecot keeps keywords up to 50 characters: the longest member id must fit.
        let longest = TeamKeyword::Claim("x".repeat(32))
            .encode()
            .expect("encodes");
        assert!(longest.len() <= 50, "{}", longest.len());
    }
}
