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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_routing_run_keeps_every_agent_within_max_chats() {
    let node = start_node().await;
    // 3 agents × 2 chats; 4 visitors a second held 1 s on average: about 4 at
    // once against 6 places, so everyone gets an agent.
    let options = Options::parse_from([
        "loadtest",
        "--url",
        &node.url,
        "--agent-email",
        AGENT_EMAIL,
        "--agent-password",
        AGENT_PASSWORD,
        "--routing",
        "--agents",
        "3",
        "--max-chats",
        "2",
        "--visitor-rate",
        "4",
        "--hold",
        "1",
        "--duration",
        "4",
        "--json",
    ]);
    let outcome = loadtest::run(&options).await.expect("the run completes");
    eprintln!("{}", outcome.report.to_json());
    let routing = outcome.report.routing.as_ref().expect("a routing section");
    assert_eq!(routing.visitors, 16, "4 a second for 4 s");
    assert_eq!(routing.assigned, 16, "{outcome:?}");
    assert_eq!(routing.agents, 3);
    assert!(
        routing.max_concurrent.values().all(|&n| n <= 2),
        "{outcome:?}"
    );
    assert!(
        routing.max_open_chats.values().all(|&n| n <= 2),
        "{outcome:?}"
    );
    assert_eq!(routing.double_assigned, 0, "{outcome:?}");
    assert!(routing.time_to_assignment_ms.p50 > 0.0, "{outcome:?}");
    assert_eq!(outcome.report.errors, 0, "{outcome:?}");
    assert!(outcome.report.is_clean(), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_run_with_dashboards_reads_the_feeds_without_judging_the_run() {
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
        "5",
        "--rate",
        "50",
        "--duration",
        "2",
        "--dashboards",
        "2",
        "--json",
    ]);
    let outcome = loadtest::run(&options).await.expect("the run completes");
    let report = &outcome.report;
    eprintln!("{}", report.to_json());
    // The chat run itself is as without dashboards.
    assert_eq!(report.sent, 100, "{outcome:?}");
    assert_eq!(report.connections, 10, "the feeds are not chat sockets");
    assert!(report.is_clean(), "{outcome:?}");
    // Whatever the node's feed carries (`notices` after issue 20, `message`
    // frames before it), the two feeds were read to the end and counted.
    let dash = report.dashboards.as_ref().expect("a dashboards section");
    assert_eq!(dash.feeds, 2);
    assert_eq!(dash.failed, 0, "{dash:?}");
    assert_eq!(dash.tickets_written, 5, "{dash:?}");
    assert!(dash.tickets_noticed <= dash.tickets_written);
    assert!(dash.frames > 0, "{dash:?}");
    assert_eq!(dash.frames, dash.notices_frames + dash.other_frames);
    assert!(
        dash.seconds >= 3.0,
        "2 s of sends and 1 s of grace: {dash:?}"
    );
}
