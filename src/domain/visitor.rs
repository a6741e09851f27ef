//! Visitor context (issue 15, point 4): the pages a visitor browses while chatting,
//! and what their browser says about them. The chat app reports the host page in
//! `page` frames; this module validates one report and strips what the service
//! should not keep (query strings and fragments, unless the operator asks to).

use super::validation::ValidationError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest page URL or referrer kept, in characters (after stripping).
pub const PAGE_URL_CHARS: usize = 2048;
/// Longest page title kept, in characters (longer titles are cut, not refused).
pub const PAGE_TITLE_CHARS: usize = 300;
/// Longest locale tag (`navigator.language`) accepted, in characters.
pub const LOCALE_CHARS: usize = 35;
/// Longest IANA time zone name accepted, in characters.
pub const TIMEZONE_CHARS: usize = 64;
/// Longest User-Agent header kept, in characters.
pub const USER_AGENT_CHARS: usize = 512;
/// Pages kept per ticket: older ones are pruned when a new one is stored.
pub const PAGES_KEPT: u32 = 20;
/// Previous conversations listed in a ticket's context.
pub const PREVIOUS_TICKETS: u32 = 20;

/// One page the visitor was on, as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitedPage {
    pub url: String,
    pub title: String,
    /// The page the visitor came from, when the browser told (stripped like `url`).
    pub referrer: Option<String>,
    pub at: DateTime<Utc>,
}

/// A validated page report, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReport {
    pub url: String,
    pub title: String,
    pub referrer: Option<String>,
    /// `navigator.language`, when the chat app sent it.
    pub locale: Option<String>,
    /// The IANA time zone, when the chat app sent it.
    pub timezone: Option<String>,
}

/// What a ticket's visitor's browser told about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitorInfo {
    pub user_agent: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
}

/// A page frame's data as received, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawPage {
    pub url: Option<String>,
    pub title: Option<String>,
    pub referrer: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
}

/// Validates a page frame's data. `keep_query`: the operator's
/// `TRACK_QUERY_STRINGS`; otherwise query and fragment are cut from the URL and
/// the referrer (whatever the client did: it is not trusted to).
pub fn page_report(raw: RawPage, keep_query: bool) -> Result<PageReport, ValidationError> {
    let url = raw
        .url
        .as_deref()
        .ok_or_else(|| ValidationError::new("data.url", "page frames need data.url"))?;
    let url = web_url("data.url", url, keep_query)?;
    // An empty or odd referrer is common (direct visits, privacy settings): it is
    // dropped rather than refused.
    let referrer = raw
        .referrer
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .and_then(|r| web_url("data.referrer", r, keep_query).ok());
    let title = clean_title(raw.title.as_deref().unwrap_or(""));
    let locale = raw
        .locale
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|l| {
            locale_tag(l).ok_or_else(|| {
                ValidationError::new(
                    "data.locale",
                    "data.locale must be a language tag such as en-US",
                )
            })
        })
        .transpose()?;
    let timezone = raw
        .timezone
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| {
            timezone_name(t).ok_or_else(|| {
                ValidationError::new(
                    "data.timezone",
                    "data.timezone must be an IANA time zone name such as Europe/Berlin",
                )
            })
        })
        .transpose()?;
    Ok(PageReport {
        url,
        title,
        referrer,
        locale,
        timezone,
    })
}

/// An absolute http(s) URL of at most [`PAGE_URL_CHARS`], without credentials,
/// and without query and fragment unless `keep_query`.
pub fn web_url(field: &str, raw: &str, keep_query: bool) -> Result<String, ValidationError> {
    let bad = || ValidationError::new(field, format!("{field} must be an http or https URL"));
    let mut url = url::Url::parse(raw.trim()).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad());
    }
    // user:password@ never belongs in what an agent reads.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if !keep_query {
        url.set_query(None);
        url.set_fragment(None);
    }
    let url = String::from(url);
    if url.chars().count() > PAGE_URL_CHARS {
        return Err(ValidationError::new(
            field,
            format!("{field} must be at most {PAGE_URL_CHARS} characters"),
        ));
    }
    Ok(url)
}

