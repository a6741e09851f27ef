//! `STORAGE_URL` parsed into a backend, before anything is opened: the unit
//! tests check every rule here without touching a disk or a network.

use super::StorageError;
use object_store::RetryConfig;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use std::path::PathBuf;
use std::time::Duration;

/// Retries of one S3 request, unless the URL's `max_retries` says otherwise.
/// object_store's own default (10 retries within 3 minutes) would keep an upload
/// waiting for a minute on a store that is down; the HTTP client answers 503 instead.
pub(super) const DEFAULT_MAX_RETRIES: usize = 3;
/// No S3 retry starts later than this after the first attempt (`retry_timeout`).
pub(super) const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(10);
/// The region when neither the URL nor `AWS_REGION` / `AWS_DEFAULT_REGION` names one.
const DEFAULT_REGION: &str = "us-east-1";

/// Query options of ours, not object_store's: how an S3 request is retried.
const MAX_RETRIES: &str = "max_retries";
const RETRY_TIMEOUT: &str = "retry_timeout";

/// What a `STORAGE_URL` names.
#[derive(Debug)]
pub(super) enum Location {
    /// A folder (relative paths are from the working directory).
    Filesystem(PathBuf),
    // Boxed: the builder is large, and a location is made once.
    S3(Box<S3Location>),
}

/// An S3 bucket and the client options of the URL's query.
pub(super) struct S3Location {
    pub bucket: String,
    /// `AWS_*` variables first, then the query's options.
    pub builder: AmazonS3Builder,
    pub retry: RetryConfig,
}

impl std::fmt::Debug for S3Location {
    // The builder holds credentials: only the bucket is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Location {
    /// A client option as it will be used (from the URL or the environment).
    pub fn option(&self, key: AmazonS3ConfigKey) -> Option<String> {
        self.builder.get_config_value(&key)
    }

    /// The values that must never appear in an error or a log line.
    pub fn credentials(&self) -> Vec<String> {
        // The SSE-C key has no public variant to name; its option name finds it.
        let customer_key = "sse_customer_key_base64".parse::<AmazonS3ConfigKey>().ok();
        [
            Some(AmazonS3ConfigKey::AccessKeyId),
            Some(AmazonS3ConfigKey::SecretAccessKey),
            Some(AmazonS3ConfigKey::Token),
            customer_key,
        ]
        .into_iter()
        .flatten()
        .filter_map(|key| self.option(key))
        .filter(|value| !value.is_empty())
        .collect()
    }
}

/// Parses `url`: `file://PATH` or `s3://BUCKET?option=value&…`.
pub(super) fn parse(url: &str) -> Result<Location, StorageError> {
    if let Some(path) = url.strip_prefix("file://") {
        // Not through `url::Url`: it would read `./data` in `file://./data` as a host.
        if path.is_empty() {
            return Err(config(
                "file:// needs a folder, e.g. file://./data/attachments",
            ));
        }
        return Ok(Location::Filesystem(PathBuf::from(path)));
    }
    if url.starts_with("s3://") {
        return parse_s3(url).map(|s3| Location::S3(Box::new(s3)));
    }
    // The scheme only: the rest of an unknown URL may hold a credential.
    Err(config(match url.split_once("://") {
        Some((scheme, _)) => {
            format!("unsupported scheme `{scheme}`: use file://PATH or s3://BUCKET?endpoint=…")
        }
        None => "not a URL: use file://PATH or s3://BUCKET?endpoint=…".to_owned(),
    }))
}

