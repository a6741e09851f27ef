//! Files in the chat (issue 17): what a message carries about its file, what an
//! upload's first bytes say it is, the name it may be saved under, and the signed
//! URLs it is downloaded from. No I/O here: `chat::attachments` streams uploads
//! to the storage, `http::attachments` serves them.

use super::signed::SignedIds;
use serde::{Deserialize, Serialize};

/// A file a message carries, as stored with the message and sent to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Where to download it: a signed path, filled in each time the message is
    /// read ([`AttachmentUrls::sign`]); never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Attachment {
    /// Images are shown inline; everything else is downloaded.
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// How many leading bytes of an upload are read before anything is written: the
/// type is sniffed, and an image's dimensions read, from them.
pub const SNIFF_BYTES: usize = 256 * 1024;

/// The widest or tallest image accepted, whatever its pixel count.
pub const MAX_IMAGE_SIDE: u32 = 20_000;

/// What an upload's first bytes say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: String,
    /// `(width, height)` of an image.
    pub dimensions: Option<(u32, u32)>,
}

/// Why an upload's first bytes are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error("the file is empty")]
    Empty,
    #[error("files of type {0} are not accepted")]
    TypeNotAllowed(String),
    #[error("the image's dimensions cannot be read")]
    UnreadableImage,
    #[error(
        "the image is {width}×{height} pixels; the largest accepted is {max_side} pixels a side and {max_pixels} pixels in all"
    )]
    ImageTooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
}

/// The types an upload may have, and the largest image.
#[derive(Debug, Clone)]
pub struct UploadRules {
    pub allowed_types: Vec<String>,
    pub max_image_pixels: u64,
}

/// The `UPLOAD_TYPES` default.
pub const DEFAULT_UPLOAD_TYPES: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "text/csv",
];

impl UploadRules {
    /// Sniffs the type from `head` (the first [`SNIFF_BYTES`] of the file, or all
    /// of it) and checks it against the rules; the client's name and
    /// `Content-Type` play no part, except `.csv` telling CSV from plain text.
    pub fn check(&self, head: &[u8], filename: &str) -> Result<Sniffed, SniffError> {
        if head.is_empty() {
            return Err(SniffError::Empty);
        }
        let content_type = sniff_type(head, filename);
        if !self.allowed_types.contains(&content_type) {
            return Err(SniffError::TypeNotAllowed(content_type));
        }
        let dimensions = if content_type.starts_with("image/") {
            let size = imagesize::blob_size(head).map_err(|_| SniffError::UnreadableImage)?;
            let (width, height) = (
                u32::try_from(size.width).unwrap_or(u32::MAX),
                u32::try_from(size.height).unwrap_or(u32::MAX),
            );
            if width == 0 || height == 0 {
                return Err(SniffError::UnreadableImage);
            }
            let pixels = u64::from(width) * u64::from(height);
            if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || pixels > self.max_image_pixels {
                return Err(SniffError::ImageTooLarge {
                    width,
                    height,
                    max_side: MAX_IMAGE_SIDE,
                    max_pixels: self.max_image_pixels,
                });
            }
            Some((width, height))
        } else {
            None
        };
        Ok(Sniffed {
            content_type,
            dimensions,
        })
    }
}

/// The type the bytes say: magic numbers first; then text (valid UTF-8, no
/// control characters but tab, CR, LF and form feed) that is not markup; else
/// `application/octet-stream`.
fn sniff_type(head: &[u8], filename: &str) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    if !is_text(head) {
        return "application/octet-stream".to_owned();
    }
    if let Some(markup) = markup_type(head) {
        return markup.to_owned();
    }
    if filename.to_ascii_lowercase().ends_with(".csv") {
        "text/csv".to_owned()
    } else {
        "text/plain".to_owned()
    }
}

/// Valid UTF-8 (a character cut off at the end of the head is fine) without
/// control characters other than whitespace.
fn is_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut in the middle of a character at the very end: the rest follows.
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{0C}'))
}

