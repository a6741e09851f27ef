//! A WebSocket test client (tokio-tungstenite) that speaks the contract's frames.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::TestApp;

/// How long a test waits for an expected frame before failing.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a message stored during a fault may take to reach every socket by
/// itself, once the fault is over (or while it lasts), with no later message to
/// trigger a refill. The product's target is 5 s; the rest is margin for a
/// loaded test machine.
pub const RECOVERY_DEADLINE: Duration = Duration::from_secs(10);

/// Frames of issue 16 that arrive on their own schedule (a node's routing
/// round): `agent_updated` on the feed, `queue` on a waiting visitor's socket.
pub const ROUTING_FRAMES: [&str; 2] = ["agent_updated", "queue"];

pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did when the socket ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(u16),
    ClosedWithoutCode,
    Dropped,
}

impl TestApp {
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path)
    }

    pub async fn user_socket(&self, session_id: &str, query: &str) -> WsClient {
        connect(
            &self.ws_url(&format!("/ws/support/user/{session_id}{query}")),
            &[],
        )
        .await
        .expect("user socket opens")
    }

    /// An agent's socket that joins on open (`join=1`), as the original protocol's
    /// did; [`TestApp::watching_socket`] only watches.
    pub async fn supporter_socket(&self, session_id: &str, token: &str, query: &str) -> WsClient {
        let query = if query.is_empty() {
            "?join=1".to_owned()
        } else {
            format!("{query}&join=1")
        };
        self.watching_socket(session_id, token, &query).await
    }

    /// An agent's socket that does not join: opening a ticket only watches it.
    pub async fn watching_socket(&self, session_id: &str, token: &str, query: &str) -> WsClient {
        let auth = format!("Bearer {token}");
        connect(
            &self.ws_url(&format!("/ws/support/supporter/{session_id}{query}")),
            &[("authorization", auth.as_str())],
        )
        .await
        .expect("supporter socket opens")
    }

    pub async fn feed_socket(&self, token: &str) -> WsClient {
        self.feed_socket_with(token, "").await
    }

    /// The feed with a query (`?scope=mine`).
    pub async fn feed_socket_with(&self, token: &str, query: &str) -> WsClient {
        let auth = format!("Bearer {token}");
        connect(
            &self.ws_url(&format!("/ws/support/agent{query}")),
            &[("authorization", auth.as_str())],
        )
        .await
        .expect("feed socket opens")
    }
}

/// Opens a socket with extra headers; a refusal comes back as its HTTP status.
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<WsClient, u16> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        let name =
            tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request
            .headers_mut()
            .insert(name, HeaderValue::from_str(value).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((stream, _)) => Ok(WsClient { stream }),
        Err(WsError::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("socket failed to connect: {other}"),
    }
}

