//! Setting a routing run up and leaving the nodes as they were: the run's
//! agents (created, given their `max_chats`, logged in), their feeds until
//! every one shows `online`, and at the end (or when the setup fails) the
//! tickets closed, the agents disabled and the setting put back.

use super::agent::{self, Agent};
use super::report::Rng;
use super::{ONLINE_TIMEOUT, Shared, api};
use crate::client::{self, Node};
use crate::lock;
use crate::{LoadError, Options};
use futures_util::StreamExt;
use futures_util::stream;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// A fresh password for a run's agent (never printed: it is thrown away with
/// the run, and the agent is disabled at the end).
fn throwaway_password(rng: &mut Rng) -> String {
    format!("lt-{:016x}{:016x}", rng.next_u64(), rng.next_u64())
}

/// Creates the run's agents with their `max_chats` and logs each in; `created`
/// gets each id as soon as it exists, for [`abandon`].
pub(super) async fn create_agents(
    options: &Options,
    http: &reqwest::Client,
    nodes: &[Node],
    admin: &str,
    created: &mut Vec<i64>,
) -> Result<Vec<Agent>, LoadError> {
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let tag = format!("{:x}", started ^ u64::from(std::process::id()));
    let mut secrets = Rng::new(started.rotate_left(17) ^ u64::from(std::process::id()));
    if options.progress() {
        eprintln!(
            "creating {} agents with max_chats {}…",
            options.agents, options.max_chats
        );
    }
    let mut agents = Vec::with_capacity(options.agents);
    for i in 0..options.agents {
        let node = i % nodes.len();
        let email = format!("lt-routing-{tag}-{i}@example.com");
        let password = throwaway_password(&mut secrets);
        let name = format!("Routing {}", i + 1);
        let id = api::create_agent(http, &nodes[node], admin, &email, &name, &password).await?;
        created.push(id);
        api::patch_agent(
            http,
            &nodes[node],
            admin,
            id,
            json!({ "max_chats": options.max_chats }),
        )
        .await
        .map_err(|e| LoadError::new(format!("{e} (does the node know max_chats, issue 16?)")))?;
        let token = client::login(http, &nodes[node], &email, &password).await?;
        agents.push(Agent { id, token, node });
    }
    Ok(agents)
}

/// Opens every agent's feed and waits until all of them show `online`.
pub(super) async fn open_feeds(
    shared: &Arc<Shared>,
    options: &Options,
    admin: &str,
    background: &mut Vec<JoinHandle<()>>,
) -> Result<(), LoadError> {
    for (index, agent) in shared.agents.iter().enumerate() {
        let node = &shared.nodes[agent.node];
        let ws = client::open_feed(node, &agent.token, options.source_ip(index)).await?;
        shared.connections.fetch_add(1, Ordering::Relaxed);
        background.push(tokio::spawn(agent::feed_loop(
            shared.clone(),
            index,
            ws,
            shared.stop.subscribe(),
        )));
    }
    wait_until_online(shared, admin).await
}

/// A run that could not start: its agents disabled, the setting put back.
pub(super) async fn abandon(
    http: &reqwest::Client,
    node: &Node,
    admin: &str,
    created: &[i64],
    restore_manual: bool,
) {
    for &id in created {
        let _ = api::patch_agent(http, node, admin, id, json!({ "disabled": true })).await;
    }
    if restore_manual {
        let _ = api::put_settings(http, node, admin, json!({ "assignment": "manual" })).await;
    }
}

/// Waits until the agents list shows every run agent `online`.
async fn wait_until_online(shared: &Shared, admin: &str) -> Result<(), LoadError> {
    let deadline = Instant::now() + ONLINE_TIMEOUT;
    loop {
        let rows = api::list_agents(&shared.http, &shared.nodes[0], admin).await?;
        let online = rows
            .iter()
            .filter(|r| shared.is_run_agent(r.id) && r.status.as_deref() == Some("online"))
            .count();
        if online == shared.agents.len() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(LoadError::new(format!(
                "only {online} of the run's {} agents showed \"status\":\"online\" within {} s of \
                 opening their feeds: does the node have issue 16's presence?",
                shared.agents.len(),
                ONLINE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Leaves the nodes as they were: the run's tickets closed (by their
/// visitors), its agents disabled, and `assignment` back to `manual` if it was.
/// Failures here are warnings: the figures are already taken.
pub(super) async fn cleanup(shared: &Shared, admin: &str, restore_manual: bool) {
    let tickets: Vec<(i64, String)> = lock(&shared.sessions)
        .iter()
        .map(|(id, sid)| (*id, sid.clone()))
        .collect();
    let failed: usize = stream::iter(tickets.iter().enumerate())
        .map(|(k, (_, session_id))| {
            let node = &shared.nodes[k % shared.nodes.len()];
            async move {
                api::close_as_visitor(&shared.http, node, session_id)
                    .await
                    .is_err()
            }
        })
        .buffer_unordered(16)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    let mut warnings = Vec::new();
    if failed > 0 {
        warnings.push(format!("{failed} of the run's tickets could not be closed"));
    }
    for agent in &shared.agents {
        if let Err(e) = api::patch_agent(
            &shared.http,
            &shared.nodes[0],
            admin,
            agent.id,
            json!({ "disabled": true }),
        )
        .await
        {
            warnings.push(format!("disabling agent {}: {e}", agent.id));
        }
    }
    if restore_manual
        && let Err(e) = api::put_settings(
            &shared.http,
            &shared.nodes[0],
            admin,
            json!({ "assignment": "manual" }),
        )
        .await
    {
        warnings.push(format!("putting assignment back to manual: {e}"));
    }
    if shared.progress {
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
    }
}