/// Text a browser would run or render as a document: HTML, SVG, XML. Refused
/// unless allowed by name (which the default does not).
fn markup_type(head: &[u8]) -> Option<&'static str> {
    let start: String = String::from_utf8_lossy(&head[..head.len().min(512)])
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let is = |prefix: &str| start.starts_with(prefix);
    if is("<!doctype html") || is("<html") || is("<script") || is("<head") || is("<body") {
        Some("text/html")
    } else if is("<svg") {
        Some("image/svg+xml")
    } else if is("<?xml") {
        Some("application/xml")
    } else {
        None
    }
}

/// The extension a file of this type is saved with when its name gave none.
fn extension_of(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/csv" => "csv",
        _ => "bin",
    }
}

/// The most characters a stored filename keeps.
pub const MAX_FILENAME_CHARS: usize = 200;

/// A name safe to show and to save under: the part after the last `/` or `\`,
/// without control or bidirectional-override characters, trimmed, without
/// leading dots, at most [`MAX_FILENAME_CHARS`] (the extension kept); `file.EXT`
/// when nothing is left.
pub fn sanitize_filename(raw: &str, content_type: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return format!("file.{}", extension_of(content_type));
    }
    if trimmed.chars().count() <= MAX_FILENAME_CHARS {
        return trimmed.to_owned();
    }
    // Too long: keep a short extension and as much of the stem as fits.
    let extension = trimmed
        .rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|ext| !ext.is_empty() && ext.chars().count() <= 10);
    match extension {
        Some(ext) => {
            let stem_chars = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = trimmed.chars().take(stem_chars).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => trimmed.chars().take(MAX_FILENAME_CHARS).collect(),
    }
}

/// Characters that reorder what follows them: "invoice\u{202E}fdp.exe" shows as
/// "invoiceexe.pdf".
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `Content-Disposition` for a download: `inline` or `attachment`, with the name
/// as RFC 6266 gives it: an ASCII fallback in `filename`, the exact name
/// percent-encoded in `filename*`.
pub fn content_disposition(filename: &str, inline: bool) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The path prefix of download URLs.
pub const DOWNLOAD_PATH: &str = "/api/support/attachments/";

/// Signs and checks download URLs: `DOWNLOAD_PATH` + a [`SignedIds`] token of
/// the attachment id.
#[derive(Clone)]
pub struct AttachmentUrls {
    ids: SignedIds,
}

/// Why a download token is refused.
pub use super::signed::TokenError as UrlError;

impl AttachmentUrls {
    pub fn new(token_secret: &[u8], ttl_seconds: i64) -> Self {
        AttachmentUrls {
            ids: SignedIds::new(token_secret, "livesupport attachment urls v1", ttl_seconds),
        }
    }

    /// The download path of attachment `id`, valid for the TTL from `now` (Unix seconds).
    pub fn url(&self, id: i64, now: i64) -> String {
        format!("{DOWNLOAD_PATH}{}", self.ids.issue(id, now))
    }

    /// Fills in the URL of every attachment of `messages`, valid from `now`.
    pub fn sign(&self, messages: &mut [super::Message], now: i64) {
        for message in messages {
            for attachment in &mut message.attachments {
                attachment.url = Some(self.url(attachment.id, now));
            }
        }
    }

