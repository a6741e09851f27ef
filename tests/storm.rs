//! Reconnect storms (issue 20): many visitor sockets reconnecting to one node at
//! once, each resuming its ticket with `since`, all get `ready` and then exactly
//! the messages after their `since`, once each and in order: the one they
//! missed (replayed from the store) and, for half of them, one sent while the
//! storm is going on (live, or replayed if it was stored before the socket's
//! stream started). On SQLite with the in-process broker, and on PostgreSQL
//! with Redis.

mod common;

use common::ws::{FRAME_TIMEOUT, WsClient, is_message, seq, until_key};
use common::{Backend, TestApp, spawn_app_with, spawn_cluster};
use futures_util::StreamExt;
use futures_util::stream;
use std::time::Duration;

/// Sockets reconnecting at once.
const STORM: usize = 300;

/// How long a socket listens after its last expected message for a duplicate.
const QUIET: Duration = Duration::from_millis(300);

/// A ticket ready for the storm: its visitor's session and the seq of the
/// message its reconnecting socket missed.
struct Primed {
    session_id: String,
    missed: i64,
}

/// Opens a visitor socket on a ticket, says one message and returns its seq.
async fn say_one(app: &TestApp, session_id: &str, since: i64, client_msg_id: &str) -> i64 {
    let mut socket = app
        .user_socket(session_id, &format!("?since={since}"))
        .await;
    socket.next_of("ready").await;
    socket.say("storm", client_msg_id).await;
    let frames = until_key(&mut socket, client_msg_id).await;
    let stored = seq(frames.last().expect("own copy"));
    socket.close().await;
    stored
}

async fn prime(app: &TestApp, k: usize) -> Primed {
    let (_, session_id) = app.bare_ticket().await;
    let missed = say_one(app, &session_id, 0, &format!("missed-{k}")).await;
    Primed { session_id, missed }
}

/// One reconnecting socket: `ready` must say one message was replayed, then the
/// message frames are `missed` and, with `more`, `missed + 1`, each once.
async fn reconnect(app: &TestApp, primed: &Primed, more: bool) {
    let since = primed.missed - 1;
    let mut socket: WsClient = app
        .user_socket(&primed.session_id, &format!("?since={since}"))
        .await;
    let ready = socket.next_of("ready").await;
    // The message sent during the storm is replayed too when it was stored
    // before this socket's live stream started.
    let replayed = ready["data"]["replayed"].as_i64();
    assert!(
        replayed == Some(1) || (more && replayed == Some(2)),
        "ready: {ready}"
    );
    let last = if more {
        primed.missed + 1
    } else {
        primed.missed
    };
    let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
    let (frames, met) = socket
        .frames_until(deadline, |f| is_message(f) && seq(f) >= last)
        .await;
    assert!(met, "seq {last} never came; frames: {frames:?}");
    // Nothing more (no duplicate) for a moment after the last one.
    let (later, _) = socket
        .frames_until(tokio::time::Instant::now() + QUIET, |_| false)
        .await;
    let seqs: Vec<i64> = frames
        .iter()
        .chain(later.iter())
        .filter(|f| is_message(f))
        .map(seq)
        .collect();
    assert_eq!(
        seqs,
        (primed.missed..=last).collect::<Vec<_>>(),
        "each message after since exactly once, in order"
    );
    socket.close().await;
}

/// Primes [`STORM`] tickets, then reconnects all their sockets at once while
/// every other ticket gets a new message.
async fn storm(app: &TestApp) {
    let primed: Vec<Primed> = stream::iter(0..STORM)
        .map(|k| prime(app, k))
        .buffer_unordered(32)
        .collect()
        .await;
    let reconnects = primed
        .iter()
        .enumerate()
        .map(|(k, p)| reconnect(app, p, k % 2 == 0));
    let senders = primed
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 2 == 0)
        .map(|(k, p)| async move {
            let stored = say_one(app, &p.session_id, p.missed, &format!("during-{k}")).await;
            assert_eq!(stored, p.missed + 1);
        });
    futures_util::future::join(
        futures_util::future::join_all(reconnects),
        futures_util::future::join_all(senders),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_reconnecting_sockets_all_get_ready_and_a_gapless_replay_on_sqlite() {
    let app = spawn_app_with(Backend::Sqlite, |_| {})
        .await
        .expect("sqlite always runs");
    storm(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_storm_of_reconnecting_sockets_all_get_ready_and_a_gapless_replay_on_postgres_and_redis()
{
    let Some(mut nodes) = spawn_cluster(1, |_, _| {}).await else {
        return;
    };
    let app = nodes.remove(0);
    storm(&app).await;
}
