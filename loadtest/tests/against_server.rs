//! The load generator against the real livesupport node, started in-process on
//! a temp SQLite file with the high limits a load run needs.

mod common;

use clap::Parser;
use livesupport::Config;
use livesupport::config::Secret;
use loadtest::Options;
use tempfile::TempDir;

const AGENT_EMAIL: &str = "loadtest@example.com";
const AGENT_PASSWORD: &str = "loadtest-password-123";

/// A node on a SQLite file of its own, kept as long as the node.
struct Node {
    node: common::Node,
    _dir: TempDir,
}

impl std::ops::Deref for Node {
    type Target = common::Node;
    fn deref(&self) -> &common::Node {
        &self.node
    }
}

async fn start_node() -> Node {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::for_database(&format!("sqlite://{}/lt.db", dir.path().display()));
    config.admin_email = Some(AGENT_EMAIL.into());
    config.admin_password = Some(Secret::new(AGENT_PASSWORD));
    config.token_secret = Some(Secret::new("loadtest-token-secret-of-32-characters"));
    common::raise_limits(&mut config);
    Node {
        node: common::serve(config).await,
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
