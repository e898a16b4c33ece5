//! From a header FETCH to a cached message record. Pure: tested without a server.

use std::borrow::Cow;

use async_imap::imap_proto::AttributeValue;
use mail_parser::parsers::MessageStream;
use mail_parser::{DateTime, HeaderValue};

use crate::store::record::{Address, FlagUpdate, Flags, MessageRecord};

/// The header fields the list and threading need. The same FETCH is the benchmark's
/// baseline, so it is defined once. (ENVELOPE would spare us parsing, but costs the
/// server more than it saves us: measured, the whole sync got slower.)
pub const HEADER_FIELDS: &str =
    "FROM TO CC SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES THREAD-INDEX CONTENT-TYPE";

pub fn fetch_items(condstore: bool) -> String {
    let modseq = if condstore { " MODSEQ" } else { "" };
    format!(
        "(UID FLAGS{modseq} INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS ({HEADER_FIELDS})])"
    )
}

/// What makes synthetic Message-IDs unique and the same on every client: the folder and
/// its UIDVALIDITY.
#[derive(Debug, Clone)]
pub struct FolderSeed {
    pub folder: String,
    pub uid_validity: u32,
}

/// One item of a header FETCH.
#[derive(Debug)]
pub enum Fetched {
    Header(Box<FetchedHeader>),
    /// Flags of a message, without headers (a flag FETCH, or news from another client).
    Flags(FlagUpdate),
}

/// A message's header FETCH, copied out of the response but not parsed yet, so parsing
/// can run on another thread than the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedHeader {
    pub uid: u32,
    pub modseq: u64,
    pub flags: Flags,
    pub keywords: Vec<String>,
    pub size: u32,
    /// Milliseconds since the epoch, 0 when missing.
    pub arrived: i64,
    pub header: Vec<u8>,
}

impl FetchedHeader {
    pub fn into_record(self, seed: &FolderSeed) -> MessageRecord {
        let mut record = MessageRecord {
            uid: self.uid,
            modseq: self.modseq,
            flags: self.flags,
            keywords: self.keywords,
            size: self.size,
            ..Default::default()
        };
        read_header_fields(&self.header, &mut record);
        if record.date == 0 || !plausible_date(record.date, self.arrived) {
            record.date = self.arrived;
        }
        if record.message_id.is_empty() {
            record.message_id = synthetic_message_id(self.uid, seed);
        }
        record
    }
}

