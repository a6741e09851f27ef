//! Command line and configuration. Every flag can also be set by the environment
//! variable named beside it; flags win. Secrets are wrapped in [`Secret`] so that
//! no `Debug` print or log line ever shows them.

use crate::domain::attachment::DEFAULT_UPLOAD_TYPES;
use crate::domain::validation::Limits;
use crate::store::{SqliteSync, StoreOptions};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

/// livesupport: live support chat for storefronts.
#[derive(Debug, Parser)]
#[command(name = "livesupport", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node (the default): runs pending migrations first.
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Manage agent accounts.
    #[command(subcommand)]
    Agent(AgentCommand),
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent; the password is read from LIVESUPPORT_AGENT_PASSWORD or stdin.
    Create(AgentCreate),
}

#[derive(Debug, Args)]
pub struct AgentCreate {
    /// The agent's login email.
    #[arg(long)]
    pub email: String,
    /// The name visitors see.
    #[arg(long)]
    pub name: String,
    /// `admin` may manage agents; `agent` only chats.
    #[arg(long, value_enum, default_value_t = RoleArg::Agent)]
    pub role: RoleArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Everything a node needs to run. Built from flags and environment by clap, or
/// by hand in tests with [`Config::for_database`].
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// HTTP port (also read from SUPPORT_SERVICE_PORT). 0 picks a free port.
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "0.0.0.0")]
    pub bind: IpAddr,
    /// `sqlite://PATH` or `postgres://…` (also read from DATABASE_DSN).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Connections to the database per node (2 or more). PostgreSQL: a
    /// quarter of them (1 to 4) is kept for the group commit of messages, so
    /// that a burst of searches or reports cannot hold up appends.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 16)]
    pub database_pool_size: u32,
    /// PostgreSQL cancels a statement running longer than this (0: never).
    #[arg(long, env = "DATABASE_STATEMENT_TIMEOUT_SECONDS", default_value_t = 30)]
    pub database_statement_timeout_seconds: u64,
    /// SQLite: `full` (every acknowledged message is on disk: survives a power
    /// loss; one fsync per group commit) or `normal` (survives a crash of the
    /// process, may lose the last commits to a power loss or an OS crash).
    #[arg(long, env = "SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSync::Full)]
    pub sqlite_synchronous: SqliteSync,
    /// `redis://…`; unset runs the in-process broker (one node only).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// The Redis URL is a Redis Cluster: use sharded pub/sub.
    #[arg(long, env = "REDIS_CLUSTER", default_value_t = false, action = clap::ArgAction::Set)]
    pub redis_cluster: bool,
    /// Prepended to every Redis channel name (`{prefix}ticket:{id}`, `{prefix}agents`),
    /// so that several deployments can share one Redis; every node of one needs the same.
    #[arg(long, env = "REDIS_CHANNEL_PREFIX", default_value = "")]
    pub redis_channel_prefix: String,
    /// The service's own origin, for links and the WebSocket origin check
    /// (default http://localhost:$PORT).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// More origins (comma list) allowed to open sockets and call the API from a browser.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// Signs agent tokens; every node of a cluster needs the same one.
    /// Unset: random at start, so agents are logged out on restart.
    #[arg(long, env = "TOKEN_SECRET", hide_env_values = true)]
    pub token_secret: Option<Secret>,
    /// How long an agent token lasts, in minutes.
    #[arg(long, env = "TOKEN_TTL_MINUTES", default_value_t = 12 * 60)]
    pub token_ttl_minutes: u64,
    /// Seconds between two sweeps of a node's agent sockets against the
    /// database (one query for all of them): how late, at worst, a socket
    /// closes whose revocation the broker lost. Revocations are pushed at once.
    #[arg(long, env = "CREDENTIAL_SWEEP_SECONDS", default_value_t = 60)]
    pub credential_sweep_seconds: u64,
    /// Serve `/metrics` on a listener of its own at this address (e.g.
    /// 0.0.0.0:9090), for Prometheus only; the main port then answers 404 for it.
    /// Unset: `/metrics` is on the main port.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// When set, `/metrics` answers only `Authorization: Bearer <this token>`
    /// (16+ characters), wherever it is served.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
    /// HMAC key for `user_hash` (identity verification); unset turns it off.
    #[arg(long, env = "IDENTITY_SECRET", hide_env_values = true)]
    pub identity_secret: Option<Secret>,
    /// At start, create this admin agent if no agent has that email.
    #[arg(long, env = "ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of the ADMIN_EMAIL agent.
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,
    /// This node's name in logs, metrics and sessions (default: host name + random suffix).
    #[arg(long, env = "NODE_ID")]
    pub node_id: Option<String>,
    /// Ticket creations per client IP a minute.
    #[arg(long, env = "TICKET_RATE_PER_MINUTE", default_value_t = 10)]
    pub ticket_rate_per_minute: u32,
    /// Login attempts per IP and email a minute.
    #[arg(long, env = "LOGIN_RATE_PER_MINUTE", default_value_t = 5)]
    pub login_rate_per_minute: u32,
    /// Login attempts per client IP a minute, whatever the email (a flood of
    /// logins with many emails from one address).
    #[arg(long, env = "LOGIN_IP_RATE_PER_MINUTE", default_value_t = 20)]
    pub login_ip_rate_per_minute: u32,
    /// WebSocket upgrades per client IP a minute (raise it for load tests).
    #[arg(long, env = "SOCKET_RATE_PER_MINUTE", default_value_t = 120)]
    pub socket_rate_per_minute: u32,
    /// Chat messages a connection may send at once before the sustained rate applies.
    #[arg(long, env = "MESSAGE_BURST", default_value_t = 20)]
    pub message_burst: u32,
    /// Chat messages a second per connection, sustained.
    #[arg(long, env = "MESSAGE_RATE_PER_SECOND", default_value_t = 1)]
    pub message_rate_per_second: u32,
    /// Visitor messages per ticket a minute, from all of its sockets together
    /// (more sockets or a reconnect buy no more).
    #[arg(long, env = "MESSAGE_TICKET_RATE_PER_MINUTE", default_value_t = 30)]
    pub message_ticket_rate_per_minute: u32,
    /// Visitor messages per client IP a minute, on every ticket together.
    #[arg(long, env = "MESSAGE_IP_RATE_PER_MINUTE", default_value_t = 120)]
    pub message_ip_rate_per_minute: u32,
    /// Visitor sockets open at once on one ticket (agents' sockets do not count).
    #[arg(long, env = "MAX_SOCKETS_PER_TICKET", default_value_t = 20)]
    pub max_sockets_per_ticket: u32,
    /// Visitor sockets open at once from one client IP (agents' sockets do not count).
    #[arg(long, env = "MAX_SOCKETS_PER_IP", default_value_t = 100)]
    pub max_sockets_per_ip: u32,
    /// CIDRs whose X-Forwarded-For is believed for the client IP (the load balancer's).
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Largest REST request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,
    /// Largest WebSocket frame, in bytes.
    #[arg(long, env = "MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,
    /// Longest chat message, in characters after trimming.
    #[arg(long, env = "MAX_MESSAGE_CHARS", default_value_t = 8192)]
    pub max_message_chars: usize,
    /// Seconds over which a draining node closes its sockets (1012), so that
    /// clients reconnect elsewhere without a storm.
    #[arg(long, env = "DRAIN_WINDOW_SECONDS", default_value_t = 5)]
    pub drain_window_seconds: u64,
    /// Seconds between the pings a socket gets.
    #[arg(long, env = "PING_INTERVAL_SECONDS", default_value_t = 20)]
    pub ping_interval_seconds: u64,
    /// Seconds of silence (no frame, no pong) after which a socket is closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECONDS", default_value_t = 60)]
    pub idle_timeout_seconds: u64,
    /// Milliseconds between two reconciliations of a node's sockets with the
    /// database: how late, at worst, a message whose publish was lost reaches
    /// every socket of its ticket (and a missed ticket change every dashboard).
    #[arg(long, env = "RECONCILE_INTERVAL_MS", default_value_t = 2000)]
    pub reconcile_interval_ms: u64,
    /// Seconds a closed dashboard socket keeps its agent connected (a reload or
    /// a short network drop is not going offline). The contract's 30 s; tests
    /// shorten it.
    #[arg(
        long,
        env = "PRESENCE_GRACE_SECONDS",
        default_value_t = 30,
        hide = true
    )]
    pub presence_grace_seconds: u64,
    /// Seconds a request may take before it is answered with 503.
    #[arg(long, env = "REQUEST_TIMEOUT_SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Seconds within which a request's headers must be complete, counted from
    /// the connection's start or the request's first byte; slower, the
    /// connection is closed without a response.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECONDS", default_value_t = 10)]
    pub header_read_timeout_seconds: u64,
    /// Seconds a keep-alive connection may wait for its next request; above a
    /// load balancer's idle timeout (often 60 s), so that it closes first.
    #[arg(long, env = "KEEPALIVE_IDLE_SECONDS", default_value_t = 75)]
    pub keepalive_idle_seconds: u64,
    /// Open connections (WebSockets included) a node accepts; beyond it only
    /// health checks are answered. Default 20000, and never more than the
    /// open-files limit leaves.
    #[arg(long, env = "MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Open connections per client address (IPv6: per /64); peers in
    /// TRUSTED_PROXIES are exempt. Raise it for load tests from one machine.
    #[arg(long, env = "MAX_CONNECTIONS_PER_IP", default_value_t = 1000)]
    pub max_connections_per_ip: usize,
    /// Keep the query string and fragment of the pages visitors browse (their
    /// visitor context); off by default, as they may hold personal data or tokens.
    #[arg(long, env = "TRACK_QUERY_STRINGS", default_value_t = false, action = clap::ArgAction::Set)]
    pub track_query_strings: bool,
    /// Where attachments are kept: `file://PATH` (default `file://./data/attachments`)
    /// or `s3://BUCKET?endpoint=…&region=…` (credentials from AWS_* variables).
    #[arg(long, env = "STORAGE_URL", hide_env_values = true)]
    pub storage_url: Option<Secret>,
    /// Largest file a message may carry, in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// The file types (sniffed from their bytes) a message may carry.
    #[arg(long, env = "UPLOAD_TYPES", value_delimiter = ',', default_values_t = DEFAULT_UPLOAD_TYPES.iter().map(|t| t.to_string()))]
    pub upload_types: Vec<String>,
    /// Largest image, in pixels (width × height), read from its header.
    #[arg(long, env = "MAX_IMAGE_PIXELS", default_value_t = 40_000_000)]
    pub max_image_pixels: u64,
    /// How long a download URL lasts: seconds, or a number with s, m, h or d.
    #[arg(long, env = "ATTACHMENT_URL_TTL", default_value = "7d")]
    pub attachment_url_ttl: String,
    /// Delete files older than this many days (their messages stay); unset: keep.
    #[arg(long, env = "ATTACHMENT_RETENTION_DAYS")]
    pub attachment_retention_days: Option<u64>,
    /// The retention in seconds, over ATTACHMENT_RETENTION_DAYS (tests).
    #[arg(long, env = "ATTACHMENT_RETENTION_SECONDS", hide = true)]
    pub attachment_retention_seconds: Option<u64>,
    /// Seconds between two sweeps of stored files (orphans, retention).
    #[arg(
        long,
        env = "ATTACHMENT_SWEEP_SECONDS",
        default_value_t = 3600,
        hide = true
    )]
    pub attachment_sweep_seconds: u64,
    /// Seconds after which an upload that did not become a message is an orphan.
    #[arg(
        long,
        env = "ATTACHMENT_ORPHAN_SECONDS",
        default_value_t = 3600,
        hide = true
    )]
    pub attachment_orphan_seconds: u64,
    /// Uploads a minute on one ticket (visitors' and agents' together).
    #[arg(long, env = "UPLOAD_RATE_PER_MINUTE", default_value_t = 10)]
    pub upload_rate_per_minute: u32,
    /// Visitor uploads a minute from one client IP, on every ticket together.
    #[arg(long, env = "UPLOAD_IP_RATE_PER_MINUTE", default_value_t = 30)]
    pub upload_ip_rate_per_minute: u32,
    /// Uploads in progress at once on a node; beyond, 503 with Retry-After.
    #[arg(long, env = "MAX_UPLOADS_IN_PROGRESS", default_value_t = 32)]
    pub max_uploads_in_progress: u32,
    /// Seconds an upload request may take (the body streams in that time).
    #[arg(long, env = "UPLOAD_TIMEOUT_SECONDS", default_value_t = 600)]
    pub upload_timeout_seconds: u64,
    /// `smtp://[user:pass@]host[:port]` (STARTTLS when offered; `?tls=required`
    /// or `?tls=none`) or `smtps://…`. Unset: emails wait in the outbox.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<Secret>,
    /// A PEM file of certificate authorities to trust for the SMTP server's
    /// TLS, besides the public ones (an internal CA).
    #[arg(long, env = "SMTP_CA_FILE")]
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// The sender of every email: an address or `Name <address>` (default
    /// `livesupport@` and the host of PUBLIC_URL).
    #[arg(long, env = "MAIL_FROM")]
    pub mail_from: Option<String>,
    /// Seconds between two looks of a node for due emails and follow-ups.
    #[arg(long, env = "EMAIL_POLL_SECONDS", default_value_t = 10)]
    pub email_poll_seconds: u64,
    /// The first retry's delay in seconds; each next one doubles it, up to an hour.
    #[arg(long, env = "EMAIL_RETRY_BASE_SECONDS", default_value_t = 30)]
    pub email_retry_base_seconds: u64,
    /// Attempts before an email is given up as failed.
    #[arg(long, env = "EMAIL_MAX_ATTEMPTS", default_value_t = 12)]
    pub email_max_attempts: u32,
    /// Seconds a node holds an email it is sending (above the SMTP time-out,
    /// which is half of it): a node that dies mid-send leaves it to another after.
    #[arg(long, env = "EMAIL_LEASE_SECONDS", default_value_t = 120)]
    pub email_lease_seconds: u64,
    /// How long the link back into a conversation works (as ATTACHMENT_URL_TTL).
    #[arg(long, env = "RESUME_LINK_TTL", default_value = "30d")]
    pub resume_link_ttl: String,
    /// Allow webhook URLs whose host is, or resolves to, a loopback, private,
    /// link-local or otherwise non-public address.
    #[arg(long, env = "WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Seconds a webhook receiver has to answer a delivery.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_timeout_seconds: u64,
    /// Seconds between two looks of a node for due webhook deliveries.
    #[arg(long, env = "WEBHOOK_POLL_SECONDS", default_value_t = 5)]
    pub webhook_poll_seconds: u64,
    /// A webhook delivery's first retry delay in seconds; each next one
    /// doubles it, up to an hour.
    #[arg(long, env = "WEBHOOK_RETRY_BASE_SECONDS", default_value_t = 30)]
    pub webhook_retry_base_seconds: u64,
    /// Hours after an event during which its delivery is retried.
    #[arg(long, env = "WEBHOOK_RETRY_HOURS", default_value_t = 24)]
    pub webhook_retry_hours: u64,
    /// The store's clock: the system's; tests set a manual one.
    #[arg(skip)]
    pub clock: crate::store::Clock,
    /// `pretty` or `json` (default: pretty on a terminal, json otherwise).
    #[arg(long, env = "LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// tracing filter, e.g. `info` or `livesupport=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,
}