/// A title trimmed, its whitespace runs (line breaks included) made one space,
/// control characters removed, cut to [`PAGE_TITLE_CHARS`].
pub fn clean_title(raw: &str) -> String {
    let mut out = String::new();
    for word in raw.split_whitespace() {
        let word: String = word.chars().filter(|c| !c.is_control()).collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out.chars().take(PAGE_TITLE_CHARS).collect()
}

/// A BCP 47-looking language tag (`en`, `de-DE`, `zh-Hant-TW`), or `None`.
pub fn locale_tag(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > LOCALE_CHARS {
        return None;
    }
    let mut parts = raw.split(['-', '_']);
    let language = parts.next()?;
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    (language_ok && rest_ok).then(|| raw.replace('_', "-"))
}

/// The first language of an `Accept-Language` header, the locale's fallback.
pub fn locale_from_accept_language(header: &str) -> Option<String> {
    header
        .split(',')
        .map(|part| part.split(';').next().unwrap_or("").trim())
        .find(|tag| *tag != "*")
        .and_then(locale_tag)
}

/// A plausible IANA time zone name: `UTC`, or `Area/Location` of letters, digits,
/// `_`, `-` and `+` (`America/Argentina/Buenos_Aires`, `Etc/GMT+5`).
pub fn timezone_name(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > TIMEZONE_CHARS {
        return None;
    }
    if raw == "UTC" {
        return Some(raw.to_owned());
    }
    let mut parts = raw.split('/');
    let area = parts.next()?;
    let area_ok = area.len() >= 2 && area.bytes().all(|b| b.is_ascii_alphabetic());
    let mut locations = 0;
    let rest_ok = parts.all(|p| {
        locations += 1;
        !p.is_empty()
            && p.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
    });
    (area_ok && rest_ok && locations >= 1).then(|| raw.to_owned())
}

/// The User-Agent header as kept: trimmed, control characters removed, cut to
/// [`USER_AGENT_CHARS`]; `None` when empty.
pub fn user_agent(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_CHARS)
        .collect();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(url: &str) -> RawPage {
        RawPage {
            url: Some(url.into()),
            title: Some("  Boots \n | Shop  ".into()),
            ..RawPage::default()
        }
    }

    #[test]
    fn query_strings_and_fragments_are_stripped_unless_kept() {
        let url = "https://shop.example/p/boots?utm_source=mail&token=x#reviews";
        let stripped = page_report(raw(url), false).unwrap();
        assert_eq!(stripped.url, "https://shop.example/p/boots");
        assert_eq!(stripped.title, "Boots | Shop");
        let kept = page_report(raw(url), true).unwrap();
        assert_eq!(kept.url, url);
    }

    #[test]
    fn bad_pages_are_refused_with_the_field() {
        let long = format!("https://shop.example/{}", "a".repeat(PAGE_URL_CHARS));
        let cases = [
            ("no url", RawPage::default(), "data.url"),
            ("javascript url", raw("javascript:alert(1)"), "data.url"),
            ("relative url", raw("/support"), "data.url"),
            ("ftp url", raw("ftp://shop.example/"), "data.url"),
            ("data url", raw("data:text/html,hi"), "data.url"),
            ("too long", raw(&long), "data.url"),
            (
                "bad locale",
                RawPage {
                    locale: Some("<script>".into()),
                    ..raw("https://a.example/")
                },
                "data.locale",
            ),
            (
                "bad timezone",
                RawPage {
                    timezone: Some("Mars/../../etc".into()),
                    ..raw("https://a.example/")
                },
                "data.timezone",
            ),
        ];
        for (case, page, field) in cases {
            let err = page_report(page, false).expect_err(case);
            assert_eq!(err.field, field, "{case}");
        }
    }

    #[test]
    fn credentials_are_removed_and_a_bad_referrer_is_dropped() {
        let page = page_report(
            RawPage {
                referrer: Some("not a url".into()),
                ..raw("https://user:pw@shop.example/cart")
            },
            false,
        )
        .unwrap();
        assert_eq!(page.url, "https://shop.example/cart");
        assert_eq!(page.referrer, None);
    }

    #[test]
    fn titles_are_trimmed_and_limited() {
        assert_eq!(clean_title("a\u{0}b\tc"), "ab c");
        assert_eq!(
            clean_title(&"x".repeat(1000)).chars().count(),
            PAGE_TITLE_CHARS
        );
    }

    #[test]
    fn locales_and_time_zones_are_checked_for_plausibility() {
        assert_eq!(locale_tag("de-DE").as_deref(), Some("de-DE"));
        assert_eq!(locale_tag("en_GB").as_deref(), Some("en-GB"));
        assert_eq!(locale_tag("zh-Hant-TW").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(locale_tag("english"), None);
        assert_eq!(
            locale_from_accept_language("fr-CH, fr;q=0.9, en;q=0.8").as_deref(),
            Some("fr-CH")
        );
        assert_eq!(locale_from_accept_language("*"), None);
        for ok in [
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
            "UTC",
            "America/Port-au-Prince",
        ] {
            assert_eq!(timezone_name(ok).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "Berlin",
            "Europe/",
            "/Berlin",
            "Europe//Berlin",
            "Europe/Ber lin",
            "../x",
        ] {
            assert_eq!(timezone_name(bad), None, "{bad}");
        }
    }
}
