//! Wiring: from a [`Config`] to a bound, running node.

use crate::auth::{self, TokenKeys};
use crate::broker::{Broker, Inbound, LocalBroker};
use crate::chat::Chat;
use crate::config::{Config, origin_of};
use crate::domain::AgentRole;
use crate::http::{self, AppState, RateLimiters, Settings};
use crate::realtime::events::Publisher;
use crate::store::{self, NewAgent, Store, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Connections to the database per node.
const DATABASE_POOL_SIZE: u32 = 16;
/// How often idle rate-limiter keys are forgotten.
const LIMITER_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

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
    state: AppState,
    first_admin: Option<FirstAdmin>,
    /// Deliveries from the broker, until the hub takes them.
    inbox: mpsc::UnboundedReceiver<Inbound>,
}

impl Application {
    /// Connects the store (migrating it), the broker, creates the bootstrap admin
    /// when needed, and binds the port. Nothing is served until `run_until_stopped`.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        let store = store::connect(config.database_url(), DATABASE_POOL_SIZE).await?;
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let broker: Arc<dyn Broker> = Arc::new(LocalBroker::new(inbox_tx));

        let listener = TcpListener::bind(SocketAddr::new(config.bind, config.port())).await?;
        let port = listener.local_addr()?.port();
        let public_origin = config.public_origin(port);

        let token_secret = config.token_secret.clone().unwrap_or_else(|| {
            tracing::warn!(
                "TOKEN_SECRET is not set: a random one is used, so agents are logged out on restart"
            );
            auth::random_secret()
        });
        let tokens = TokenKeys::new(
            &token_secret,
            Duration::from_secs(config.token_ttl_minutes * 60),
        );
        let first_admin = bootstrap_admin(&config, store.as_ref()).await?;

        let settings = Settings {
            node_id: config.node_id.clone().unwrap_or_else(default_node_id),
            secure_cookie: public_origin.starts_with("https://"),
            public_origin,
            allowed_origins: config
                .allowed_origins
                .iter()
                .filter_map(|o| origin_of(o))
                .collect(),
            trusted_proxies: config.trusted_proxies.clone(),
            limits: config.limits(),
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout(),
        };
        let publisher = Publisher::new(broker.clone());
        let chat = Chat::new(
            store.clone(),
            publisher,
            settings.limits,
            config.identity_secret.clone(),
        );
        let state = AppState {
            chat,
            store,
            broker,
            tokens: Arc::new(tokens),
            settings: Arc::new(settings),
            limiters: Arc::new(RateLimiters::new(
                config.ticket_rate_per_minute,
                config.login_rate_per_minute,
            )),
            draining: Arc::new(AtomicBool::new(false)),
        };
        Ok(Application {
            listener,
            port,
            state,
            first_admin,
            inbox,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The generated admin login of a first start, if this start made one.
    pub fn first_admin(&self) -> Option<&FirstAdmin> {
        self.first_admin.as_ref()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight
    /// requests finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        let sweeper = tokio::spawn({
            let limiters = state.limiters.clone();
            async move {
                let mut tick = tokio::time::interval(LIMITER_SWEEP_INTERVAL);
                loop {
                    tick.tick().await;
                    limiters.forget_idle();
                }
            }
        });
        let _inbox = self.inbox;
        tracing::info!(port = self.port, node_id = %state.settings.node_id, "listening");
        let app = http::router(state);
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        sweeper.abort();
        served
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
