//! Wiring: from a [`Config`] to a bound, running node.
//!
//! - [`state`]: the [`AppState`] every HTTP handler gets.
//! - `background`: the node's periodic upkeep (gauges, limiter sweeps).
//! - [`server`]: the accept loop: connection caps, header and idle timeouts.

mod background;
pub mod server;
mod state;

pub use state::{AppState, AttachmentSweep, Settings};

use crate::auth::{self, Authenticator, TokenKeys};
use crate::broker::{self, Broker, INBOX_CAPACITY, LocalBroker, RedisBroker};
use crate::chat::attachments::Attachments;
use crate::chat::email::{Mail, MailTiming};
use crate::chat::limits::MessageRates;
use crate::chat::publisher::Publisher;
use crate::chat::routing::Routing;
use crate::chat::sessions;
use crate::chat::webhooks::{HookTiming, Webhooks};
use crate::chat::{self, Chat, ChatParts};
use crate::config::{Config, Secret, origin_of};
use crate::domain::AgentRole;
use crate::domain::attachment::{AttachmentUrls, UploadRules};
use crate::http::limits::PerMinute;
use crate::http::scrape::MetricsServer;
use crate::http::socket_caps::SocketCaps;
use crate::http::{self, RateLimiters};
use crate::metrics::metrics;
use crate::realtime::credentials::Credentials;
use crate::realtime::hub::{Hub, HubConfig};
use crate::realtime::{Realtime, SocketSettings, router};
use crate::storage::Storage;
use crate::store::{self, NewAgent, Store, StoreError};
use server::ServerSettings;
use server::caps::{self, ConnectionCaps};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long shutdown waits for sockets beyond the drain window.
const SOCKET_CLOSE_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("cannot create the first admin: {0}")]
    Admin(String),
}

/// The admin created on a first start with no agents, to be printed once.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: String,
    pub password: String,
}

pub struct Application {
    listener: TcpListener,
    port: u16,
    /// `/metrics`'s own listener (`METRICS_BIND`), if it has one.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    first_admin: Option<FirstAdmin>,
    server: ServerSettings,
    /// The connection caps, counted from the first accept.
    caps: Arc<ConnectionCaps>,
    /// The hub, the publisher's retry task and the credential sweeper, stopped
    /// by `core_stop` after the sockets are gone.
    core_tasks: Vec<tokio::task::JoinHandle<()>>,
    core_stop: CancellationToken,
}

