//! Browser and operating system from a User-Agent header, for the agent's view of
//! a visitor. A small parser for the common browsers and systems: a full UA
//! database (a crate with thousands of regexes) would cost more to build than
//! "Chrome 120 on Windows" is worth. Order matters: most browsers also claim to be
//! the ones before them (Edge says Chrome and Safari, Chrome says Safari).

/// `(name, version token)` checked in order; the first found names the browser.
const BROWSERS: &[(&str, &str)] = &[
    ("Edge", "Edg/"),
    ("Edge", "EdgA/"),
    ("Edge", "EdgiOS/"),
    ("Opera", "OPR/"),
    ("Samsung Internet", "SamsungBrowser/"),
    ("Firefox", "Firefox/"),
    ("Firefox", "FxiOS/"),
    ("Chrome", "CriOS/"),
    ("Chrome", "HeadlessChrome/"),
    ("Chrome", "Chrome/"),
    ("Safari", "Version/"),
];

/// The browser's name and major version, e.g. `Chrome 120`; `None` when unknown.
pub fn browser(ua: &str) -> Option<String> {
    for (name, token) in BROWSERS {
        if let Some(at) = ua.find(token) {
            // `Version/` names Safari only where Safari says so.
            if *token == "Version/" && !ua.contains("Safari/") {
                continue;
            }
            let major: String = ua[at + token.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return Some(if major.is_empty() {
                (*name).to_owned()
            } else {
                format!("{name} {major}")
            });
        }
    }
    None
}

/// The operating system, e.g. `Windows`, `macOS`, `iOS 17`, `Android 14`; `None`
/// when unknown.
pub fn operating_system(ua: &str) -> Option<String> {
    if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        return Some(with_version("iOS", ua, "OS ", '_'));
    }
    if ua.contains("Android") {
        return Some(with_version("Android", ua, "Android ", '.'));
    }
    if ua.contains("Windows") {
        return Some("Windows".to_owned());
    }
    if ua.contains("CrOS") {
        return Some("ChromeOS".to_owned());
    }
    if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        return Some("macOS".to_owned());
    }
    if ua.contains("Linux") || ua.contains("X11") {
        return Some("Linux".to_owned());
    }
    None
}

/// `name` and the major version that follows `token` (up to `separator`), if any.
fn with_version(name: &str, ua: &str, token: &str, separator: char) -> String {
    let major: Option<String> = ua.find(token).map(|at| {
        ua[at + token.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() && *c != separator)
            .collect()
    });
    match major.filter(|m| !m.is_empty()) {
        Some(major) => format!("{name} {major}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_and_systems_are_named() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "Chrome 120",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
                "Edge 120",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
                "Safari 17",
                "macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
                "Safari 17",
                "iOS 17",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
                "Chrome 120",
                "iOS 16",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox 121",
                "Linux",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 23",
                "Android 14",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                "Chrome 120",
                "Android 13",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
                "Opera 106",
                "Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
                "Chrome 131",
                "Linux",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
                "Chrome 120",
                "ChromeOS",
            ),
        ];
        for (ua, name, os) in cases {
            assert_eq!(browser(ua).as_deref(), Some(name), "{ua}");
            assert_eq!(operating_system(ua).as_deref(), Some(os), "{ua}");
        }
    }

    #[test]
    fn unknown_agents_are_none() {
        assert_eq!(browser("curl/8.5.0"), None);
        assert_eq!(operating_system("curl/8.5.0"), None);
        assert_eq!(browser(""), None);
    }
}
