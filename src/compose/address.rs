//! Recipient lists as people type them, checked strictly: every address ends up in an
//! SMTP command and every name in a header, so nothing may carry a line break or
//! anything that could end one and start another.

use crate::account::validate_address;
use crate::conversation::Correspondent;
use crate::problem::{Problem, ProblemCode, Result};

/// Parses `Name <a@b.c>, "Last, First" <d@e.f>, g@h.i`. Empty text is an empty list.
pub fn parse_list(text: &str) -> Result<Vec<Correspondent>> {
    split(text)
        .into_iter()
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(parse_one)
        .collect()
}

/// `Name <address>` or a bare address.
pub fn parse_one(item: &str) -> Result<Correspondent> {
    if item.chars().any(char::is_control) {
        return Err(invalid(item, "contains a line break or control character"));
    }
    let (name, address) = match (item.rfind('<'), item.ends_with('>')) {
        (Some(open), true) => (
            unquote(item[..open].trim()),
            item[open + 1..item.len() - 1].trim(),
        ),
        (None, false) => (String::new(), item),
        _ => return Err(invalid(item, "has an unmatched '<' or '>'")),
    };
    if validate_address(address).is_err() {
        return Err(invalid(item, "is not a valid e-mail address"));
    }
    Ok(Correspondent {
        name,
        address: address.to_owned(),
    })
}

/// Formats a list back into the text the composer shows.
pub fn format_list(people: &[Correspondent]) -> String {
    people
        .iter()
        .map(|p| {
            if p.name.is_empty() {
                p.address.clone()
            } else if p.name.contains([',', '"', '<', '>', '@', ';']) {
                let name = p.name.replace('"', "'");
                format!("\"{name}\" <{}>", p.address)
            } else {
                format!("{} <{}>", p.name, p.address)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits at commas and semicolons outside quotes and angle brackets.
fn split(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut quoted, mut angled, mut start) = (false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '"' if !angled => quoted = !quoted,
            '<' if !quoted => angled = true,
            '>' if !quoted => angled = false,
            ',' | ';' if !quoted && !angled => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

fn unquote(name: &str) -> String {
    let name = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name);
    name.replace("\\\"", "\"").trim().to_owned()
}

fn invalid(item: &str, why: &str) -> Problem {
    let shown: String = item.chars().filter(|c| !c.is_control()).take(80).collect();
    Problem::new(
        ProblemCode::InvalidRecipient,
        format!("the recipient \"{shown}\" {why}"),
    )
    .with_detail(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, String)> {
        parse_list(text)
            .expect("valid")
            .into_iter()
            .map(|c| (c.name, c.address))
            .collect()
    }

    #[test]
    fn lists_as_typed() {
        assert_eq!(
            names("Jan Jansen <jan@example.nl>, \"Vries, Els de\" <els@example.nl>; piet@x.org,"),
            vec![
                ("Jan Jansen".into(), "jan@example.nl".into()),
                ("Vries, Els de".into(), "els@example.nl".into()),
                (String::new(), "piet@x.org".into()),
            ]
        );
        assert!(names("  ").is_empty());
    }

    #[test]
    fn refuses_what_could_break_a_command_or_header() {
        for bad in [
            "jan@example.nl\r\nRCPT TO:<evil@x.org>",
            "Jan\r\nBcc: evil@x.org <jan@example.nl>",
            "Jan <jan@example.nl",
            "jan@example.nl>",
            "<jan@exa mple.nl>",
            "no-at-sign",
            "a@b",
        ] {
            let err = parse_list(bad).expect_err(bad);
            assert_eq!(err.code, ProblemCode::InvalidRecipient, "{bad}");
        }
    }

    #[test]
    fn formats_back() {
        let list = parse_list("\"Vries, Els de\" <els@example.nl>, jan@example.nl").expect("ok");
        assert_eq!(
            format_list(&list),
            "\"Vries, Els de\" <els@example.nl>, jan@example.nl"
        );
        assert_eq!(parse_list(&format_list(&list)).expect("again"), list);
    }
}
