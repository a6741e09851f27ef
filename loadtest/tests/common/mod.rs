//! Starting real livesupport nodes in-process for the load generator's tests.
#![allow(dead_code)]

use livesupport::{Application, Config};
use tokio::sync::oneshot;

/// A running node; it stops when dropped.
pub struct Node {
    pub url: String,
    _stop: oneshot::Sender<()>,
}

/// The limits a load run needs (docs/LOADTEST.md), set on `config`.
pub fn raise_limits(config: &mut Config) {
    config.ticket_rate_per_minute = 100_000;
    config.socket_rate_per_minute = 100_000;
    config.login_rate_per_minute = 1_000;
    config.login_ip_rate_per_minute = 1_000;
    config.message_burst = 100_000;
    config.message_rate_per_second = 100_000;
    config.max_connections_per_ip = 1_000_000;
    config.message_ticket_rate_per_minute = 1_000_000;
    config.message_ip_rate_per_minute = 1_000_000;
    config.max_sockets_per_ticket = 100_000;
    config.max_sockets_per_ip = 100_000;
}

/// Builds and serves a node on 127.0.0.1 and a free port.
pub async fn serve(mut config: Config) -> Node {
    config.bind = "127.0.0.1".parse().unwrap();
    config.port = Some(0);
    let app = Application::build(config).await.expect("the node starts");
    let url = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("the node serves");
    });
    Node { url, _stop: stop }
}
