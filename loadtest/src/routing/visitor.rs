//! One visitor of a routing run: at its arrival instant it opens a ticket,
//! opens its socket, and notes its queue frames and the agent announced to it
//! until its ticket is resolved or the run ends.

use super::{Shared, until_stopped};
use crate::client;
use crate::lock;
use futures_util::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Visitor number `k` of `total`, due `due_ns` after the epoch, on node `node`.
pub async fn visit(shared: Arc<Shared>, k: usize, total: usize, due_ns: u64, node: usize) {
    let mut stop = shared.stop.subscribe();
    tokio::select! {
        _ = tokio::time::sleep_until((shared.epoch + Duration::from_nanos(due_ns)).into()) => {}
        _ = until_stopped(&mut stop) => return,
    }
    let node = &shared.nodes[node];
    let asked_ns = shared.now_ns();
    {
        let mut record = lock(&shared.visitors[k]);
        record.arrived = true;
        record.asked_ns = asked_ns;
    }
    shared.arrived.fetch_add(1, Ordering::Relaxed);
    let ticket = match client::create_ticket(&shared.http, node, k, total).await {
        Ok(ticket) => ticket,
        Err(err) => {
            shared.error("ticket creation failed");
            shared.warn_once(&err.to_string());
            return;
        }
    };
    lock(&shared.sessions).insert(ticket.id, ticket.session_id.clone());
    lock(&shared.visitor_of).insert(ticket.id, k);
    lock(&shared.visitors[k]).ticket_id = Some(ticket.id);

    let path = format!("/ws/support/user/{}?since=0", ticket.session_id);
    let (mut ws, ready) = match client::open_socket(node, &path, None, None).await {
        Ok(opened) => opened,
        Err(err) => {
            shared.error("visitor socket refused");
            shared.warn_once(&err.to_string());
            return;
        }
    };
    shared.connections.fetch_add(1, Ordering::Relaxed);
    {
        let mut record = lock(&shared.visitors[k]);
        record.assigned_before_ready = ready.supporter_id;
        record.current_agent = ready.supporter_id;
        record.max_position = ready.queue_position;
    }

    loop {
        tokio::select! {
            item = ws.next() => match item {
                Some(Ok(Message::Text(text))) => {
                    if on_frame(&shared, k, &text) {
                        break;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    if !shared.stopped() {
                        let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                        shared.error(&format!("visitor socket closed {code}"));
                    }
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    if !shared.stopped() {
                        shared.error("visitor socket ended");
                    }
                    return;
                }
            },
            _ = until_stopped(&mut stop) => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
}

/// Notes one frame; true when the chat is over (resolved or closed).
fn on_frame(shared: &Shared, k: usize, text: &str) -> bool {
    let now = shared.now_ns();
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        shared.error("unreadable visitor frame");
        return false;
    };
    let mut record = lock(&shared.visitors[k]);
    match frame["type"].as_str() {
        Some("queue") => {
            record.queue_frames += 1;
            if let Some(position) = frame["data"]["position"].as_i64() {
                record.max_position =
                    Some(record.max_position.map_or(position, |p| p.max(position)));
            }
        }
        Some("supporter_joined") => {
            let Some(agent) = frame["data"]["supporter_id"].as_i64() else {
                drop(record);
                shared.error("supporter_joined without supporter_id");
                return false;
            };
            // A ticket goes to another agent only through the queue (the run
            // never transfers): a `ticket_updated` back to `open` comes first.
            if record.current_agent.is_some_and(|held| held != agent) {
                record.joined_while_held += 1;
            }
            record.current_agent = Some(agent);
            // A join replayed after `ready` named the agent happened earlier:
            // the visitor's clock cannot time it.
            if record.joined.is_none() && record.assigned_before_ready.is_none() {
                record.joined = Some((now, agent));
            }
        }
        Some("ticket_updated") => {
            let ticket = &frame["ticket"];
            let status = ticket["status"].as_str();
            record.current_agent = match status {
                Some("assigned" | "in_progress") => ticket["supporter_id"].as_i64(),
                _ => None,
            };
            return matches!(status, Some("resolved" | "closed"));
        }
        Some("error") => {
            drop(record);
            shared.error("visitor error frame");
        }
        _ => {}
    }
    false
}