impl WsClient {
    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::Text(frame.to_string().into()))
            .await
            .expect("send frame");
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream
            .send(Message::Text(text.to_owned().into()))
            .await
            .expect("send text");
    }

    pub async fn say(&mut self, text: &str, client_msg_id: &str) {
        self.send(json!({"type": "message", "message": text, "client_msg_id": client_msg_id}))
            .await;
    }

    /// The next JSON frame (pings skipped); panics on timeout or close.
    pub async fn next(&mut self) -> Value {
        match self.try_next(FRAME_TIMEOUT).await {
            Some(frame) => frame,
            None => panic!("no frame within {FRAME_TIMEOUT:?}"),
        }
    }

    /// The next JSON frame within `wait`, or `None`; the routing frames of
    /// issue 16 ([`ROUTING_FRAMES`]) are skipped, as the tests written before
    /// them expect (use [`WsClient::try_next_any`], `next_of` or `collect_of`
    /// to see them).
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = self
                .try_next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await?;
            let kind = frame["type"].as_str().unwrap_or_default();
            if !ROUTING_FRAMES.contains(&kind) {
                return Some(frame);
            }
        }
    }

    /// The next JSON frame of any type within `wait`, or `None`.
    pub async fn try_next_any(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match message {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("frame is JSON"));
                }
                Ok(Message::Close(frame)) => panic!("socket closed unexpectedly: {frame:?}"),
                Ok(_) => continue,
                Err(err) => panic!("socket error: {err}"),
            }
        }
    }

    /// Every frame that arrives until one satisfies `done` (that one included) or
    /// `deadline` passes; the flag says whether `done` was met. Panics if the
    /// socket closes. Routing frames are skipped, as by [`WsClient::try_next`].
    pub async fn frames_until(
        &mut self,
        deadline: Instant,
        done: impl FnMut(&Value) -> bool,
    ) -> (Vec<Value>, bool) {
        self.collect_until(deadline, false, done).await
    }

    /// [`WsClient::frames_until`] with the routing frames ([`ROUTING_FRAMES`]).
    pub async fn frames_until_any(
        &mut self,
        deadline: Instant,
        done: impl FnMut(&Value) -> bool,
    ) -> (Vec<Value>, bool) {
        self.collect_until(deadline, true, done).await
    }

    async fn collect_until(
        &mut self,
        deadline: Instant,
        routing_frames: bool,
        mut done: impl FnMut(&Value) -> bool,
    ) -> (Vec<Value>, bool) {
        let mut frames = Vec::new();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let next = if routing_frames {
                self.try_next_any(wait).await
            } else {
                self.try_next(wait).await
            };
            let Some(frame) = next else { break };
            let met = done(&frame);
            frames.push(frame);
            if met {
                return (frames, true);
            }
        }
        (frames, false)
    }

    /// Message-like frames until one reaches seq `last` (included), or `Err`
    /// with those that came before `deadline` passed.
    pub async fn messages_through(
        &mut self,
        last: i64,
        deadline: Instant,
    ) -> Result<Vec<Value>, Vec<Value>> {
        let (frames, met) = self
            .frames_until(deadline, |f| is_message(f) && seq(f) >= last)
            .await;
        let messages = frames.into_iter().filter(is_message).collect();
        if met { Ok(messages) } else { Err(messages) }
    }

    /// Skips frames until one of `kind` arrives (routing frames included).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let frame = self
                .try_next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await
                .unwrap_or_else(|| panic!("no {kind} frame within {FRAME_TIMEOUT:?}"));
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Skips feed frames until a `notices` frame names `ticket_id` at `seq` or
    /// later; returns that notice.
    pub async fn notice_of(&mut self, ticket_id: i64, seq: i64) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let frame = self
                .try_next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await
                .unwrap_or_else(|| {
                    panic!("no notice of ticket {ticket_id} at seq {seq} within {FRAME_TIMEOUT:?}")
                });
            if frame["type"] != "notices" {
                continue;
            }
            let found = frame["data"]["notices"]
                .as_array()
                .expect("notices is a list")
                .iter()
                .find(|n| n["ticket_id"] == ticket_id && n["seq"].as_i64() >= Some(seq))
                .cloned();
            if let Some(notice) = found {
                return notice;
            }
        }
    }

    /// The next message-like frame (`message`, `system`, `supporter_joined`).
    pub async fn next_message(&mut self) -> Value {
        loop {
            let frame = self.next().await;
            if is_message(&frame) {
                return frame;
            }
        }
    }

    /// Frames of `kind` that arrive within `wait`.
    pub async fn collect_of(&mut self, kind: &str, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut found = Vec::new();
        while let Some(frame) = self
            .try_next_any(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if frame["type"] == kind {
                found.push(frame);
            }
        }
        found
    }

    /// Reads until the server ends the socket, ignoring frames.
    pub async fn ended(&mut self, wait: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => panic!("socket still open after {wait:?}"),
                Ok(None) | Ok(Some(Err(_))) => return Ended::Dropped,
                Ok(Some(Ok(Message::Close(Some(CloseFrame { code, .. }))))) => {
                    return Ended::Closed(code.into());
                }
                Ok(Some(Ok(Message::Close(None)))) => return Ended::ClosedWithoutCode,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// Whether a frame carries a stored message: `message`, `system`, `supporter_joined`.
pub fn is_message(frame: &Value) -> bool {
    matches!(
        frame["type"].as_str(),
        Some("message" | "note" | "system" | "supporter_joined")
    )
}

/// The seq of a message-like frame.
pub fn seq(frame: &Value) -> i64 {
    frame["message"]["seq"].as_i64().unwrap()
}

/// The `client_msg_id` of a message-like frame, if it has one.
pub fn key(frame: &Value) -> Option<&str> {
    frame["message"]["client_msg_id"].as_str()
}

/// Message-like frames until the one carrying `client_msg_id`, that one included.
pub async fn until_key(client: &mut WsClient, client_msg_id: &str) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = client.next_message().await;
        let done = key(&frame) == Some(client_msg_id);
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

/// Message-like frames until one with `seq` arrives.
pub async fn until_seq(client: &mut WsClient, last: i64) -> Vec<Value> {
    let mut frames = Vec::new();
    loop {
        let frame = client.next_message().await;
        let done = seq(&frame) >= last;
        frames.push(frame);
        if done {
            return frames;
        }
    }
}

/// Asserts that `frames` are the seqs `first..=last`, each once, in order.
pub fn assert_gapless(who: &str, frames: &[Value], first: i64, last: i64) {
    let seqs: Vec<i64> = frames.iter().map(seq).collect();
    assert_eq!(
        seqs,
        (first..=last).collect::<Vec<_>>(),
        "{who} sees every seq once, in order"
    );
}
