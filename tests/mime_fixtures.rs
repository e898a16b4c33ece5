//! Every `.eml` under `tests/fixtures/` through ingest, preview and attachment, plus the
//! rules each fixture was written for.

use std::path::PathBuf;

use baton::mime::{IngestOptions, MessageContent, TextBlockKind, attachment, ingest, preview};
use baton::problem::ProblemCode;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
}

fn load(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&p).expect("read fixture");
            (name, bytes)
        })
        .collect();
    found.sort();
    found
}

fn content(name: &str) -> MessageContent {
    ingest(&load(name), &IngestOptions::default())
}

#[test]
#[ignore = "prints what every fixture gives; run with --ignored --nocapture"]
fn dump_fixtures() {
    for (name, raw) in all_fixtures() {
        let c = ingest(&raw, &IngestOptions::default());
        println!("===== {name}");
        println!("preview: {:?}", preview(&raw, 120));
        println!("problem: {:?}", c.problem);
        for b in &c.text {
            println!("--- {:?} {}\n{}", b.kind, b.depth, b.text);
        }
        for a in &c.attachments {
            println!("attachment: {a:?}");
        }
        if let Some(h) = &c.html {
            println!("html ({} blocked): {}", h.blocked_remote_images, h.document);
        }
    }
}

fn all_text(c: &MessageContent) -> String {
    c.text
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn block(c: &MessageContent, kind: TextBlockKind, depth: u8) -> Option<&str> {
    c.text
        .iter()
        .find(|b| b.kind == kind && b.depth == depth)
        .map(|b| b.text.as_str())
}

fn document(c: &MessageContent) -> &str {
    c.html.as_ref().map(|h| h.document.as_str()).unwrap_or("")
}

/// Base64 with line breaks, as a mail client writes it.
fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() / 3 * 4 + data.len() / 57 * 2 + 8);
    for line in data.chunks(57) {
        for chunk in line.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            out.push(ALPHABET[(n >> 18) as usize & 63] as char);
            out.push(ALPHABET[(n >> 12) as usize & 63] as char);
            out.push(if chunk.len() > 1 {
                ALPHABET[(n >> 6) as usize & 63] as char
            } else {
                '='
            });
            out.push(if chunk.len() > 2 {
                ALPHABET[n as usize & 63] as char
            } else {
                '='
            });
        }
        out.push_str("\r\n");
    }
    out
}

/// What must hold for any message: no panic, a complete sandboxed document, attachments
/// that can be saved with the listed size, and previews of every prefix.
fn check_invariants(name: &str, raw: &[u8]) {
    for allow in [false, true] {
        let c = ingest(
            raw,
            &IngestOptions {
                allow_remote_images: allow,
            },
        );
        if let Some(h) = &c.html {
            assert!(h.document.starts_with("<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"), "{name}");
            assert!(h.document.ends_with("</body></html>"), "{name}");
            let lower = h.document.to_ascii_lowercase();
            for bad in [
                "<script",
                "javascript:",
                "vbscript:",
                "<iframe",
                "<object",
                "<embed",
                "<form",
                "http-equiv=\"refresh\"",
                "position:fixed",
                "position: fixed",
            ] {
                assert!(!lower.contains(bad), "{name}: {bad} in the document");
            }
        }
        for b in &c.text {
            assert!(!b.text.contains('\r'), "{name}: CR in text");
            assert!(!b.text.is_empty(), "{name}: empty block");
            if b.kind != TextBlockKind::Quote {
                assert_eq!(b.depth, 0, "{name}");
            }
        }
        for (i, info) in c.attachments.iter().enumerate() {
            assert_eq!(info.index as usize, i, "{name}");
            let (saved, bytes) = attachment(raw, info.index)
                .unwrap_or_else(|p| panic!("{name}: attachment {i}: {p}"));
            assert_eq!(&saved, info, "{name}");
            assert_eq!(
                bytes.len() as u64,
                info.size,
                "{name}: size of {}",
                info.filename
            );
            assert!(
                !info.filename.is_empty()
                    && !info.filename.contains(['/', '\\'])
                    && !info.filename.starts_with('.'),
                "{name}: {}",
                info.filename
            );
        }
        let missing = attachment(raw, c.attachments.len() as u32);
        assert!(missing.is_err(), "{name}: attachment past the end");
    }
    let full = preview(raw, 120);
    assert!(full.chars().count() <= 120, "{name}");
    assert!(!full.contains('\n'), "{name}");
    let step = (raw.len() / 40).max(1);
    for cut in (0..raw.len()).step_by(step).chain([8192.min(raw.len())]) {
        let p = preview(&raw[..cut], 80);
        assert!(p.chars().count() <= 80, "{name} cut at {cut}");
    }
}