/// The embedded default store.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/livesupport.db";
/// The embedded default's attachment storage.
pub const DEFAULT_STORAGE_URL: &str = "file://./data/attachments";
pub const DEFAULT_PORT: u16 = 5000;
/// The shortest reconciliation interval a node accepts.
pub const MIN_RECONCILE_INTERVAL: Duration = Duration::from_millis(100);
/// The shortest `METRICS_TOKEN` a node accepts.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

impl Config {
    /// Parses the process's flags and environment, with the aliases clap cannot express.
    /// An empty variable (`PUBLIC_URL=`) counts as unset, as operators expect.
    pub fn apply_aliases(mut self) -> Self {
        fn blank_is_none<T>(value: &mut Option<T>, text: impl Fn(&T) -> &str) {
            if value.as_ref().is_some_and(|v| text(v).trim().is_empty()) {
                *value = None;
            }
        }
        blank_is_none(&mut self.database_url, Secret::expose);
        blank_is_none(&mut self.public_url, |v| v);
        blank_is_none(&mut self.smtp_url, Secret::expose);
        blank_is_none(&mut self.mail_from, |v| v);
        blank_is_none(&mut self.admin_email, |v| v);
        blank_is_none(&mut self.node_id, |v| v);
        blank_is_none(&mut self.redis_url, Secret::expose);
        blank_is_none(&mut self.token_secret, Secret::expose);
        blank_is_none(&mut self.identity_secret, Secret::expose);
        blank_is_none(&mut self.admin_password, Secret::expose);
        blank_is_none(&mut self.metrics_token, Secret::expose);
        blank_is_none(&mut self.storage_url, Secret::expose);
        blank_is_none(&mut self.metrics_bind, |v| v);
        self.allowed_origins.retain(|o| !o.trim().is_empty());
        if self.port.is_none() {
            self.port = std::env::var("SUPPORT_SERVICE_PORT")
                .ok()
                .and_then(|p| p.parse().ok());
        }
        if self.database_url.is_none() {
            self.database_url = std::env::var("DATABASE_DSN")
                .ok()
                .filter(|v| !v.is_empty())
                .map(Secret::new);
        }
        self
    }

