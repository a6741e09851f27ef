//! Chaos mode against two real livesupport nodes, started in-process on a fresh
//! PostgreSQL schema and the shared Redis; the second node reaches Redis only
//! through the run's `--chaos-redis` proxy, which the run cuts twice.
//!
//! Needs `LIVESUPPORT_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`) and `LIVESUPPORT_TEST_REDIS_URL`
//! (e.g. `redis://127.0.0.1:6379`); without them it skips with a loud notice,
//! and fails instead under `LIVESUPPORT_REQUIRE_POSTGRES=1` /
//! `LIVESUPPORT_REQUIRE_REDIS=1`.

mod common;

#[path = "../../tests/common/postgres_schema.rs"]
mod postgres_schema;
use clap::Parser;
use livesupport::Config;
use livesupport::config::Secret;
use loadtest::Options;
use std::net::{SocketAddr, TcpListener};
use std::time::{SystemTime, UNIX_EPOCH};

const AGENT_EMAIL: &str = "loadtest@example.com";
const AGENT_PASSWORD: &str = "loadtest-password-123";
const TOKEN_SECRET: &str = "loadtest-token-secret-of-32-characters";

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1" || v == "true")
}

/// The test's own name for schemas and channel prefixes.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("{prefix}{}_{nanos}", std::process::id())
}

/// A URL to a fresh PostgreSQL schema, or `None` (with a notice) when the
/// PostgreSQL tests are not configured here.
async fn postgres_database() -> Option<String> {
    let base = match std::env::var("LIVESUPPORT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                !required("LIVESUPPORT_REQUIRE_POSTGRES"),
                "LIVESUPPORT_REQUIRE_POSTGRES=1 but LIVESUPPORT_TEST_POSTGRES_URL is not set"
            );
            eprintln!(
                "\n*** SKIPPED: chaos test (set LIVESUPPORT_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test and LIVESUPPORT_TEST_REDIS_URL=redis://127.0.0.1:6379 to run it) ***\n"
            );
            return None;
        }
    };
    let schema = unique("lt_chaos_");
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach PostgreSQL at LIVESUPPORT_TEST_POSTGRES_URL: {e}")
        });
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .expect("create schema");
    postgres_schema::add_extensions(&admin).await;
    admin.close().await;
    Some(postgres_schema::schema_url(&base, &schema))
}

/// The Redis of the Redis tests, or `None` (with a notice).
fn redis_url() -> Option<String> {
    match std::env::var("LIVESUPPORT_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !required("LIVESUPPORT_REQUIRE_REDIS"),
                "LIVESUPPORT_REQUIRE_REDIS=1 but LIVESUPPORT_TEST_REDIS_URL is not set"
            );
            eprintln!(
                "\n*** SKIPPED: chaos test (set LIVESUPPORT_TEST_REDIS_URL=redis://127.0.0.1:6379 and LIVESUPPORT_TEST_POSTGRES_URL to run it) ***\n"
            );
            None
        }
    }
}

/// The address of a `redis://host:port` URL.
fn redis_addr(url: &str) -> SocketAddr {
    let parsed = reqwest::Url::parse(url).expect("LIVESUPPORT_TEST_REDIS_URL is a URL");
    let host = parsed.host_str().expect("a Redis host");
    let port = parsed.port().unwrap_or(6379);
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .expect("the Redis host resolves")
        .next()
        .expect("an address")
}

/// A port free a moment ago, for the proxy that the victim node is told about
/// before the run starts it.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

