//! The load generator against the real livesupport node, started in-process on
//! a temp SQLite file with the high limits a load run needs.

use clap::Parser;
use livesupport::config::Secret;
use livesupport::{Application, Config};
use loadtest::Options;
use tempfile::TempDir;
use tokio::sync::oneshot;

const AGENT_EMAIL: &str = "loadtest@example.com";
const AGENT_PASSWORD: &str = "loadtest-password-123";

struct Node {
    url: String,
    _stop: oneshot::Sender<()>,
    _dir: TempDir,
}

async fn start_node() -> Node {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_database(&format!("sqlite://{}/lt.db", dir.path().display()));
    config.bind = "127.0.0.1".parse().unwrap();
    config.port = Some(0);
    config.admin_email = Some(AGENT_EMAIL.into());
    config.admin_password = Some(Secret::new(AGENT_PASSWORD));
    config.token_secret = Some(Secret::new("loadtest-token-secret-of-32-characters"));
    config.ticket_rate_per_minute = 100_000;
    config.login_rate_per_minute = 1_000;
    config.login_ip_rate_per_minute = 1_000;
    config.message_burst = 100_000;
    config.message_rate_per_second = 100_000;
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
    Node {
        url,
        _stop: stop,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_chat_run_delivers_every_message_once_and_in_order() {
    let node = start_node().await;
    let options = Options::parse_from([
        "loadtest",
        "--url",
        &node.url,
        "--agent-email",
        AGENT_EMAIL,
        "--agent-password",
        AGENT_PASSWORD,
        "--tickets",
        "10",
        "--rate",
        "100",
        "--duration",
        "3",
        "--json",
    ]);
    let outcome = loadtest::run(&options).await.expect("the run completes");
    let report = &outcome.report;
    eprintln!("{}", report.to_json());
    assert_eq!(report.tickets, 10);
    assert_eq!(report.connections, 20);
    assert_eq!(report.sent, 300, "100 msg/s for 3 s");
    assert_eq!(report.delivered, report.sent, "{report:?}");
    assert_eq!(outcome.details.acknowledged, report.sent, "{outcome:?}");
    assert_eq!(report.lost, 0, "{outcome:?}");
    assert_eq!(report.duplicated, 0, "{outcome:?}");
    assert_eq!(report.out_of_order, 0, "{outcome:?}");
    assert_eq!(report.errors, 0, "{outcome:?}");
    assert!(report.is_clean());
    assert!(report.latency_ms.p50 > 0.0 && report.latency_ms.p50 <= report.latency_ms.p99);
    assert!(report.latency_ms.p99 <= report.latency_ms.max);
    assert!(report.throughput_per_s > 50.0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_run_holds_its_sockets() {
    let node = start_node().await;
    let options = Options::parse_from([
        "loadtest",
        "--url",
        &node.url,
        "--idle",
        "20",
        "--duration",
        "1",
        "--json",
    ]);
    let outcome = loadtest::run(&options).await.expect("the run completes");
    assert_eq!(outcome.report.tickets, 20);
    assert_eq!(outcome.report.connections, 20, "{outcome:?}");
    assert_eq!(outcome.report.errors, 0, "{outcome:?}");
    assert_eq!(outcome.report.sent, 0);
    assert!(outcome.report.is_clean());
}
