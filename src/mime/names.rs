//! Attachment file names that are safe to save on Windows, macOS and Linux.

/// Longest file name kept, in bytes (most file systems allow 255).
const MAX_NAME: usize = 180;

/// Makes a sender's file name safe: the last path component only, no control or
/// bidirectional-override characters (which can disguise "exe" as "pdf"), none of the
/// characters Windows forbids, no leading dots, no trailing dots or spaces, not a
/// Windows device name, and not too long (the extension is kept). None when nothing
/// usable is left.
pub(crate) fn sanitize_filename(name: &str) -> Option<String> {
    let base = name
        .rsplit(['/', '\\'])
        .find(|s| !s.trim().is_empty())
        .unwrap_or("");
    let mut clean = String::with_capacity(base.len());
    for c in base.chars() {
        if c.is_whitespace() {
            if !clean.ends_with(' ') {
                clean.push(' ');
            }
        } else if c.is_control() || is_invisible_format(c) {
            continue;
        } else if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') {
            clean.push('_');
        } else {
            clean.push(c);
        }
    }
    clean = clean.trim().trim_start_matches('.').trim_start().to_owned();
    while clean.ends_with(['.', ' ']) {
        clean.pop();
    }
    if clean.is_empty() {
        return None;
    }
    if clean.len() > MAX_NAME {
        clean = shorten(&clean);
    }
    let stem = clean
        .split('.')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    const DEVICES: &[&str] = &["con", "prn", "aux", "nul", "clock$"];
    let is_device = DEVICES.contains(&stem.as_str())
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if is_device {
        clean.insert(0, '_');
    }
    Some(clean)
}

/// Bidirectional overrides and other invisible formatting characters.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

fn shorten(name: &str) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if name.len() - dot <= 12 && dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    let mut cut = MAX_NAME.saturating_sub(ext.len());
    while cut > 0 && !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = stem.get(..cut.min(stem.len())).unwrap_or("").trim_end();
    format!("{stem}{ext}")
}

/// "attachment-3.pdf" for the third attachment when the sender gave no usable name.
pub(crate) fn fallback_name(position: u32, mime_type: &str) -> String {
    format!("attachment-{position}.{}", extension_for(mime_type))
}

pub(crate) fn extension_for(mime_type: &str) -> &'static str {
    match mime_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/bmp" => "bmp",
        "image/svg+xml" => "svg",
        "image/tiff" => "tif",
        "application/pdf" => "pdf",
        "text/plain" | "message/delivery-status" | "text/rfc822-headers" => "txt",
        "text/html" => "html",
        "text/csv" => "csv",
        "text/calendar" => "ics",
        "text/vcard" | "text/x-vcard" => "vcf",
        "message/rfc822" | "message/global" => "eml",
        "application/zip" | "application/x-zip-compressed" => "zip",
        "application/json" => "json",
        "application/xml" | "text/xml" => "xml",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => "p7s",
        "application/pgp-signature" => "asc",
        "audio/mpeg" => "mp3",
        "video/mp4" => "mp4",
        _ => "bin",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_and_forbidden_characters_go() {
        assert_eq!(
            sanitize_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            sanitize_filename("C:\\Users\\jan\\factuur 12.pdf").as_deref(),
            Some("factuur 12.pdf")
        );
        assert_eq!(
            sanitize_filename("a<b>c:d\"e|f?g*h.txt").as_deref(),
            Some("a_b_c_d_e_f_g_h.txt")
        );
        assert_eq!(
            sanitize_filename("tab\there\r\n.txt").as_deref(),
            Some("tab here .txt")
        );
        assert_eq!(sanitize_filename("..hidden").as_deref(), Some("hidden"));
        assert_eq!(
            sanitize_filename("trailing. . ").as_deref(),
            Some("trailing")
        );
        assert_eq!(sanitize_filename("/"), None);
        assert_eq!(sanitize_filename(" .. "), None);
    }

    #[test]
    fn bidi_override_cannot_disguise_an_extension() {
        assert_eq!(
            sanitize_filename("factuur\u{202e}fdp.exe").as_deref(),
            Some("factuurfdp.exe")
        );
    }

    #[test]
    fn accents_and_spaces_are_kept() {
        assert_eq!(
            sanitize_filename("Résumé Çelik – offerte.pdf").as_deref(),
            Some("Résumé Çelik – offerte.pdf")
        );
    }

    #[test]
    fn windows_device_names_are_prefixed() {
        assert_eq!(sanitize_filename("CON.txt").as_deref(), Some("_CON.txt"));
        assert_eq!(sanitize_filename("com1").as_deref(), Some("_com1"));
        assert_eq!(
            sanitize_filename("console.txt").as_deref(),
            Some("console.txt")
        );
    }

    #[test]
    fn long_names_keep_their_extension() {
        let name = format!("{}.pdf", "é".repeat(200));
        let clean = sanitize_filename(&name).expect("name");
        assert!(clean.len() <= MAX_NAME);
        assert!(clean.ends_with("é.pdf"));
    }

    #[test]
    fn fallback_names() {
        assert_eq!(fallback_name(2, "application/pdf"), "attachment-2.pdf");
        assert_eq!(
            fallback_name(1, "application/x-unknown"),
            "attachment-1.bin"
        );
    }
}