async fn start_node(
    database_url: &str,
    redis_url: &str,
    prefix: &str,
    index: usize,
) -> common::Node {
    let mut config = Config::for_database(database_url);
    config.redis_url = Some(Secret::new(redis_url));
    config.redis_channel_prefix = prefix.to_owned();
    config.node_id = Some(format!("node-{index}"));
    config.token_secret = Some(Secret::new(TOKEN_SECRET));
    // Only the first node creates the agent; the other finds it.
    if index == 1 {
        config.admin_email = Some(AGENT_EMAIL.into());
        config.admin_password = Some(Secret::new(AGENT_PASSWORD));
    }
    common::raise_limits(&mut config);
    common::serve(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutting_one_nodes_redis_link_twice_loses_nothing_and_the_victim_notices_each_cut() {
    let Some(redis) = redis_url() else { return };
    let Some(database) = postgres_database().await else {
        return;
    };
    let prefix = format!("{}:", unique("ltchaos"));
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let first = start_node(&database, &redis, &prefix, 1).await;
    // Nothing listens on `listen` yet: the victim starts not ready (after a
    // few seconds' wait) and connects once the run's proxy is up.
    let victim = start_node(&database, &format!("redis://{listen}"), &prefix, 2).await;

    let link = format!("{listen}={}", redis_addr(&redis));
    let urls = format!("{},{}", first.url, victim.url);
    let options = Options::parse_from([
        "loadtest",
        "--url",
        &urls,
        "--agent-email",
        AGENT_EMAIL,
        "--agent-password",
        AGENT_PASSWORD,
        "--tickets",
        "4",
        "--rate",
        "20",
        "--duration",
        "15",
        "--chaos-redis",
        &link,
        "--chaos-cut",
        "2",
        "--chaos-every",
        "5",
        "--json",
    ]);
    let outcome = loadtest::run(&options).await.expect("the run completes");
    let report = &outcome.report;
    eprintln!("{}", report.to_json());
    eprintln!("{}", loadtest::output::table(&outcome));

    let chaos = report.chaos.as_ref().expect("a chaos section");
    assert_eq!(chaos.cuts, 2, "cuts at 5 s and 10 s: {chaos:?}");
    assert!(
        (3.9..4.5).contains(&chaos.cut_seconds),
        "two cuts of 2 s: {chaos:?}"
    );
    let details = outcome.details.chaos.as_ref().expect("chaos details");
    for (i, (cut, seen)) in details.cuts.iter().enumerate() {
        assert_eq!(
            seen.noticed_by,
            [1],
            "cut {} ({cut:?}): the victim's (node 2's) broker check, and only its, was not ok",
            i + 1
        );
    }
    assert_eq!(chaos.cuts_noticed, 2, "{chaos:?}");
    assert!(
        chaos.broker_back_max_s.is_some(),
        "the victim's broker check was ok again after each restore: {chaos:?}"
    );
    assert!(
        (70..=90).contains(&chaos.sent_during_cuts),
        "about 20 msg/s × 4 s were due during the cuts: {chaos:?}"
    );
    assert_eq!(report.sent, 300, "20 msg/s for 15 s");
    assert_eq!(report.lost, 0, "{outcome:#?}");
    assert_eq!(report.duplicated, 0, "{outcome:#?}");
    assert_eq!(report.out_of_order, 0, "{outcome:#?}");
    assert_eq!(report.delivered, report.sent, "{outcome:#?}");
    assert!(chaos.latency_max_ms >= chaos.during_cuts_latency_ms.max);
    assert_eq!(chaos.latency_max_ms, report.latency_ms.max);
}

#[tokio::test]
async fn a_chaos_run_is_refused_with_one_node_or_a_schedule_that_does_not_fit() {
    let two = "http://127.0.0.1:9,http://127.0.0.1:10";
    let cases: &[(&[&str], &str)] = &[
        (&["--url", "http://127.0.0.1:9"], "at least 2 --url nodes"),
        (&["--url", two, "--duration", "10"], "no cut fits"),
        (
            &["--url", two, "--duration", "60", "--chaos-cuts", "4"],
            "at least 65 s",
        ),
        (&["--url", two, "--idle", "5"], "drop --idle"),
        (&["--url", two, "--chaos-every", "5"], "must not overlap"),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "loadtest",
            "--agent-email",
            AGENT_EMAIL,
            "--agent-password",
            AGENT_PASSWORD,
            "--chaos-redis",
            "127.0.0.1:6380=127.0.0.1:6379",
        ];
        args.extend_from_slice(extra);
        let err = loadtest::run(&Options::parse_from(args))
            .await
            .expect_err(&format!("{extra:?} is refused"));
        assert!(err.to_string().contains(expected), "{extra:?}: {err}");
    }
}
