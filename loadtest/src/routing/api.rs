//! The REST calls of a routing run (issue 16): agents and their capacity, the
//! settings, the agents list with `open_chats`, resolving and closing tickets.

use crate::LoadError;
use crate::client::{Node, body_error};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

/// An agent as `GET /api/support/agents` lists it (the fields a run reads).
#[derive(Debug, Clone, Deserialize)]
pub struct AgentRow {
    pub id: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub open_chats: Option<u32>,
    #[serde(default)]
    pub max_chats: Option<u32>,
}

/// Sends one request with the bearer token; answers the status and the JSON
/// body (`null` when there is none).
async fn call(
    http: &reqwest::Client,
    method: Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value), LoadError> {
    let mut request = http.request(method, &url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .map_err(|e| LoadError::new(format!("cannot reach {url}: {e}")))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok((status, value))
    } else {
        Err(LoadError::new(format!(
            "{url} answered {status}: {}",
            body_error(&text)
        )))
    }
}

/// `PUT /api/support/settings` (admin) with `fields`; answers the old
/// settings (read first) so that the run can put them back.
pub async fn put_settings(
    http: &reqwest::Client,
    node: &Node,
    admin: &str,
    fields: Value,
) -> Result<Value, LoadError> {
    let url = format!("{}/api/support/settings", node.base);
    let hint = |e: LoadError| {
        LoadError::new(format!(
            "{e} (a routing run needs a node with issue 16's settings, and --agent-email must be an admin)"
        ))
    };
    let (_, before) = call(http, Method::GET, url.clone(), Some(admin), None)
        .await
        .map_err(hint)?;
    call(http, Method::PUT, url, Some(admin), Some(fields))
        .await
        .map_err(hint)?;
    Ok(before)
}

/// `POST /api/support/agents` (admin): a plain agent; answers its id.
pub async fn create_agent(
    http: &reqwest::Client,
    node: &Node,
    admin: &str,
    email: &str,
    name: &str,
    password: &str,
) -> Result<i64, LoadError> {
    let (_, agent) = call(
        http,
        Method::POST,
        format!("{}/api/support/agents", node.base),
        Some(admin),
        Some(json!({ "email": email, "name": name, "password": password, "role": "agent" })),
    )
    .await?;
    agent["id"]
        .as_i64()
        .ok_or_else(|| LoadError::new("creating an agent answered no id"))
}

/// `PATCH /api/support/agents/{id}` (admin) with `fields`, e.g.
/// `{"max_chats": 3}` or `{"disabled": true}`; answers the agent.
pub async fn patch_agent(
    http: &reqwest::Client,
    node: &Node,
    admin: &str,
    agent_id: i64,
    fields: Value,
) -> Result<Value, LoadError> {
    call(
        http,
        Method::PATCH,
        format!("{}/api/support/agents/{agent_id}", node.base),
        Some(admin),
        Some(fields),
    )
    .await
    .map(|(_, agent)| agent)
}

/// `GET /api/support/agents`.
pub async fn list_agents(
    http: &reqwest::Client,
    node: &Node,
    token: &str,
) -> Result<Vec<AgentRow>, LoadError> {
    let (_, body) = call(
        http,
        Method::GET,
        format!("{}/api/support/agents", node.base),
        Some(token),
        None,
    )
    .await?;
    serde_json::from_value(body["agents"].clone())
        .map_err(|e| LoadError::new(format!("the agents list is not readable: {e}")))
}

/// `PATCH /api/support/tickets/{id}` `{"status"}` as the agent.
pub async fn set_ticket_status(
    http: &reqwest::Client,
    node: &Node,
    token: &str,
    ticket_id: i64,
    status: &str,
) -> Result<(), LoadError> {
    call(
        http,
        Method::PATCH,
        format!("{}/api/support/tickets/{ticket_id}", node.base),
        Some(token),
        Some(json!({ "status": status })),
    )
    .await
    .map(drop)
}

/// `POST /api/support/ticket/{session_id}/close`: the visitor ends the chat.
pub async fn close_as_visitor(
    http: &reqwest::Client,
    node: &Node,
    session_id: &str,
) -> Result<(), LoadError> {
    call(
        http,
        Method::POST,
        format!("{}/api/support/ticket/{session_id}/close", node.base),
        None,
        None,
    )
    .await
    .map(drop)
    .map_err(|_| LoadError::new("closing a visitor's ticket failed"))
}