/// Sorts one FETCH response: headers (when it carries them) or a flag update.
pub fn fetched(attributes: &[AttributeValue<'_>]) -> Option<Fetched> {
    let mut uid = None;
    let mut modseq = 0;
    let mut size = 0;
    let mut header: Option<&[u8]> = None;
    let mut flags = None;
    let mut arrived = 0;
    for attribute in attributes {
        match attribute {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::ModSeq(m) => modseq = *m,
            AttributeValue::Flags(f) => flags = Some(parse_flags(f)),
            AttributeValue::Rfc822Size(s) => size = *s,
            AttributeValue::InternalDate(date) => arrived = parse_internal_date(date).unwrap_or(0),
            AttributeValue::BodySection { data, .. } => {
                header = Some(data.as_deref().unwrap_or_default())
            }
            _ => {}
        }
    }
    // A FETCH without UID is news about another message from another client (servers
    // without QRESYNC send those); the caller resyncs instead.
    let uid = uid?;
    let (flags, keywords) = flags.unwrap_or_default();
    Some(match header {
        Some(header) => Fetched::Header(Box::new(FetchedHeader {
            uid,
            modseq,
            flags,
            keywords,
            size,
            arrived,
            header: header.to_vec(),
        })),
        None => Fetched::Flags(FlagUpdate {
            uid,
            flags,
            keywords,
            modseq,
        }),
    })
}

/// Reads the fetched header fields into `record`. Each field is parsed on its own with
/// mail-parser's field parsers (addresses, dates, encoded words), which is several times
/// cheaper than parsing a whole message. Broken fields give what can be read; a block
/// without any field is noted as a problem.
pub fn read_header_fields(raw: &[u8], record: &mut MessageRecord) {
    let mut any = false;
    for (name, value) in header_fields(raw) {
        any = true;
        match name.to_ascii_lowercase().as_str() {
            "subject" => record.subject = clean_line(&decode_words(value)),
            "from" => record.from = addresses(value).into_iter().next().unwrap_or_default(),
            "to" => record.to = addresses(value),
            "cc" => record.cc = addresses(value),
            "date" => {
                record.date = DateTime::parse_rfc822(&String::from_utf8_lossy(value))
                    .filter(DateTime::is_valid)
                    .map_or(0, |d| d.to_timestamp() * 1000)
            }
            "message-id" => {
                record.message_id = angle_ids(value).into_iter().next().unwrap_or_default()
            }
            "in-reply-to" => record.in_reply_to = angle_ids(value),
            "references" => record.references = angle_ids(value),
            "thread-index" => {
                record.thread_topic_key = thread_index_key(&String::from_utf8_lossy(value))
            }
            "content-type" => {
                let value = String::from_utf8_lossy(value)
                    .trim_start()
                    .to_ascii_lowercase();
                record.has_attachments = value.starts_with("multipart/mixed")
                    || value.starts_with("multipart/related")
                    || value.starts_with("application/");
            }
            _ => {}
        }
    }
    if !any {
        record.problem = Some("the message has no readable headers".into());
    }
}

/// The `Name: value` fields of a header block. A value keeps its folded lines (CRLF +
/// space), which the field parsers understand.
fn header_fields(raw: &[u8]) -> Vec<(&str, &[u8])> {
    let mut fields: Vec<(&str, &[u8])> = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        // A field runs to the line end not followed by a folding space.
        let mut end = 0;
        loop {
            match memchr::memchr(b'\n', &rest[end..]) {
                Some(at) => {
                    end += at + 1;
                    if end >= rest.len() || !matches!(rest[end], b' ' | b'\t') {
                        break;
                    }
                }
                None => {
                    end = rest.len();
                    break;
                }
            }
        }
        let line = &rest[..end];
        rest = &rest[end..];
        if let Some(colon) = memchr::memchr(b':', line)
            && let Ok(name) = std::str::from_utf8(&line[..colon])
        {
            let name = name.trim();
            if !name.is_empty() && !name.contains(' ') {
                fields.push((name, &line[colon + 1..]));
            }
        }
    }
    fields
}

/// An address list. Plain lists (`a@b`, `Name <a@b>`, comma-separated, ASCII) are read
/// directly; anything else (quoted names, comments, groups, encoded words, 8-bit text)
/// goes through mail-parser's address parser.
fn addresses(value: &[u8]) -> Vec<Address> {
    if let Some(plain) = plain_addresses(value) {
        return plain;
    }
    let line = with_line_end(value);
    let parsed = MessageStream::new(&line).parse_address();
    let mut out = Vec::new();
    let mut push = |addr: &mail_parser::Addr<'_>| {
        if let Some(address) = addr.address() {
            out.push(Address {
                name: addr.name().map(clean_line).unwrap_or_default(),
                address: address.trim().to_lowercase(),
            });
        }
    };
    if let HeaderValue::Address(list) = &parsed {
        match list {
            mail_parser::Address::List(addrs) => addrs.iter().for_each(&mut push),
            mail_parser::Address::Group(groups) => groups
                .iter()
                .flat_map(|g| g.addresses.iter())
                .for_each(&mut push),
        }
    }
    out
}

fn plain_addresses(value: &[u8]) -> Option<Vec<Address>> {
    let special =
        |b: &u8| matches!(b, b'"' | b'(' | b')' | b';' | b':' | b'\\' | b'=' | b'[') || *b >= 0x80;
    if value.iter().any(special) {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (name, address) = match part.find('<') {
            Some(open) => {
                let close = open + part[open..].find('>')?;
                if !part[close + 1..].trim().is_empty() {
                    return None;
                }
                (&part[..open], &part[open + 1..close])
            }
            None => ("", part),
        };
        let address = address.trim();
        if address.is_empty()
            || !address.contains('@')
            || address.contains(|c: char| c.is_whitespace() || c == '<')
        {
            return None;
        }
        out.push(Address {
            name: clean_line(name),
            address: address.to_ascii_lowercase(),
        });
    }
    Some(out)
}