fn parse_s3(url: &str) -> Result<S3Location, StorageError> {
    let parsed =
        url::Url::parse(url).map_err(|e| config(format!("not a valid s3:// URL ({e})")))?;
    let bucket = parsed.host_str().unwrap_or_default().to_owned();
    if bucket.is_empty() {
        return Err(config("s3:// needs a bucket: s3://BUCKET?endpoint=…"));
    }
    if !matches!(parsed.path(), "" | "/") {
        return Err(config(
            "s3://BUCKET takes no path: the keys are the service's own",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(config(
            "put credentials in access_key_id / secret_access_key (or AWS_* variables), not before the bucket",
        ));
    }

    let mut builder = AmazonS3Builder::from_env();
    let mut retry = RetryConfig {
        max_retries: DEFAULT_MAX_RETRIES,
        retry_timeout: DEFAULT_RETRY_TIMEOUT,
        ..RetryConfig::default()
    };
    let mut allow_http_given = false;
    for (name, value) in parsed.query_pairs() {
        // Errors name the option, never its value: it may be a secret.
        match name.as_ref() {
            MAX_RETRIES => {
                retry.max_retries = value
                    .parse()
                    .map_err(|_| config(format!("{MAX_RETRIES} must be a whole number")))?;
            }
            RETRY_TIMEOUT => {
                retry.retry_timeout = parse_duration(&value).ok_or_else(|| {
                    config(format!(
                        "{RETRY_TIMEOUT} must be a duration such as 10s or 500ms"
                    ))
                })?;
            }
            _ => {
                let key: AmazonS3ConfigKey = name.parse().map_err(|_| {
                    config(format!(
                        "unknown s3:// option `{name}` (the options are object_store's AmazonS3ConfigKey names, e.g. endpoint, region, allow_http, access_key_id, timeout, and {MAX_RETRIES}, {RETRY_TIMEOUT})"
                    ))
                })?;
                match key {
                    AmazonS3ConfigKey::Bucket => {
                        return Err(config("the bucket is the URL's host: s3://BUCKET"));
                    }
                    AmazonS3ConfigKey::Endpoint => {
                        // The URL's endpoint wins over an AWS_ENDPOINT_URL_S3 of the
                        // environment, which object_store would otherwise prefer.
                        builder =
                            builder.with_config(AmazonS3ConfigKey::S3Endpoint, value.as_ref());
                    }
                    AmazonS3ConfigKey::Client(object_store::ClientConfigKey::AllowHttp) => {
                        allow_http_given = true;
                    }
                    _ => {}
                }
                builder = builder.with_config(key, value.as_ref());
            }
        }
    }
    let endpoint = builder
        .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
        .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::Endpoint));
    if !allow_http_given && endpoint.is_some_and(|e| e.starts_with("http://")) {
        builder = builder.with_allow_http(true);
    }
    if builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .is_none()
    {
        builder = builder.with_region(DEFAULT_REGION);
    }
    builder = builder.with_bucket_name(&bucket).with_retry(retry.clone());
    Ok(S3Location {
        bucket,
        builder,
        retry,
    })
}

/// `500ms`, `10s`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number.checked_mul(60)?)),
        _ => None,
    }
}