#[test]
fn every_fixture_ingests_previews_and_saves_attachments() {
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 16, "fixtures missing: {}", fixtures.len());
    for (name, raw) in &fixtures {
        check_invariants(name, raw);
    }
}

#[test]
fn html_hostile_script() {
    let c = content("html-hostile-script.eml");
    let doc = document(&c);
    for bad in [
        "onerror",
        "onload",
        "onclick",
        "evil.example/pixel",
        "evil.example/frame",
        "evil.example/x.css",
        "data:text/html",
        "expression(",
        "behavior",
        "<meta http-equiv=\"refresh\"",
        "<title>",
        "document.cookie",
    ] {
        assert!(!doc.contains(bad), "{bad} survived:\n{doc}");
    }
    assert!(
        doc.contains(
            "<a href=\"https://evil.example/login\" rel=\"noopener noreferrer\">Log in here</a>"
        ),
        "{doc}"
    );
    assert!(doc.contains("<base target=\"_blank\">"));
    assert!(doc.contains("img-src data:;"));
    let blocked = c
        .html
        .as_ref()
        .map(|h| h.blocked_remote_images)
        .unwrap_or(0);
    assert!(blocked >= 2, "pixel and css background: {blocked}");
    assert_eq!(
        preview(&load("html-hostile-script.eml"), 200),
        "Your mailbox will be closed. Verify your password now."
    );
}