fn with_line_end(value: &[u8]) -> Vec<u8> {
    let mut line = Vec::with_capacity(value.len() + 1);
    line.extend_from_slice(value);
    if !line.ends_with(b"\n") {
        line.push(b'\n');
    }
    line
}

/// Unstructured text that may hold RFC 2047 encoded words (`=?utf-8?q?…?=`), decoded.
/// Plain text is taken as UTF-8, with invalid bytes replaced.
fn decode_words(raw: &[u8]) -> String {
    if !raw.windows(2).any(|w| w == b"=?") {
        return String::from_utf8_lossy(raw).into_owned();
    }
    match MessageStream::new(&with_line_end(raw)).parse_unstructured() {
        HeaderValue::Text(text) => text.into_owned(),
        _ => String::from_utf8_lossy(raw).into_owned(),
    }
}

/// The `<…>` ids in a header value, without brackets. Values without brackets (broken
/// clients) count as one id each word. Works on bytes: long References lists are common.
fn angle_ids(raw: &[u8]) -> Vec<String> {
    let mut ids = Vec::new();
    if memchr::memchr(b'<', raw).is_some() {
        let mut rest = raw;
        while let Some(open) = memchr::memchr(b'<', rest) {
            rest = &rest[open + 1..];
            let Some(close) = memchr::memchr(b'>', rest) else {
                break;
            };
            push_id(&mut ids, &rest[..close]);
            rest = &rest[close + 1..];
        }
    } else {
        for word in raw.split(u8::is_ascii_whitespace) {
            push_id(&mut ids, word);
        }
    }
    ids
}

fn push_id(ids: &mut Vec<String>, id: &[u8]) {
    let id = id.trim_ascii();
    if !id.is_empty() && id.len() <= 998 && id.iter().all(|&b| b > b' ' && b != 0x7f) {
        ids.push(String::from_utf8_lossy(id).into_owned());
    }
}

/// An id for a message without Message-ID: the same on every client, as it is made of
/// what all clients see alike (folder, UIDVALIDITY, UID).
pub fn synthetic_message_id(uid: u32, seed: &FolderSeed) -> String {
    format!(
        "{}.{}.{}@baton.invalid",
        uid,
        seed.uid_validity,
        hex_hash(&seed.folder)
    )
}

/// A Date header more than a day after arrival, or before 1980, is a broken clock.
fn plausible_date(date: i64, arrived: i64) -> bool {
    const DAY: i64 = 24 * 3600 * 1000;
    date > 315_532_800_000 && (arrived == 0 || date <= arrived + DAY)
}

/// One line of display text: no control characters, whitespace collapsed.
fn clean_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Outlook's Thread-Index is base64; its first 22 bytes are the same in every message of
/// a conversation.
fn thread_index_key(raw: &str) -> Option<String> {
    let compact: String = raw.split_whitespace().collect();
    let bytes = mail_parser::decoders::base64::base64_decode(compact.as_bytes())?;
    if bytes.len() < 22 {
        return None;
    }
    Some(bytes[..22].iter().map(|b| format!("{b:02x}")).collect())
}