impl Application {
    /// Connects the store (migrating it), the broker, creates the bootstrap admin
    /// when needed, and binds the port. Nothing is served until `run_until_stopped`.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        let token_secret = config.token_secret.clone().unwrap_or_else(|| {
            tracing::warn!(
                "TOKEN_SECRET is not set: a random one is used, so agents are logged out on restart"
            );
            auth::random_secret()
        });
        let ttl = config.attachment_url_ttl().map_err(StartError::Config)?;
        let urls = AttachmentUrls::new(token_secret.expose().as_bytes(), ttl as i64);
        let store = store::connect_signing(
            config.database_url(),
            &config.store_options(),
            Some(urls.clone()),
            config.clock.clone(),
        )
        .await?;
        let storage = Storage::from_url(config.storage_url())
            .await
            .map_err(|err| StartError::Config(err.to_string()))?;
        tracing::info!(storage = %storage.describe(), "attachment storage");
        let (inbox, inbox_rx) = broker::inbox(INBOX_CAPACITY);
        let broker: Arc<dyn Broker> = match &config.redis_url {
            Some(url) => Arc::new(
                RedisBroker::connect(
                    url.expose(),
                    config.redis_cluster,
                    &config.redis_channel_prefix,
                    inbox,
                )
                .await
                .map_err(|err| StartError::Config(err.to_string()))?,
            ),
            None => Arc::new(LocalBroker::new(inbox)),
        };

        let listener = listen(SocketAddr::new(config.bind, config.port()))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match config.metrics_address().map_err(StartError::Config)? {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|err| {
                StartError::Config(format!("METRICS_BIND {addr}: cannot listen: {err}"))
            })?),
            None => None,
        };
        let public_origin = config.public_origin(port);
        if metrics_listener.is_none()
            && config.metrics_token.is_none()
            && public_origin.starts_with("https://")
        {
            tracing::warn!(
                "/metrics is open on the main port: set METRICS_BIND (or METRICS_TOKEN) to keep it private"
            );
        }
        let node_id = config.node_id.clone().unwrap_or_else(default_node_id);

        let tokens = TokenKeys::new(
            &token_secret,
            Duration::from_secs(config.token_ttl_minutes * 60),
        );
        let first_admin = bootstrap_admin(&config, store.as_ref()).await?;
        // The first heartbeat before the first socket: this node's sessions
        // count as live from the start.
        if let Err(err) = store.heartbeat(&node_id).await {
            tracing::warn!(cause = %err, "first heartbeat failed; retried in the background");
        }

        let core_stop = CancellationToken::new();
        let hub_config = HubConfig {
            reconcile_interval: config.reconcile_interval(),
        };
        let credentials = Credentials::default();
        let (hub, hub_task) = Hub::start(
            store.clone(),
            broker.clone(),
            inbox_rx,
            hub_config,
            credentials.clone(),
            core_stop.clone(),
        );
        let sweeper_task = credentials
            .start(
                store.clone(),
                broker.clone(),
                config.credential_sweep_interval(),
                core_stop.clone(),
            )
            .await;
        let (publisher, publisher_task) =
            Publisher::start(broker.clone(), store.clone(), core_stop.clone());
        let smtp_ca = match &config.smtp_ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|err| {
                StartError::Config(format!("SMTP_CA_FILE {}: {err}", path.display()))
            })?),
            None => None,
        };
        let limits = config.limits();
        let chat = Chat::new(ChatParts {
            store: store.clone(),
            publisher,
            limits,
            message_rates: MessageRates {
                per_ticket: config.message_ticket_rate_per_minute,
                per_ip: config.message_ip_rate_per_minute,
            },
            identity_secret: config.identity_secret.clone(),
            node_id: node_id.clone(),
            routing: Routing::new(
                Duration::from_secs(config.presence_grace_seconds),
                config.reconcile_interval(),
            ),
            attachments: Attachments::new(
                storage,
                UploadRules {
                    allowed_types: config.upload_types.clone(),
                    max_image_pixels: config.max_image_pixels,
                },
                urls,
                config.max_upload_bytes,
                config.max_uploads_in_progress,
            ),
            mail: Mail::new(
                config.smtp_url.as_ref().map(Secret::expose),
                smtp_ca.as_deref(),
                &config.mail_from(),
                public_origin.clone(),
                token_secret.expose().as_bytes(),
                config.resume_link_ttl().map_err(StartError::Config)? as i64,
                MailTiming {
                    poll: Duration::from_secs(config.email_poll_seconds),
                    retry_base: Duration::from_secs(config.email_retry_base_seconds),
                    max_attempts: config.email_max_attempts,
                    lease: Duration::from_secs(config.email_lease_seconds),
                },
            )
            .map_err(StartError::Config)?,
            webhooks: Webhooks::new(
                config.webhook_allow_private,
                HookTiming {
                    poll: Duration::from_secs(config.webhook_poll_seconds.max(1)),
                    timeout: Duration::from_secs(config.webhook_timeout_seconds.max(1)),
                    retry_base: Duration::from_secs(config.webhook_retry_base_seconds.max(1)),
                    retry_for: Duration::from_secs(config.webhook_retry_hours.saturating_mul(3600)),
                },
            ),
        });
        let auth = Authenticator::new(tokens, store.clone());
        let realtime = Realtime {
            chat: chat.clone(),
            hub,
            credentials,
            openings: crate::realtime::replay::Openings::start(store.clone()),
            settings: Arc::new(SocketSettings {
                node_id: node_id.clone(),
                limits,
                max_frame_bytes: config.max_frame_bytes,
                message_burst: config.message_burst,
                message_rate_per_second: config.message_rate_per_second,
                drain_window: Duration::from_secs(config.drain_window_seconds),
                ping_interval: Duration::from_secs(config.ping_interval_seconds.max(1)),
                idle_timeout: Duration::from_secs(config.idle_timeout_seconds.max(1)),
                track_query_strings: config.track_query_strings,
            }),
            shutdown: CancellationToken::new(),
        };
        let settings = Settings {
            node_id,
            secure_cookie: public_origin.starts_with("https://"),
            public_origin,
            allowed_origins: config
                .allowed_origins
                .iter()
                .filter_map(|o| origin_of(o))
                .collect(),
            trusted_proxies: config.trusted_proxies().map_err(StartError::Config)?,
            limits,
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout(),
            metrics_on_main_port: metrics_listener.is_none(),
            metrics_token: config.metrics_token.clone(),
            upload_timeout: Duration::from_secs(config.upload_timeout_seconds),
            attachment_sweep: AttachmentSweep {
                interval: Duration::from_secs(config.attachment_sweep_seconds.max(1)),
                orphan_after: Duration::from_secs(config.attachment_orphan_seconds),
                retention: config.attachment_retention(),
            },
        };
        let caps = connection_caps(&config, settings.trusted_proxies.clone());
        let server = ServerSettings {
            header_read_timeout: config.header_read_timeout(),
            keepalive_idle: config.keepalive_idle(),
        };
        let state = AppState {
            chat,
            store,
            broker,
            auth,
            settings: Arc::new(settings),
            limiters: Arc::new(RateLimiters::new(PerMinute {
                tickets: config.ticket_rate_per_minute,
                logins: config.login_rate_per_minute,
                login_ips: config.login_ip_rate_per_minute,
                sockets: config.socket_rate_per_minute,
                uploads: config.upload_rate_per_minute,
                upload_ips: config.upload_ip_rate_per_minute,
            })),
            socket_caps: Arc::new(SocketCaps::new(
                config.max_sockets_per_ticket,
                config.max_sockets_per_ip,
            )),
            draining: Arc::new(AtomicBool::new(false)),
            realtime,
            sockets: TaskTracker::new(),
        };
        Ok(Application {
            listener,
            port,
            metrics_listener,
            state,
            first_admin,
            server,
            caps,
            core_tasks: vec![hub_task, publisher_task, sweeper_task],
            core_stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of `/metrics`'s own listener, when `METRICS_BIND` gave it one.
    pub fn metrics_port(&self) -> Option<u16> {
        let listener = self.metrics_listener.as_ref()?;
        listener.local_addr().ok().map(|addr| addr.port())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The generated admin login of a first start, if this start made one.
    pub fn first_admin(&self) -> Option<&FirstAdmin> {
        self.first_admin.as_ref()
    }

    /// Serves until `shutdown` resolves, then drains: readiness turns false, new
    /// sockets are refused, open ones close (1012) spread over the drain window,
    /// in-flight requests finish, and background tasks end.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let background = CancellationToken::new();
        let tasks = [
            tokio::spawn(background::sweep_limiters(
                state.clone(),
                background.clone(),
            )),
            tokio::spawn(sessions::keep_alive(state.chat.clone(), background.clone())),
            tokio::spawn(router::run(state.realtime.clone(), background.clone())),
            tokio::spawn(background::refresh_ticket_gauges(
                state.clone(),
                background.clone(),
            )),
            tokio::spawn(background::refresh_health_gauges(
                state.clone(),
                background.clone(),
            )),
            tokio::spawn(background::sweep_attachments(
                state.clone(),
                background.clone(),
            )),
            tokio::spawn(chat::email::run(state.chat.clone(), background.clone())),
            tokio::spawn(chat::webhooks::run(state.chat.clone(), background.clone())),
        ];
        tracing::info!(port = self.port, node_id = %state.settings.node_id, "listening");
        let metrics_server = self
            .metrics_listener
            .map(|listener| MetricsServer::start(listener, state.settings.metrics_token.as_ref()));
        let drain = {
            let state = state.clone();
            async move {
                shutdown.await;
                tracing::info!("draining: refusing new sockets, closing open ones");
                state.draining.store(true, Ordering::Relaxed);
                metrics().ready.set(0);
                state.realtime.shutdown.cancel();
            }
        };
        let app = http::router(state.clone());
        server::serve(self.listener, app, self.server, self.caps, drain).await;
        state.sockets.close();
        let grace = state.realtime.settings.drain_window + SOCKET_CLOSE_GRACE;
        if tokio::time::timeout(grace, state.sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        background.cancel();
        for task in tasks {
            let _ = task.await;
        }
        self.core_stop.cancel();
        for task in self.core_tasks {
            let _ = task.await;
        }
        if let Some(server) = metrics_server {
            server.stop().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Creates the configured admin, or on a first start with no agents at all,
/// `admin@localhost` with a random password (returned to be printed once).
async fn bootstrap_admin(
    config: &Config,
    store: &dyn Store,
) -> Result<Option<FirstAdmin>, StartError> {
    let (email, password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => (
            email.trim().to_lowercase(),
            password.expose().to_owned(),
            false,
        ),
        _ if store.count_agents().await? == 0 => {
            ("admin@localhost".to_owned(), auth::random_password(), true)
        }
        _ => return Ok(None),
    };
    if store.agent_by_email(&email).await?.is_some() {
        return Ok(None);
    }
    let password_hash = auth::hash_password(password.clone())
        .await
        .map_err(|e| StartError::Admin(e.to_string()))?;
    let created = store
        .create_agent(&NewAgent {
            email: email.clone(),
            name: "Admin".into(),
            role: AgentRole::Admin,
            password_hash,
        })
        .await;
    match created {
        Ok(agent) => tracing::info!(agent_id = agent.id, "admin agent created"),
        // Another node created it first.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(err) => return Err(err.into()),
    }
    Ok(generated.then_some(FirstAdmin { email, password }))
}

/// The node's caps: `MAX_CONNECTIONS` (or the default) within what the
/// open-files limit leaves, said in a warning when that limit is what caps.
fn connection_caps(
    config: &Config,
    trusted_proxies: Vec<crate::config::Cidr>,
) -> Arc<ConnectionCaps> {
    let open_files_limit = caps::open_files_limit();
    let max_connections = caps::connection_cap(config.max_connections, open_files_limit);
    if max_connections
        < config
            .max_connections
            .unwrap_or(caps::DEFAULT_MAX_CONNECTIONS)
    {
        tracing::warn!(
            max_connections,
            open_files_limit,
            "the open-files limit caps connections lower than configured; raise it (ulimit -n, LimitNOFILE)"
        );
    }
    ConnectionCaps::new(
        max_connections,
        config.max_connections_per_ip,
        trusted_proxies,
    )
}

/// Host name plus a random suffix, so two processes on one host differ.
fn default_node_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..6].to_owned();
    format!("{host}-{suffix}")
}

/// Connections the kernel queues for the accept loop (it caps this at
/// `net.core.somaxconn`). When a node drains, its sockets arrive on the others
/// all at once (issue 20): with tokio's default of 1,024 the queue overflows,
/// and each SYN dropped is retried by the client only after 1 s, then 3 s.
const LISTEN_BACKLOG: u32 = 16 * 1024;

/// Listens on `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as
/// `TcpListener::bind` sets it).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