    /// The attachment a token names, when its signature holds (checked in
    /// constant time) and it has not expired at `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<i64, UrlError> {
        self.ids.verify(token, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> UploadRules {
        UploadRules {
            allowed_types: DEFAULT_UPLOAD_TYPES.iter().map(|t| t.to_string()).collect(),
            max_image_pixels: 40_000_000,
        }
    }

    /// A PNG's signature and IHDR chunk: enough to read its dimensions.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&width.to_be_bytes());
        png.extend_from_slice(&height.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        png
    }

    #[test]
    fn images_are_sniffed_with_their_dimensions() {
        let sniffed = rules().check(&png_header(640, 480), "x.exe").unwrap();
        assert_eq!(sniffed.content_type, "image/png");
        assert_eq!(sniffed.dimensions, Some((640, 480)));
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        let err = rules()
            .check(&png_header(100_000, 100_000), "a.png")
            .unwrap_err();
        assert!(matches!(
            err,
            SniffError::ImageTooLarge { width: 100_000, .. }
        ));
        let err = rules()
            .check(&png_header(10_000, 10_000), "a.png")
            .unwrap_err();
        assert!(
            matches!(err, SniffError::ImageTooLarge { .. }),
            "100 Mpx > 40"
        );
        assert!(rules().check(&png_header(8_000, 5_000), "a.png").is_ok());
    }

    #[test]
    fn the_name_and_claimed_type_do_not_decide() {
        let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";
        let err = rules().check(exe, "invoice.pdf").unwrap_err();
        assert!(matches!(err, SniffError::TypeNotAllowed(_)), "{err:?}");
        let html = b"  <!DOCTYPE html><script>alert(1)</script>";
        assert_eq!(
            rules().check(html, "notes.txt").unwrap_err(),
            SniffError::TypeNotAllowed("text/html".into())
        );
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'></svg>";
        assert!(rules().check(svg, "a.png").is_err());
    }

    #[test]
    fn text_is_plain_or_csv_by_name() {
        assert_eq!(
            rules().check(b"a,b\n1,2\n", "T.CSV").unwrap().content_type,
            "text/csv"
        );
        assert_eq!(
            rules()
                .check("Grüße\tfrom\r\nhere".as_bytes(), "a")
                .unwrap()
                .content_type,
            "text/plain"
        );
        // A multi-byte character cut off at the end of the head is still text.
        let cut = &"ab€".as_bytes()[..4];
        assert_eq!(
            rules().check(cut, "a.txt").unwrap().content_type,
            "text/plain"
        );
        assert!(rules().check(b"ab\0cd", "a.txt").is_err());
        assert_eq!(rules().check(b"", "a.txt").unwrap_err(), SniffError::Empty);
    }

    #[test]
    fn filenames_lose_paths_controls_and_bidi_tricks() {
        assert_eq!(
            sanitize_filename("../../etc/passwd", "text/plain"),
            "passwd"
        );
        assert_eq!(
            sanitize_filename("C:\\Users\\a\\b.png", "image/png"),
            "b.png"
        );
        assert_eq!(
            sanitize_filename("in\u{202E}fdp.exe", "application/pdf"),
            "infdp.exe"
        );
        assert_eq!(sanitize_filename("a\r\nb\0.txt", "text/plain"), "ab.txt");
        assert_eq!(sanitize_filename(".htaccess", "text/plain"), "htaccess");
        assert_eq!(sanitize_filename("..", "image/png"), "file.png");
        assert_eq!(sanitize_filename("  ", "application/pdf"), "file.pdf");
        let long = format!("{}.pdf", "x".repeat(500));
        let kept = sanitize_filename(&long, "application/pdf");
        assert_eq!(kept.chars().count(), MAX_FILENAME_CHARS);
        assert!(kept.ends_with(".pdf"));
    }

    #[test]
    fn content_disposition_follows_rfc_6266() {
        assert_eq!(
            content_disposition("Rechnung März \"2026\".pdf", false),
            "attachment; filename=\"Rechnung M_rz _2026_.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz%20%222026%22.pdf"
        );
        assert!(content_disposition("a.png", true).starts_with("inline; "));
    }

    #[test]
    fn urls_verify_expire_and_refuse_tampering() {
        let urls = AttachmentUrls::new(b"secret", 60);
        let url = urls.url(42, 1_000);
        let token = url.strip_prefix(DOWNLOAD_PATH).unwrap();
        assert_eq!(urls.verify(token, 1_000), Ok(42));
        assert_eq!(urls.verify(token, 1_060), Ok(42));
        assert_eq!(urls.verify(token, 1_061), Err(UrlError::Expired));
        // Any changed character: the id, the expiry or the tag.
        for i in 0..token.len() {
            let mut altered = token.as_bytes().to_vec();
            altered[i] = if altered[i] == b'0' { b'1' } else { b'0' };
            let altered = String::from_utf8(altered).unwrap();
            assert_eq!(
                urls.verify(&altered, 1_000),
                Err(UrlError::Invalid),
                "at {i}"
            );
        }
        assert_eq!(urls.verify("zz", 1_000), Err(UrlError::Invalid));
        let other = AttachmentUrls::new(b"other secret", 60);
        assert_eq!(other.verify(token, 1_000), Err(UrlError::Invalid));
    }
}
