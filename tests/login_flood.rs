//! A flood of logins with distinct emails costs the node a few password hashes'
//! memory, not one per request. Its own test binary: it reads this process's RSS,
//! which other tests running beside it would move.

mod common;

use common::{Backend, spawn_app_with};
use serde_json::json;
use std::time::Duration;

/// The node may grow by this much during and after the flood (each Argon2 hash
/// holds 19 MiB while it runs; only about a core's worth run at once).
const RSS_BOUND_MIB: u64 = 150;
const PARALLEL_LOGINS: usize = 50;

fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_logins_with_distinct_emails_stay_within_a_memory_bound() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("\n*** SKIPPED: login flood test (no /proc to read RSS from) ***\n");
        return;
    }
    // The per-IP limit out of the way: this is about the hashing itself.
    let app = spawn_app_with(Backend::Sqlite, |c| c.login_ip_rate_per_minute = 10_000)
        .await
        .unwrap();
    // One login first, so that the dummy hash and the pools exist before the baseline.
    let _ = app
        .send_json(
            "POST",
            "/api/support/auth/login",
            None,
            json!({"email": "warm@example.com", "password": "wrong-password-1"}),
        )
        .await;
    let baseline = rss_mib();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_mib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let logins = (0..PARALLEL_LOGINS).map(|i| {
        let app = &app;
        async move {
            app.send_json(
                "POST",
                "/api/support/auth/login",
                None,
                json!({"email": format!("flood{i}@example.com"), "password": "wrong-password-1"}),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(logins).await;
    // Let hashes still running finish, and their memory go back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sampling.abort();
    let peak = peak.load(std::sync::atomic::Ordering::Relaxed);
    let after = rss_mib();
    let refused = answers.iter().filter(|(status, _)| *status == 429).count();
    for (status, body) in &answers {
        assert!(
            *status == 401 || *status == 429,
            "each login is refused as wrong or as busy: {status} {body}"
        );
    }
    assert!(
        refused > 0,
        "with more logins than hashing slots, some are refused at once"
    );
    assert!(
        peak <= baseline + RSS_BOUND_MIB,
        "RSS {baseline} MiB before, {peak} MiB at the peak"
    );
    assert!(
        after <= baseline + RSS_BOUND_MIB,
        "RSS {baseline} MiB before, {after} MiB after"
    );
}