fn config(message: impl Into<String>) -> StorageError {
    StorageError::Config(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(url: &str) -> S3Location {
        match parse(url) {
            Ok(Location::S3(location)) => *location,
            other => panic!("{url}: expected an S3 location, got {other:?}"),
        }
    }

    fn config_error(url: &str) -> String {
        match parse(url) {
            Err(StorageError::Config(message)) => message,
            other => panic!("{url}: expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn a_relative_file_url_is_a_path_from_the_working_directory() {
        let Ok(Location::Filesystem(path)) = parse("file://./data/attachments") else {
            panic!("a filesystem location");
        };
        assert_eq!(path, PathBuf::from("./data/attachments"));
        assert!(path.is_relative());
    }

    #[test]
    fn an_absolute_file_url_is_that_path() {
        let Ok(Location::Filesystem(path)) = parse("file:///var/lib/livesupport/files") else {
            panic!("a filesystem location");
        };
        assert_eq!(path, PathBuf::from("/var/lib/livesupport/files"));
    }

    #[test]
    fn a_file_url_without_a_path_is_refused() {
        assert!(config_error("file://").contains("folder"));
    }

    #[test]
    fn an_s3_url_takes_its_bucket_from_the_host_and_every_query_option() {
        let location = s3(
            "s3://attachments?endpoint=https://minio.internal:9000&region=eu-west-3\
             &access_key_id=AKID&secret_access_key=SECRET&virtual_hosted_style_request=false\
             &timeout=5s&max_retries=0&retry_timeout=1500ms",
        );
        assert_eq!(location.bucket, "attachments");
        assert_eq!(
            location.option(AmazonS3ConfigKey::Bucket).as_deref(),
            Some("attachments")
        );
        assert_eq!(
            location.option(AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("https://minio.internal:9000")
        );
        assert_eq!(
            location.option(AmazonS3ConfigKey::Region).as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(
            location
                .option(AmazonS3ConfigKey::VirtualHostedStyleRequest)
                .as_deref(),
            Some("false")
        );
        assert_eq!(
            location
                .option(AmazonS3ConfigKey::Client(
                    object_store::ClientConfigKey::Timeout
                ))
                .as_deref(),
            Some("5s")
        );
        assert_eq!(location.retry.max_retries, 0);
        assert_eq!(location.retry.retry_timeout, Duration::from_millis(1500));
        let credentials = location.credentials();
        assert!(credentials.contains(&"AKID".to_owned()), "{credentials:?}");
        assert!(credentials.contains(&"SECRET".to_owned()));
        // An https endpoint does not allow plain HTTP.
        assert_ne!(
            location
                .option(AmazonS3ConfigKey::Client(
                    object_store::ClientConfigKey::AllowHttp
                ))
                .as_deref(),
            Some("true")
        );
    }

    #[test]
    fn an_http_endpoint_allows_http_and_the_region_defaults_to_us_east_1() {
        let location = s3("s3://b?endpoint=http://127.0.0.1:9000");
        assert_eq!(
            location
                .option(AmazonS3ConfigKey::Client(
                    object_store::ClientConfigKey::AllowHttp
                ))
                .as_deref(),
            Some("true")
        );
        // The environment may name a region; without one, us-east-1.
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            assert_eq!(
                location.option(AmazonS3ConfigKey::Region).as_deref(),
                Some(DEFAULT_REGION)
            );
        }
        assert_eq!(location.retry.max_retries, DEFAULT_MAX_RETRIES);
        assert_eq!(location.retry.retry_timeout, DEFAULT_RETRY_TIMEOUT);
    }

    #[test]
    fn an_explicit_allow_http_is_kept() {
        let location = s3("s3://b?endpoint=http://127.0.0.1:9000&allow_http=false");
        assert_eq!(
            location
                .option(AmazonS3ConfigKey::Client(
                    object_store::ClientConfigKey::AllowHttp
                ))
                .as_deref(),
            Some("false")
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_message_naming_the_problem_and_no_secret() {
        let cases = [
            ("ftp://host/files", "unsupported scheme `ftp`"),
            ("/var/lib/files", "not a URL"),
            ("s3://", "needs a bucket"),
            ("s3://b/some/prefix", "takes no path"),
            (
                "s3://b?acces_key_id=SECRET",
                "unknown s3:// option `acces_key_id`",
            ),
            ("s3://b?bucket=other", "the bucket is the URL's host"),
            (
                "s3://b?max_retries=SECRET",
                "max_retries must be a whole number",
            ),
            (
                "s3://b?retry_timeout=SECRET",
                "retry_timeout must be a duration",
            ),
            ("s3://AKID:SECRET@b", "not before the bucket"),
        ];
        for (url, expected) in cases {
            let message = config_error(url);
            assert!(
                message.contains(expected),
                "{url}: `{message}` should say `{expected}`"
            );
            assert!(!message.contains("SECRET"), "{url}: `{message}` leaks");
        }
    }

    #[test]
    fn durations_take_ms_s_m_or_bare_seconds() {
        let cases = [
            ("500ms", Some(Duration::from_millis(500))),
            ("10s", Some(Duration::from_secs(10))),
            ("2m", Some(Duration::from_secs(120))),
            ("7", Some(Duration::from_secs(7))),
            ("1h", None),
            ("s", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), expected, "{text:?}");
        }
    }
}