#[test]
fn charset_iso_8859_1_subject() {
    let raw = load("charset-iso-8859-1-subject.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(c.problem, None);
    assert!(
        all_text(&c).ends_with("Met vriendelijke groet,\nRenée Dubois-Müller"),
        "{}",
        all_text(&c)
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("parses");
    assert_eq!(
        parsed.subject(),
        Some("Vraag over factuur – bedrag klopt niet (Renée)")
    );
}

#[test]
fn charset_unknown_label() {
    let c = content("charset-unknown-label.eml");
    let problem = c.problem.as_ref().expect("a problem");
    assert_eq!(problem.code, ProblemCode::MessageUnreadable);
    assert!(
        problem.message.contains("x-user-defined-klingon"),
        "{}",
        problem.message
    );
    assert!(
        all_text(&c).contains("De levering van de café-tafel"),
        "{}",
        all_text(&c)
    );
}

#[test]
fn invalid_utf8_8bit_body() {
    let c = content("invalid-utf8-8bit-body.eml");
    assert_eq!(
        c.problem.as_ref().map(|p| p.code),
        Some(ProblemCode::MessageUnreadable)
    );
    let text = all_text(&c);
    assert!(
        text.contains("I paid €45 and would like a refund for the naïve packaging."),
        "{text}"
    );
    assert!(!text.contains('\u{fffd}'));
}

#[test]
fn mime_missing_final_boundary() {
    let raw = load("mime-missing-final-boundary.eml");
    let c = ingest(&raw, &IngestOptions::default());
    let problem = c.problem.as_ref().expect("a problem");
    assert!(problem.message.contains("boundary"), "{}", problem.message);
    assert_eq!(
        block(&c, TextBlockKind::Body, 0),
        Some("Hi, the login page shows an error. Screenshot attached.\n\nBram")
    );
    assert_eq!(c.attachments.len(), 1);
    assert_eq!(c.attachments[0].filename, "screenshot.png");
    let (_, bytes) = attachment(&raw, 0).expect("attachment");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[test]
fn mime_nested_50_levels() {
    let c = content("mime-nested-50-levels.eml");
    assert_eq!(all_text(&c), "The words at the bottom of fifty levels.");
    assert!(
        c.problem
            .as_ref()
            .is_some_and(|p| p.message.contains("50 levels")),
        "{:?}",
        c.problem
    );
}

#[test]
fn forwarded_rfc822() {
    let raw = load("forwarded-rfc822.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(c.problem, None);
    assert_eq!(
        block(&c, TextBlockKind::Body, 0),
        Some("Can someone from sales look at this? See the attached message.\n\nAnna")
    );
    let quote = block(&c, TextBlockKind::Quote, 1).expect("forwarded section");
    assert!(quote.starts_with("---------- Forwarded message ----------\nFrom: Lukas Schmidt <lukas.schmidt@example.de>"), "{quote}");
    assert!(quote.contains("Subject: Partnership proposal"));
    assert!(quote.contains("would like to resell your products."));
    assert_eq!(c.attachments.len(), 1);
    assert_eq!(c.attachments[0].filename, "Partnership proposal.eml");
    assert_eq!(c.attachments[0].mime_type, "message/rfc822");
    let (_, bytes) = attachment(&raw, 0).expect("eml");
    let inner = mail_parser::MessageParser::default()
        .parse(&bytes)
        .expect("a message");
    assert_eq!(inner.message_id(), Some("partner-42@example.de"));
}

#[test]
fn forwarded_rfc822_base64_encoded() {
    let raw = load("forwarded-rfc822-base64-encoded.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(c.problem, None);
    assert_eq!(
        c.attachments[0].filename,
        "Offerte voor 40 bureaustoelen.eml"
    );
    assert_eq!(c.attachments[0].mime_type, "message/rfc822");
    assert!(all_text(&c).contains("Graag ontvang ik een offerte voor 40 bureaustoelen."));
    let doc = document(&c);
    assert!(doc.contains("<p>Voor sales, zie bijlage.</p>"));
    assert!(doc.contains("Graag ontvang ik een offerte"), "{doc}");
    let (_, bytes) = attachment(&raw, 0).expect("eml");
    assert!(bytes.starts_with(b"From: Yasmina El Amrani"));
}

#[test]
fn outlook_reply_no_references() {
    let c = content("outlook-reply-no-references.eml");
    assert_eq!(
        block(&c, TextBlockKind::Body, 0),
        Some(
            "Hello,\n\nThe parcel has not arrived yet. The track & trace has not changed since Monday.\n\nKind regards,\nMehmet Demir"
        )
    );
    let quote = block(&c, TextBlockKind::Quote, 1).expect("quoted tail");
    assert!(
        quote.starts_with("________________________________\nFrom: Brightdesk Support"),
        "{quote}"
    );
    assert!(quote.ends_with("Your order 10482 has shipped."));
    assert!(c.html.is_some());
    assert_eq!(
        preview(&load("outlook-reply-no-references.eml"), 60),
        "Hello, The parcel has not arrived yet. The track & trace ha…"
    );
}

#[test]
fn dsn_bounce_multipart_report() {
    let raw = load("dsn-bounce-multipart-report.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(c.problem, None);
    let names: Vec<&str> = c.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["delivery-status.txt", "Re_ Factuur 2026-0412.eml"]);
    assert!(all_text(&c).contains("could not\nbe delivered"));
    assert!(
        block(&c, TextBlockKind::Quote, 1)
            .is_some_and(|q| q.starts_with("---------- Returned message ----------"))
    );
    let report = baton::mime::delivery_report(&raw).expect("a report");
    assert_eq!(report.recipients.len(), 1);
    let r = &report.recipients[0];
    assert_eq!(r.final_recipient, "jan.jansen@example.nl");
    assert_eq!(r.action, "failed");
    assert_eq!(r.status, "5.1.1");
    assert!(r.failed());
    assert!(
        r.diagnostic
            .as_deref()
            .is_some_and(|d| d.contains("User unknown in virtual mailbox table"))
    );
    assert_eq!(
        report.original_message_id.as_deref(),
        Some("reply-0412-1@brightdesk.example")
    );
}

#[test]
fn attachment_rfc2231_filename() {
    let raw = load("attachment-rfc2231-filename.eml");
    let c = ingest(&raw, &IngestOptions::default());
    let names: Vec<&str> = c.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(
        names,
        [
            "Offerte Café Çelik 2026.pdf",
            "prijzen übersicht.csv",
            "evilgpj.exe",
            "attachment-4.pdf"
        ]
    );
    let (info, csv) = attachment(&raw, 1).expect("csv");
    assert_eq!(info.mime_type, "text/csv");
    assert_eq!(csv, b"product;prijs\r\nbureau;249,00\r\nstoel;129,50");
    let (_, pdf) = attachment(&raw, 0).expect("pdf");
    assert!(pdf.starts_with(b"%PDF-1.4"));
}

#[test]
fn inline_cid_image() {
    let raw = load("inline-cid-image.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(c.attachments.len(), 1);
    assert!(c.attachments[0].inline);
    assert_eq!(c.attachments[0].filename, "logo.png");
    let html = c.html.as_ref().expect("html");
    assert!(
        html.document
            .contains("<img class=\"hero\" src=\"data:image/png;base64,iVBORw0KGgo"),
        "{}",
        html.document
    );
    assert!(!html.document.contains("cid:"));
    assert_eq!(html.blocked_remote_images, 1);
    assert!(!html.document.contains("cdn.brightdesk.example"));
    let allowed = ingest(
        &raw,
        &IngestOptions {
            allow_remote_images: true,
        },
    );
    let allowed = allowed.html.expect("html");
    assert_eq!(allowed.blocked_remote_images, 0);
    assert!(
        allowed
            .document
            .contains("src=\"https://cdn.brightdesk.example/banner.jpg\"")
    );
    assert!(allowed.document.contains("img-src data: https: http:;"));
}

#[test]
fn format_flowed() {
    let c = content("format-flowed.eml");
    assert_eq!(
        block(&c, TextBlockKind::Body, 0),
        Some(
            "Thanks, resetting the password worked. I can log in again on my laptop and on my phone."
        )
    );
    assert_eq!(
        block(&c, TextBlockKind::Quote, 1),
        Some(
            "On 18/03/2026 15:02, Brightdesk Support wrote:\nCould you try resetting your password with the link on the login page?"
        )
    );
    assert_eq!(
        block(&c, TextBlockKind::Quote, 2),
        Some("I cannot log in since this morning.")
    );
    assert_eq!(
        block(&c, TextBlockKind::Signature, 0),
        Some("Sophie Janssens")
    );
}

#[test]
fn quoted_reply_nl() {
    let raw = load("quoted-reply-nl.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(
        block(&c, TextBlockKind::Body, 0),
        Some(
            "Hoi Anna,\n\nBedankt, het retourlabel is binnen. Ik stuur het pakket morgen op.\n\nGroet,\nJan"
        )
    );
    let q1 = block(&c, TextBlockKind::Quote, 1).expect("quote");
    assert!(q1.starts_with("Op wo 18 mrt 2026 om 16:12 schreef Anna from Brightdesk Support"));
    assert!(q1.ends_with("Brightdesk Support"), "{q1}");
    assert_eq!(
        block(&c, TextBlockKind::Quote, 2),
        Some(
            "Op di 17 mrt 2026 om 09:01 schreef Jan Jansen <jan.jansen@example.nl>:\nIk wil graag de stoel retourneren."
        )
    );
    assert_eq!(
        block(&c, TextBlockKind::Signature, 0),
        Some("Jan Jansen | Bakkerij Jansen\n06-12345678")
    );
    assert_eq!(
        preview(&raw, 200),
        "Hoi Anna, Bedankt, het retourlabel is binnen. Ik stuur het pakket morgen op. Groet, Jan"
    );
}

#[test]
fn no_message_id() {
    let c = content("no-message-id.eml");
    assert_eq!(c.problem, None);
    assert_eq!(all_text(&c), "Hebben jullie ook een winkel in Utrecht?");
}

#[test]
fn empty_body() {
    let raw = load("empty-body.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert!(c.text.is_empty());
    assert!(c.html.is_none());
    assert!(c.attachments.is_empty());
    assert_eq!(c.problem, None);
    assert_eq!(preview(&raw, 100), "");
}

#[test]
fn base64_text_body() {
    let c = content("base64-text-body.eml");
    assert!(
        all_text(&c).starts_with("Hello,\n\nMy invoice INV-2026-118 shows the wrong VAT number.")
    );
}

#[test]
fn html_only_windows_1252() {
    let raw = load("charset-windows-1252-html-only.eml");
    let c = ingest(&raw, &IngestOptions::default());
    assert_eq!(c.problem, None);
    assert!(c.html.is_some());
    assert_eq!(
        all_text(&c),
        "Bonjour,\n\nPouvez-vous m’envoyer la facture détaillée ? Merci – Françoise"
    );
    assert_eq!(
        preview(&raw, 100),
        "Bonjour, Pouvez-vous m’envoyer la facture détaillée ? Merci – Françoise"
    );
}

#[test]
fn html_newsletter_remote_images() {
    let raw = load("html-newsletter-remote-images.eml");
    let c = ingest(&raw, &IngestOptions::default());
    let html = c.html.as_ref().expect("html");
    assert_eq!(
        html.blocked_remote_images, 3,
        "logo, pixel, table background"
    );
    assert!(
        !html
            .document
            .contains("officesupplies.example.com/logo.png")
    );
    assert!(!html.document.contains("@font-face"));
    assert!(
        html.document
            .contains("@media only screen and (max-width:600px){.col{width:100% !important}}")
    );
    assert!(
        html.document
            .contains("<span style=\"display:none;font-size:1px;color:#fff\">")
    );
    assert!(html.document.contains(
        "href=\"https://officesupplies.example.com/lamps?utm=mail\" rel=\"noopener noreferrer\""
    ));
    assert!(all_text(&c).contains("30% off desk lamps"));
}

/// A 50 MB message (mostly one attachment) ingests quickly and its attachment is not
/// copied to be listed.
#[test]
fn huge_attachment() {
    let mut rng = fastrand::Rng::with_seed(7);
    let payload: Vec<u8> = (0..37 * 1024 * 1024).map(|_| rng.u8(..)).collect();
    let mut raw = b"From: Big Sender <big@example.nl>\r\nTo: support@brightdesk.example\r\nSubject: Drawings\r\nDate: Tue, 24 Mar 2026 10:00:00 +0100\r\nMessage-ID: <huge-1@example.nl>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"huge\"\r\n\r\n--huge\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe drawings are attached.\r\n--huge\r\nContent-Type: application/zip; name=\"drawings.zip\"\r\nContent-Disposition: attachment; filename=\"drawings.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    raw.extend_from_slice(base64_lines(&payload).as_bytes());
    raw.extend_from_slice(b"--huge--\r\n");
    assert!(raw.len() >= 50 * 1000 * 1000, "{}", raw.len());

    let started = std::time::Instant::now();
    let c = ingest(&raw, &IngestOptions::default());
    let elapsed = started.elapsed();
    println!("ingest of {} bytes: {elapsed:?}", raw.len());
    if !cfg!(debug_assertions) {
        assert!(
            elapsed < std::time::Duration::from_millis(1000),
            "{elapsed:?}"
        );
    }
    assert_eq!(c.problem, None);
    assert_eq!(all_text(&c), "The drawings are attached.");
    assert_eq!(c.attachments.len(), 1);
    assert_eq!(c.attachments[0].size, payload.len() as u64);
    let (_, bytes) = attachment(&raw, 0).expect("attachment");
    assert!(bytes == payload);
    let started = std::time::Instant::now();
    assert_eq!(preview(&raw, 100), "The drawings are attached.");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn giant_text_is_shortened() {
    let line = "This is a very long complaint that goes on and on. ";
    let mut raw = b"From: a@example.nl\r\nSubject: Long\r\nDate: Tue, 24 Mar 2026 10:00:00 +0100\r\nMessage-ID: <long@example.nl>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n".to_vec();
    while raw.len() < 3 * 1024 * 1024 {
        raw.extend_from_slice(line.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    let c = ingest(&raw, &IngestOptions::default());
    let problem = c.problem.expect("shortened");
    assert_eq!(problem.code, ProblemCode::MessageTooLarge);
    assert!(problem.message.contains("Text shortened"));
    let total: usize = c.text.iter().map(|b| b.text.len()).sum();
    assert!(total <= 1024 * 1024, "{total}");
    assert!(total > 900 * 1024, "{total}");
}

/// The engine previews the first 8 KB of a message: a base64 or quoted-printable text
/// part cut mid-way, inside a multipart, still gives its words.
#[test]
fn preview_of_a_truncated_prefix() {
    let words =
        "Beste support, ik heb mijn bestelling 4471 nog steeds niet ontvangen. ".repeat(200);
    let mut b64 = b"From: Fatima Amrani <fatima@example.nl>\r\nSubject: Bestelling\r\nDate: Tue, 24 Mar 2026 10:00:00 +0100\r\nMessage-ID: <cut-1@example.nl>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"cut\"\r\n\r\n--cut\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    b64.extend_from_slice(base64_lines(words.as_bytes()).as_bytes());
    b64.extend_from_slice(
        b"--cut\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>x</p>\r\n--cut--\r\n",
    );
    assert!(b64.len() > 8192);
    for cut in [600, 1001, 4096, 8192] {
        let p = preview(&b64[..cut], 60);
        assert!(
            p.starts_with("Beste support, ik heb mijn bestelling 4471"),
            "cut {cut}: {p:?}"
        );
    }

    let qp_words =
        "Goedemiddag, de factuur van maart is nog niet betaald, wilt u dit controleren? "
            .repeat(100);
    let mut qp = b"From: a@example.nl\r\nSubject: Factuur\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n--q\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 de Hoek: ".to_vec();
    for chunk in qp_words.as_bytes().chunks(70) {
        qp.extend_from_slice(chunk);
        qp.extend_from_slice(b"=\r\n");
    }
    for cut in [250, 300, 2000, 8192] {
        let p = preview(&qp[..cut.min(qp.len())], 40);
        assert!(
            p.starts_with("Café de Hoek: Goedemiddag"),
            "cut {cut}: {p:?}"
        );
    }

    let html = format!(
        "<html><body><div>{}</div></body></html>",
        "Hallo team, de website geeft een foutmelding bij het afrekenen. ".repeat(300)
    );
    let mut only_html = b"From: a@example.nl\r\nSubject: Fout\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    only_html.extend_from_slice(base64_lines(html.as_bytes()).as_bytes());
    assert_eq!(
        preview(&only_html[..8192], 30),
        "Hallo team, de website geeft…"
    );
}

/// Random damage to every fixture, and random bytes: nothing panics or overflows a
/// 2 MB stack (the size of a Tokio blocking thread's).
#[test]
fn mutated_messages_never_panic() {
    let fixtures = all_fixtures();
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            // BATON_FUZZ_ROUNDS=5000 for a longer run; BATON_FUZZ_SEED to vary it.
            let rounds: usize = std::env::var("BATON_FUZZ_ROUNDS")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(60);
            let seed: u64 = std::env::var("BATON_FUZZ_SEED")
                .ok()
                .and_then(|r| r.parse().ok())
                .unwrap_or(0xBA70);
            let mut rng = fastrand::Rng::with_seed(seed);
            let tokens: [&[u8]; 12] = [
                b"\r\n",
                b"--",
                b"\r\n--",
                b"=?utf-8?B?",
                b"?=",
                b"Content-Type: multipart/mixed; boundary=x\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Type: message/rfc822\r\n\r\n",
                b"<blockquote>",
                b"=\r\n",
                b"\xff\xfe",
                b"charset=\"x-bogus\"",
            ];
            let mut runs = 0;
            for (name, raw) in &fixtures {
                for _ in 0..rounds {
                    let mut m = raw.clone();
                    for _ in 0..rng.usize(1..8) {
                        if m.is_empty() {
                            break;
                        }
                        let at = rng.usize(..m.len());
                        match rng.u8(..6) {
                            0 => m[at] = rng.u8(..),
                            1 => {
                                let end = (at + rng.usize(..64)).min(m.len());
                                m.drain(at..end);
                            }
                            2 => {
                                let t = tokens[rng.usize(..tokens.len())];
                                m.splice(at..at, t.iter().copied());
                            }
                            3 => {
                                let end = (at + rng.usize(..200)).min(m.len());
                                let copy = m[at..end].to_vec();
                                let to = rng.usize(..m.len());
                                m.splice(to..to, copy);
                            }
                            4 => m.truncate(at),
                            _ => m[at] = b"\r\n-=<>:;\"\\"[rng.usize(..10)],
                        }
                    }
                    let c = ingest(
                        &m,
                        &IngestOptions {
                            allow_remote_images: rng.bool(),
                        },
                    );
                    for i in 0..=c.attachments.len() as u32 {
                        let _ = attachment(&m, i);
                    }
                    let _ = preview(&m, rng.usize(..200));
                    runs += 1;
                }
                let _ = name;
            }
            for _ in 0..200 {
                let len = rng.usize(..4096);
                let m: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
                let _ = ingest(&m, &IngestOptions::default());
                let _ = preview(&m, 100);
                let _ = attachment(&m, 0);
                runs += 1;
            }
            // Deep nesting of every kind.
            let mut deep = Vec::new();
            for _ in 0..40_000 {
                deep.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
            }
            deep.extend_from_slice(b"From: a@b.c\r\n\r\nbottom\r\n");
            let c = ingest(&deep, &IngestOptions::default());
            assert!(c.text.iter().all(|b| !b.text.is_empty()));
            let _ = preview(&deep, 100);
            let _ = attachment(&deep, 0);
            let mut html = b"From: a@b.c\r\nContent-Type: text/html\r\n\r\n".to_vec();
            html.extend(b"<blockquote><div><table><tr><td>".repeat(20_000));
            html.extend_from_slice(b"deep words");
            let c = ingest(&html, &IngestOptions::default());
            assert!(c.text.iter().all(|b| b.depth as usize <= 255));
            runs
        })
        .expect("thread");
    let runs = handle.join().expect("no panic and no stack overflow");
    assert!(runs > 1000);
}

/// Inputs built to hit quadratic corners stay fast.
#[test]
fn pathological_inputs_stay_fast() {
    let head = "From: a@example.nl\r\nSubject: x\r\nMIME-Version: 1.0\r\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "quote lines",
            format!(
                "{head}Content-Type: text/plain\r\n\r\n{}",
                "> > a\r\n".repeat(150_000)
            )
            .into_bytes(),
        ),
        (
            "attribution lines",
            format!(
                "{head}Content-Type: text/plain\r\n\r\n{}",
                "On Tue, Jan wrote:\r\n\r\n".repeat(50_000)
            )
            .into_bytes(),
        ),
        (
            "header-like lines",
            format!(
                "{head}Content-Type: text/plain\r\n\r\n{}",
                "From: x\r\n".repeat(100_000)
            )
            .into_bytes(),
        ),
        (
            "underscores",
            format!(
                "{head}Content-Type: text/plain\r\n\r\n{}",
                "__________\r\n\r\n".repeat(80_000)
            )
            .into_bytes(),
        ),
        (
            "style elements",
            format!(
                "{head}Content-Type: text/html\r\n\r\n{}",
                "<style>a{color:red}</style>".repeat(50_000)
            )
            .into_bytes(),
        ),
        (
            "unclosed css",
            format!(
                "{head}Content-Type: text/html\r\n\r\n<style>{}</style>",
                "a{b{".repeat(100_000)
            )
            .into_bytes(),
        ),
        (
            "cid references",
            format!(
                "{head}Content-Type: text/html\r\n\r\n{}",
                "<img src=\"cid:x@y\">".repeat(50_000)
            )
            .into_bytes(),
        ),
        (
            "nested blockquotes",
            format!(
                "{head}Content-Type: text/html\r\n\r\n{}",
                "<blockquote>".repeat(50_000)
            )
            .into_bytes(),
        ),
        (
            "entities",
            format!(
                "{head}Content-Type: text/html\r\n\r\n{}",
                "&amp;&#x41;&bogus".repeat(100_000)
            )
            .into_bytes(),
        ),
        (
            "entities in an attribute",
            format!(
                "{head}Content-Type: text/html\r\n\r\n<p title=\"{}\">x</p>",
                "&bogus".repeat(200_000)
            )
            .into_bytes(),
        ),
        (
            "entities in a title",
            format!(
                "{head}Content-Type: text/html\r\n\r\n<title>{}</title>",
                "&bogus".repeat(200_000)
            )
            .into_bytes(),
        ),
        ("many parts", {
            let mut m =
                format!("{head}Content-Type: multipart/mixed; boundary=b\r\n\r\n").into_bytes();
            for i in 0..20_000 {
                m.extend_from_slice(
                    format!("--b\r\nContent-Type: image/png; name=\"p{i}.png\"\r\n\r\nx\r\n")
                        .as_bytes(),
                );
            }
            m.extend_from_slice(b"--b--\r\n");
            m
        }),
    ];
    for (name, raw) in cases {
        let started = std::time::Instant::now();
        let c = ingest(&raw, &IngestOptions::default());
        let _ = preview(&raw, 100);
        let elapsed = started.elapsed();
        println!("{name}: {elapsed:?}");
        let limit = if cfg!(debug_assertions) { 20 } else { 2 };
        assert!(
            elapsed < std::time::Duration::from_secs(limit),
            "{name}: {elapsed:?}"
        );
        assert!(c.attachments.len() <= 1000, "{name}");
    }
}