    /// A configuration with every default, on the given database: for tests and tools.
    pub fn for_database(database_url: &str) -> Self {
        let cli = Cli::parse_from(["livesupport", "--database-url", database_url, "--port", "0"]);
        cli.config
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    pub fn database_url(&self) -> &str {
        self.database_url
            .as_ref()
            .map_or(DEFAULT_DATABASE_URL, Secret::expose)
    }

    /// How the node uses its database.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            pool_size: self.database_pool_size,
            statement_timeout: (self.database_statement_timeout_seconds > 0)
                .then(|| Duration::from_secs(self.database_statement_timeout_seconds)),
            sqlite_synchronous: self.sqlite_synchronous,
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            message_chars: self.max_message_chars,
            ..Limits::default()
        }
    }

    pub fn storage_url(&self) -> &str {
        self.storage_url
            .as_ref()
            .map_or(DEFAULT_STORAGE_URL, Secret::expose)
    }

    /// `ATTACHMENT_URL_TTL` in seconds.
    pub fn attachment_url_ttl(&self) -> Result<u64, String> {
        parse_duration(&self.attachment_url_ttl)
            .filter(|seconds| *seconds > 0)
            .ok_or_else(|| {
                format!(
                    "ATTACHMENT_URL_TTL must be a positive number of seconds, or a number with s, m, h or d such as 7d (got {:?})",
                    self.attachment_url_ttl
                )
            })
    }

    /// `RESUME_LINK_TTL` in seconds.
    pub fn resume_link_ttl(&self) -> Result<u64, String> {
        parse_duration(&self.resume_link_ttl)
            .filter(|seconds| *seconds > 0)
            .ok_or_else(|| {
                format!(
                    "RESUME_LINK_TTL must be a positive number of seconds, or a number with s, m, h or d such as 30d (got {:?})",
                    self.resume_link_ttl
                )
            })
    }

    /// The sender of emails: `MAIL_FROM`, or `livesupport@` the host of
    /// `PUBLIC_URL` (`localhost` without one).
    pub fn mail_from(&self) -> String {
        if let Some(from) = &self.mail_from {
            return from.trim().to_owned();
        }
        let host = self
            .public_url
            .as_deref()
            .and_then(|url| url::Url::parse(url).ok())
            .and_then(|url| url.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into());
        format!("livesupport@{host}")
    }

    /// How old a file may grow before the sweep deletes it; `None`: kept forever.
    pub fn attachment_retention(&self) -> Option<Duration> {
        self.attachment_retention_seconds
            .map(Duration::from_secs)
            .or_else(|| {
                self.attachment_retention_days
                    .map(|days| Duration::from_secs(days.saturating_mul(86_400)))
            })
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds)
    }

    pub fn keepalive_idle(&self) -> Duration {
        Duration::from_secs(self.keepalive_idle_seconds)
    }

    /// The address of `/metrics`'s own listener, if `METRICS_BIND` names one.
    pub fn metrics_address(&self) -> Result<Option<SocketAddr>, String> {
        self.metrics_bind
            .as_deref()
            .map(|addr| {
                addr.trim().parse().map_err(|_| {
                    format!("METRICS_BIND must be an address and port such as 0.0.0.0:9090 (got {addr:?})")
                })
            })
            .transpose()
    }

    pub fn credential_sweep_interval(&self) -> Duration {
        Duration::from_secs(self.credential_sweep_seconds)
    }

    /// At least [`MIN_RECONCILE_INTERVAL`], so that a typo cannot make every node
    /// query the database in a loop.
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_millis(self.reconcile_interval_ms).max(MIN_RECONCILE_INTERVAL)
    }

    /// Checks what clap cannot: each problem says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let db = self.database_url();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err(format!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got a URL starting with {:?})",
                db.split(':').next().unwrap_or_default()
            ));
        }
        if let Some(url) = &self.public_url {
            origin_of(url).ok_or_else(|| {
                format!("PUBLIC_URL must be an absolute http(s) URL such as https://support.example.com (got {url:?})")
            })?;
        }
        self.trusted_proxies()?;
        for origin in self.allowed_origins.iter().filter(|o| !o.trim().is_empty()) {
            origin_of(origin).ok_or_else(|| {
                format!("ALLOWED_ORIGINS entries must be origins such as https://shop.example.com (got {origin:?})")
            })?;
        }
        if self.database_pool_size < 2 {
            return Err(format!(
                "DATABASE_POOL_SIZE must be 2 or more (got {})",
                self.database_pool_size
            ));
        }
        if let Some(url) = &self.redis_url
            && !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://"))
        {
            return Err("REDIS_URL must start with redis:// or rediss://".into());
        }
        if self.admin_email.is_some() != self.admin_password.is_some() {
            return Err("set both ADMIN_EMAIL and ADMIN_PASSWORD, or neither".into());
        }
        if let Some(secret) = &self.token_secret
            && secret.expose().len() < 32
        {
            return Err("TOKEN_SECRET must be at least 32 characters".into());
        }
        let positive = [
            ("TICKET_RATE_PER_MINUTE", self.ticket_rate_per_minute),
            ("LOGIN_RATE_PER_MINUTE", self.login_rate_per_minute),
            ("LOGIN_IP_RATE_PER_MINUTE", self.login_ip_rate_per_minute),
            ("SOCKET_RATE_PER_MINUTE", self.socket_rate_per_minute),
            ("MESSAGE_BURST", self.message_burst),
            ("MESSAGE_RATE_PER_SECOND", self.message_rate_per_second),
            (
                "MESSAGE_TICKET_RATE_PER_MINUTE",
                self.message_ticket_rate_per_minute,
            ),
            (
                "MESSAGE_IP_RATE_PER_MINUTE",
                self.message_ip_rate_per_minute,
            ),
            ("MAX_SOCKETS_PER_TICKET", self.max_sockets_per_ticket),
            ("MAX_SOCKETS_PER_IP", self.max_sockets_per_ip),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        let at_least_one = [
            (
                "HEADER_READ_TIMEOUT_SECONDS",
                self.header_read_timeout_seconds,
            ),
            ("KEEPALIVE_IDLE_SECONDS", self.keepalive_idle_seconds),
            ("MAX_CONNECTIONS", self.max_connections.unwrap_or(1) as u64),
            ("MAX_CONNECTIONS_PER_IP", self.max_connections_per_ip as u64),
        ];
        if let Some((name, _)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if self.token_ttl_minutes == 0 {
            return Err("TOKEN_TTL_MINUTES must be at least 1".into());
        }
        self.metrics_address()?;
        if self.credential_sweep_seconds == 0 {
            return Err("CREDENTIAL_SWEEP_SECONDS must be at least 1".into());
        }
        if let Some(token) = &self.metrics_token
            && token.expose().len() < MIN_METRICS_TOKEN_CHARS
        {
            return Err(format!(
                "METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_CHARS} characters"
            ));
        }
        self.attachment_url_ttl()?;
        if self.attachment_orphan_seconds <= self.upload_timeout_seconds {
            return Err(format!(
                "ATTACHMENT_ORPHAN_SECONDS ({}) must be above UPLOAD_TIMEOUT_SECONDS ({}): an upload still running is no orphan",
                self.attachment_orphan_seconds, self.upload_timeout_seconds
            ));
        }
        if let Some(bad) = self
            .upload_types
            .iter()
            .find(|t| t.parse::<mime::Mime>().is_err())
        {
            return Err(format!(
                "UPLOAD_TYPES must be a comma list of types such as image/png,application/pdf (got {bad:?})"
            ));
        }
        if self.max_upload_bytes == 0 {
            return Err("MAX_UPLOAD_BYTES must be at least 1".into());
        }
        if self.max_body_bytes < 1024 || self.max_frame_bytes < 1024 {
            return Err("MAX_BODY_BYTES and MAX_FRAME_BYTES must be at least 1024".into());
        }
        Ok(())
    }

    /// The trusted proxy networks; an empty value or entry means none.
    pub fn trusted_proxies(&self) -> Result<Vec<Cidr>, String> {
        self.trusted_proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| p.parse().map_err(|e| format!("TRUSTED_PROXIES: {e}")))
            .collect()
    }

    /// The origin browsers send for the service's own pages.
    pub fn public_origin(&self, bound_port: u16) -> String {
        match &self.public_url {
            Some(url) => origin_of(url).unwrap_or_default(),
            None => format!("http://localhost:{bound_port}"),
        }
    }
}

