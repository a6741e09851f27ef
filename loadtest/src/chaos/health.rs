//! What the nodes' `/api/support/health` says during a chaos run: asking it,
//! waiting for every broker to be ok before the run, and which cuts each node
//! noticed and how soon it was ok again.

use super::schedule::Cut;
use crate::LoadError;
use crate::client::Node;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// How long the run waits, before its setup, for every node's health to say
/// the broker is ok (the victim reconnects to the proxy with a backoff of up
/// to 2 s; a node started before the proxy was listening needs that long).
pub const READY_WAIT: Duration = Duration::from_secs(30);
/// How often each node's `/api/support/health` is asked during the run. It is
/// also the resolution of "broker back after".
pub const HEALTH_POLL: Duration = Duration::from_millis(250);
/// How long one health request may take (the node's own checks time out after 2 s).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// One answer of a node's `/api/support/health`: asked at `t_s` (seconds after
/// the first due send), `broker_ok` when its broker check said "ok".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthSample {
    pub node: usize,
    pub t_s: f64,
    pub broker_ok: bool,
}

/// What the nodes' health said about one performed cut.
#[derive(Debug, Clone, PartialEq)]
pub struct CutSeen {
    /// Nodes (index in `--url`) whose broker check was not ok during the cut.
    pub noticed_by: Vec<usize>,
    /// Seconds from the restore to the first health answer, from each node that
    /// noticed, that said the broker was ok again (the slowest node); `None`
    /// when nobody noticed the cut, or one of them was never ok again before
    /// the next cut or the end.
    pub back_after_s: Option<f64>,
}

/// For each cut as performed, which nodes noticed it and how soon they were
/// ok again. A sample belongs to a cut when it was asked while the link was
/// down; recovery is looked for between the restore and the next cut.
pub fn summarize(cuts: &[Cut], samples: &[HealthSample]) -> Vec<CutSeen> {
    cuts.iter()
        .enumerate()
        .map(|(i, cut)| {
            let mut noticed_by: Vec<usize> = samples
                .iter()
                .filter(|s| cut.contains(s.t_s) && !s.broker_ok)
                .map(|s| s.node)
                .collect();
            noticed_by.sort_unstable();
            noticed_by.dedup();
            let next_start = cuts.get(i + 1).map_or(f64::INFINITY, |c| c.start_s);
            let back = |node: usize| {
                samples
                    .iter()
                    .filter(|s| s.node == node && s.broker_ok)
                    .filter(|s| s.t_s >= cut.end_s && s.t_s < next_start)
                    .map(|s| s.t_s - cut.end_s)
                    .reduce(f64::min)
            };
            let back_after_s = if noticed_by.is_empty() {
                None
            } else {
                noticed_by
                    .iter()
                    .map(|&n| back(n))
                    .try_fold(0.0_f64, |worst, b| b.map(|b| worst.max(b)))
            };
            CutSeen {
                noticed_by,
                back_after_s,
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct Health {
    checks: HealthChecks,
}

#[derive(Deserialize)]
struct HealthChecks {
    broker: String,
}

/// The broker check of a node's `/api/support/health` (answered 200 or 503);
/// `None` when the node did not answer with a health body.
pub async fn broker_check(http: &reqwest::Client, node: &Node) -> Option<String> {
    let response = http
        .get(format!("{}/api/support/health", node.base))
        .timeout(HEALTH_TIMEOUT)
        .send()
        .await
        .ok()?;
    let health: Health = response.json().await.ok()?;
    Some(health.checks.broker)
}

/// Waits until every node's health says the broker is ok, up to [`READY_WAIT`].
pub async fn wait_until_brokers_ok(
    http: &reqwest::Client,
    nodes: &[Node],
) -> Result<(), LoadError> {
    let deadline = Instant::now() + READY_WAIT;
    loop {
        let mut not_ok = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let check = broker_check(http, node).await;
            if check.as_deref() != Some("ok") {
                not_ok.push(format!(
                    "node {} ({}): broker {}",
                    n + 1,
                    node.base,
                    check.as_deref().unwrap_or("(no health answer)")
                ));
            }
        }
        if not_ok.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(LoadError::new(format!(
                "before the chaos run, /api/support/health did not say the broker is ok within {} s: {}. \
                 Is the victim node started with REDIS_URL=redis://LISTEN of --chaos-redis, and is Redis up?",
                READY_WAIT.as_secs(),
                not_ok.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(node: usize, t_s: f64, broker_ok: bool) -> HealthSample {
        HealthSample {
            node,
            t_s,
            broker_ok,
        }
    }

    #[test]
    fn a_cut_is_noticed_by_the_nodes_whose_broker_check_failed_during_it() {
        let cuts = [
            Cut {
                start_s: 5.0,
                end_s: 7.0,
            },
            Cut {
                start_s: 10.0,
                end_s: 12.0,
            },
        ];
        let samples = [
            sample(0, 4.5, true),
            sample(1, 4.5, true),
            sample(1, 5.5, false), // the victim, during cut 1
            sample(0, 5.5, true),
            sample(1, 7.25, false), // still reconnecting
            sample(1, 7.5, true),   // back 0.5 s after the restore
            sample(1, 9.0, true),
            sample(0, 10.0, true),  // cut 2: the victim's checks never answered
            sample(1, 13.0, false), // after cut 2: not back before the end
        ];
        let seen = summarize(&cuts, &samples);
        assert_eq!(
            seen[0],
            CutSeen {
                noticed_by: vec![1],
                back_after_s: Some(0.5)
            }
        );
        assert_eq!(
            seen[1],
            CutSeen {
                noticed_by: vec![],
                back_after_s: None
            },
            "nobody noticed"
        );
        let late = [sample(1, 11.0, false), sample(1, 13.0, false)];
        assert_eq!(summarize(&cuts, &late)[1].back_after_s, None);
    }
}