pub fn parse_flags(flags: &[Cow<'_, str>]) -> (Flags, Vec<String>) {
    let mut bits = Flags::default();
    let mut keywords = Vec::new();
    for flag in flags {
        match flag.to_ascii_lowercase().as_str() {
            "\\seen" => bits.set(Flags::SEEN, true),
            "\\answered" => bits.set(Flags::ANSWERED, true),
            "\\flagged" => bits.set(Flags::FLAGGED, true),
            "\\deleted" => bits.set(Flags::DELETED, true),
            "\\draft" => bits.set(Flags::DRAFT, true),
            "\\recent" => {}
            other if !other.starts_with('\\') => keywords.push(other.to_owned()),
            _ => {}
        }
    }
    keywords.sort();
    keywords.dedup();
    (bits, keywords)
}

/// `17-Jul-1996 02:44:25 -0700` → milliseconds since the epoch.
pub fn parse_internal_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(' ')?;
    let (time, zone) = rest.trim().split_once(' ')?;
    let mut d = date.trim().split('-');
    let day: i64 = d.next()?.trim().parse().ok()?;
    let month = match d.next()?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let year: i64 = d.next()?.parse().ok()?;
    let mut t = time.split(':');
    let (h, m, s): (i64, i64, i64) = (
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
        t.next()?.parse().ok()?,
    );
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = zone.trim_start_matches(['+', '-']);
    if zone.len() != 4 {
        return None;
    }
    let zh: i64 = zone[..2].parse().ok()?;
    let zm: i64 = zone[2..].parse().ok()?;
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + h * 3600 + m * 60 + s - sign * (zh * 3600 + zm * 60);
    Some(seconds * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn hex_hash(text: &str) -> String {
    format!("{:016x}", crate::threading::conversation_id(text).0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::imap_proto::Response;

    fn parse_fetch(line: &[u8]) -> Option<Fetched> {
        let (_, response) = Response::parse(line).expect("valid response");
        let Response::Fetch(_, attributes) = response else {
            panic!("not a fetch")
        };
        fetched(&attributes)
    }

    fn header_fetch(header: &str) -> Vec<u8> {
        format!(
            "* 1 FETCH (UID 42 FLAGS (\\Seen \\Answered Baton.Claim.Anna $Forwarded) MODSEQ (99) \
             INTERNALDATE \"02-Nov-2026 10:00:05 +0100\" RFC822.SIZE 1234 \
             BODY[HEADER.FIELDS (FROM SUBJECT)] {{{}}}\r\n{})\r\n",
            header.len(),
            header
        )
        .into_bytes()
    }

    fn record(header: &str) -> MessageRecord {
        match parse_fetch(&header_fetch(header)) {
            Some(Fetched::Header(raw)) => raw.into_record(&FolderSeed {
                folder: "INBOX".into(),
                uid_validity: 7,
            }),
            other => panic!("expected a header, got {other:?}"),
        }
    }

    #[test]
    fn full_header_fetch() {
        let r = record(
            "From: =?iso-8859-1?q?Jos=E9_M=FCller?= <Jose@Example.NL>\r\n\
             To: support@brightdesk.example, \"Anna\" <anna@brightdesk.example>\r\n\
             Subject: =?utf-8?B?UmU6IGJlc3RlbGxpbmcg4oKsIDEy?=\r\n\
             Date: Mon, 2 Nov 2026 09:59:00 +0100\r\n\
             Message-ID: <abc@example.nl>\r\n\
             In-Reply-To: <root@brightdesk.example>\r\n\
             References: <root@brightdesk.example>\r\n <mid@example.nl>\r\n\
             Content-Type: multipart/mixed; boundary=x\r\n\r\n",
        );
        assert_eq!(r.uid, 42);
        assert_eq!(r.modseq, 99);
        assert_eq!(r.size, 1234);
        assert!(
            r.flags.has(Flags::SEEN)
                && r.flags.has(Flags::ANSWERED)
                && !r.flags.has(Flags::FLAGGED)
        );
        assert_eq!(
            r.keywords,
            vec!["$forwarded".to_string(), "baton.claim.anna".to_string()]
        );
        assert_eq!(r.from.name, "José Müller");
        assert_eq!(r.from.address, "jose@example.nl");
        assert_eq!(r.to.len(), 2);
        assert_eq!(r.subject, "Re: bestelling € 12");
        assert_eq!(r.message_id, "abc@example.nl");
        assert_eq!(r.in_reply_to, vec!["root@brightdesk.example"]);
        assert_eq!(
            r.references,
            vec!["root@brightdesk.example", "mid@example.nl"]
        );
        assert!(r.has_attachments);
        assert_eq!(
            r.date,
            parse_internal_date("02-Nov-2026 09:59:00 +0100").expect("date")
        );
        assert!(r.problem.is_none());
    }

    #[test]
    fn missing_message_id_and_date_get_stable_fallbacks() {
        let r = record("From: a@example.com\r\nSubject: hi\r\n\r\n");
        assert!(r.message_id.starts_with("42.7."), "{}", r.message_id);
        assert!(r.message_id.ends_with("@baton.invalid"));
        assert_eq!(
            r.date,
            parse_internal_date("02-Nov-2026 10:00:05 +0100").expect("date")
        );
        assert_eq!(
            record("From: a@example.com\r\n\r\n").message_id,
            r.message_id
        );
    }

    #[test]
    fn absurd_dates_fall_back_to_arrival() {
        let r = record("Date: Sat, 1 Jan 2050 00:00:00 +0000\r\n\r\n");
        assert_eq!(
            r.date,
            parse_internal_date("02-Nov-2026 10:00:05 +0100").expect("date")
        );
    }

    #[test]
    fn garbage_headers_do_not_fail() {
        let r = record("\u{1}\u{2} not a header at all\r\n\r\n");
        assert_eq!(r.uid, 42);
        let r = record("Subject: line\u{7}with\tcontrols\r\n\r\n");
        assert_eq!(r.subject, "line with controls");
    }

    #[test]
    fn outlook_thread_index() {
        let r = record("Thread-Index: AdnN8JtQ2Yl1Yx7uQ0aKCn5Z0ZV9+gAAAAAA\r\n\r\n");
        let key = r.thread_topic_key.expect("key");
        assert_eq!(key.len(), 44);
        let again = record("Thread-Index: AdnN8JtQ2Yl1Yx7uQ0aKCn5Z0ZV9+gAAAAAAABBBCCC\r\n\r\n");
        assert_eq!(again.thread_topic_key, Some(key));
    }

    #[test]
    fn flag_only_fetch() {
        match parse_fetch(b"* 3 FETCH (UID 8 FLAGS (\\Flagged) MODSEQ (12))\r\n") {
            Some(Fetched::Flags(update)) => {
                assert_eq!(update.uid, 8);
                assert_eq!(update.modseq, 12);
                assert!(update.flags.has(Flags::FLAGGED));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_fetch(b"* 3 FETCH (FLAGS (\\Seen))\r\n").is_none());
    }

    #[test]
    fn plain_address_lists_read_like_mail_parser_reads_them() {
        for value in [
            " support@brightdesk.example",
            " Anna de Vries <Anna@Brightdesk.Example>, bram@brightdesk.example",
            " <jan@example.nl>",
            "\r\n  Jan Jansen\r\n <jan@example.nl>",
        ] {
            let plain = plain_addresses(value.as_bytes()).expect("plain");
            let line = with_line_end(value.as_bytes());
            let mut general = Vec::new();
            if let HeaderValue::Address(mail_parser::Address::List(list)) =
                MessageStream::new(&line).parse_address()
            {
                for a in list {
                    general.push(Address {
                        name: a.name().map(clean_line).unwrap_or_default(),
                        address: a.address().unwrap_or_default().to_lowercase(),
                    });
                }
            }
            assert_eq!(plain, general, "{value:?}");
        }
        for tricky in [
            " \"Jansen, Jan\" <jan@example.nl>",
            " =?utf-8?q?Jos=C3=A9?= <j@x.nl>",
            " team: a@b.c;",
            " a@b.c (Anna)",
        ] {
            assert!(plain_addresses(tricky.as_bytes()).is_none(), "{tricky}");
            assert!(!addresses(tricky.as_bytes()).is_empty(), "{tricky}");
        }
    }

    #[test]
    fn ids_from_headers() {
        assert_eq!(
            angle_ids(b" <a@x>\r\n <b@y> junk <c@z>"),
            vec!["a@x", "b@y", "c@z"]
        );
        assert_eq!(angle_ids(b" a@x b@y"), vec!["a@x", "b@y"]);
        assert_eq!(angle_ids(b" <a b@x> <ok@x>"), vec!["ok@x"]);
        assert!(angle_ids(b" <unterminated").is_empty());
    }

    #[test]
    fn internal_dates() {
        assert_eq!(parse_internal_date("01-Jan-1970 00:00:00 +0000"), Some(0));
        assert_eq!(parse_internal_date(" 1-Jan-1970 01:00:00 +0100"), Some(0));
        assert_eq!(
            parse_internal_date("29-Feb-2024 12:00:00 -0230"),
            Some(1_709_217_000_000)
        );
        assert_eq!(parse_internal_date("nonsense"), None);
    }
}