/// The origin of an absolute http(s) URL as browsers send it in `Origin`:
/// `scheme://host[:port]`, the host lowercased and IDNA-encoded, a default port
/// dropped, no path. `None` for anything else, including URLs with credentials.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url.trim()).ok()?;
    let plain = url.username().is_empty() && url.password().is_none();
    let web = matches!(url.scheme(), "http" | "https") && url.host().is_some();
    (plain && web).then(|| url.origin().ascii_serialization())
}

/// Seconds from `90`, `90s`, `15m`, `12h` or `7d`.
fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    number.trim().parse::<u64>().ok()?.checked_mul(factor)
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(Secret(s.to_owned()))
    }
}

/// An IP network such as `10.0.0.0/8` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(ipnet::IpNet);

impl Cidr {
    /// Whether `ip` is in the network; an IPv4-mapped IPv6 address counts as the
    /// IPv4 address it maps.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        s.parse::<ipnet::IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
            .map(|net| Cidr(net.trunc()))
            .map_err(|_| format!("{s:?} is not a CIDR such as 10.0.0.0/8 or an IP address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let mut config = Config::for_database("sqlite::memory:");
        config.token_secret = Some(Secret::new("very-secret-value-that-is-long-enough"));
        assert!(!format!("{config:?}").contains("very-secret"));
    }

    #[test]
    fn database_settings_become_store_options() {
        let cli = Cli::parse_from([
            "livesupport",
            "--database-pool-size",
            "8",
            "--database-statement-timeout-seconds",
            "0",
            "--sqlite-synchronous",
            "normal",
        ]);
        let options = cli.config.store_options();
        assert_eq!(options.pool_size, 8);
        assert_eq!(options.statement_timeout, None, "0: never");
        assert_eq!(options.sqlite_synchronous, SqliteSync::Normal);

        let defaults = Config::for_database("sqlite::memory:").store_options();
        assert_eq!(defaults.pool_size, 16);
        assert_eq!(defaults.statement_timeout, Some(Duration::from_secs(30)));
        assert_eq!(defaults.sqlite_synchronous, SqliteSync::Full);

        let mut tiny = Config::for_database("sqlite::memory:");
        tiny.database_pool_size = 1;
        assert!(tiny.validate().unwrap_err().contains("DATABASE_POOL_SIZE"));
        assert!(
            Cli::try_parse_from(["livesupport", "--sqlite-synchronous", "off"]).is_err(),
            "only full and normal"
        );
    }

    #[test]
    fn cidrs_match_their_addresses() {
        let net: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        let one: Cidr = "::1".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("::ffff:192.168.1.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
    }

    #[test]
    fn origins_are_normalised_as_browsers_send_them() {
        let origin = |url| origin_of(url);
        assert_eq!(
            origin("https://Shop.Example.com:443/cart?x=1").as_deref(),
            Some("https://shop.example.com")
        );
        assert_eq!(
            origin("http://shop.example.com:8080/").as_deref(),
            Some("http://shop.example.com:8080")
        );
        assert_eq!(
            origin("https://bücher.example").as_deref(),
            Some("https://xn--bcher-kva.example")
        );
        for refused in [
            "https://user:pw@shop.example.com",
            "null",
            "ftp://shop.example.com",
            "shop.example.com",
            "file:///etc/passwd",
            "",
        ] {
            assert_eq!(origin(refused), None, "{refused}");
        }
    }

    #[test]
    fn passwords_in_urls_and_secrets_never_show_in_debug_output() {
        let mut config = Config::for_database("postgres://app:db-pass-123@db/livesupport");
        config.redis_url = Some(Secret::new("redis://:redis-pass-456@cache:6379"));
        config.token_secret = Some(Secret::new("token-secret-789-token-secret-789"));
        config.metrics_token = Some(Secret::new("metrics-token-012-metrics"));
        let shown = format!("{config:?}");
        for secret in [
            "db-pass-123",
            "redis-pass-456",
            "token-secret-789",
            "metrics-token-012",
        ] {
            assert!(!shown.contains(secret), "{secret} printed: {shown}");
        }
        assert_eq!(
            config.database_url(),
            "postgres://app:db-pass-123@db/livesupport",
            "still usable"
        );
    }

    #[test]
    fn connection_defaults_suit_a_node_behind_a_load_balancer() {
        let config = Config::for_database("sqlite::memory:");
        assert_eq!(config.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(
            config.keepalive_idle(),
            Duration::from_secs(75),
            "longer than a load balancer's usual 60 s idle timeout"
        );
        assert_eq!(
            config.max_connections, None,
            "derived from the open-files limit"
        );
        assert_eq!(config.max_connections_per_ip, 1000);
        let mut zero = config.clone();
        zero.max_connections_per_ip = 0;
        assert!(
            zero.validate()
                .unwrap_err()
                .contains("MAX_CONNECTIONS_PER_IP")
        );
        let mut zero = config;
        zero.header_read_timeout_seconds = 0;
        assert!(
            zero.validate()
                .unwrap_err()
                .contains("HEADER_READ_TIMEOUT_SECONDS")
        );
    }

    #[test]
    fn invalid_settings_say_what_to_fix() {
        let mut config = Config::for_database("mysql://x");
        assert!(config.validate().unwrap_err().contains("DATABASE_URL"));
        config.database_url = Some(Secret::new("sqlite::memory:"));
        config.public_url = Some("support.example.com".into());
        assert!(config.validate().unwrap_err().contains("PUBLIC_URL"));
        config.public_url = Some("https://Support.example.com/path".into());
        assert!(config.validate().is_ok());
        config.metrics_bind = Some("9090".into());
        assert!(config.validate().unwrap_err().contains("METRICS_BIND"));
        config.metrics_bind = Some("0.0.0.0:9090".into());
        config.metrics_token = Some(Secret::new("short"));
        assert!(config.validate().unwrap_err().contains("METRICS_TOKEN"));
        config.metrics_token = Some(Secret::new("a-metrics-token-long-enough"));
        assert!(config.validate().is_ok());
        assert_eq!(config.public_origin(1), "https://support.example.com");
    }
}
