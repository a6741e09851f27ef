//! What every HTTP handler gets: the node's parts, wired once by
//! [`super::Application::build`].

use crate::auth::Authenticator;
use crate::broker::Broker;
use crate::chat::Chat;
use crate::config::{Cidr, Secret};
use crate::domain::validation::Limits;
use crate::http::limits::RateLimiters;
use crate::http::socket_caps::SocketCaps;
use crate::realtime::Realtime;
use crate::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::task::TaskTracker;

/// Settings fixed at start that handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    pub node_id: String,
    /// `scheme://host[:port]` of the service, for the WebSocket origin check.
    pub public_origin: String,
    /// More browser origins allowed to open sockets.
    pub allowed_origins: Vec<String>,
    pub trusted_proxies: Vec<Cidr>,
    pub limits: Limits,
    /// Mark the login cookie `Secure` (the service is reached over https).
    pub secure_cookie: bool,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Serve `/metrics` on the main port (no `METRICS_BIND`).
    pub metrics_on_main_port: bool,
    /// The token `/metrics` requires, if any.
    pub metrics_token: Option<Secret>,
    /// How long an upload request may take (its body streams meanwhile).
    pub upload_timeout: Duration,
    /// The attachment sweep: its interval, when an upload that did not become
    /// a message is an orphan, and the retention (`None`: files are kept).
    pub attachment_sweep: AttachmentSweep,
}

#[derive(Debug, Clone, Copy)]
pub struct AttachmentSweep {
    pub interval: Duration,
    pub orphan_after: Duration,
    pub retention: Option<Duration>,
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub chat: Chat,
    pub store: Arc<dyn Store>,
    pub broker: Arc<dyn Broker>,
    /// Agent tokens: issued at login, checked on every agent request.
    pub auth: Authenticator,
    pub settings: Arc<Settings>,
    pub limiters: Arc<RateLimiters>,
    /// Visitor sockets open at once per ticket and per client IP.
    pub socket_caps: Arc<SocketCaps>,
    /// Set on SIGTERM: readiness turns false and no new sockets are accepted.
    pub draining: Arc<AtomicBool>,
    /// The socket engine: sockets are handed to it after the upgrade.
    pub realtime: Realtime,
    /// Every socket task, so shutdown can wait for them.
    pub sockets: TaskTracker,
}

impl AppState {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }
}
