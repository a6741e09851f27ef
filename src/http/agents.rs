//! Agent sessions and accounts: login, logout, who am I, the team list, and
//! admin-only account creation.

use super::extract::{AdminAgent, ClientIp, CurrentAgent, JsonBody};
use super::{AppState, check_rate};
use crate::auth::{self, TOKEN_COOKIE};
use crate::domain::validation;
use crate::domain::{Agent, AgentRole};
use crate::error::ApiError;
use crate::store::NewAgent;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/auth/login", post(login))
        .route("/api/support/auth/logout", post(logout))
        .route("/api/support/agents/me", get(me))
        .route("/api/support/agents", get(list_agents).post(create_agent))
}

#[derive(Deserialize)]
struct LoginRequest {
    email: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    agent: Agent,
}

fn cookie(state: &AppState, value: &str, max_age_seconds: u64) -> HeaderValue {
    let secure = if state.settings.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{TOKEN_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_seconds}{secure}"
    );
    // Built only from a JWT (base64url and dots) and fixed text: always a valid header.
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let email = request
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    if email.is_empty() {
        return Err(ApiError::validation("email", "email is required"));
    }
    let password = request
        .password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::validation("password", "password is required"))?;
    check_rate("login", &state.limiters.logins, &(ip, email.clone()))?;
    let found = state.store.agent_by_email(&email).await?;
    let hash = found.as_ref().map(|f| f.password_hash.clone());
    let password_ok = auth::verify_password(hash, password).await;
    let agent = match found {
        Some(found) if password_ok && !found.agent.disabled => found.agent,
        _ => return Err(ApiError::InvalidCredentials),
    };
    let token = state.tokens.issue(&agent).map_err(|_| ApiError::Internal)?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        cookie(&state, &token, state.tokens.ttl.as_secs()),
    );
    tracing::info!(agent_id = agent.id, "agent logged in");
    Ok((headers, Json(LoginResponse { token, agent })).into_response())
}

async fn logout(State(state): State<AppState>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, cookie(&state, "", 0));
    (StatusCode::NO_CONTENT, headers).into_response()
}

async fn me(CurrentAgent(agent): CurrentAgent) -> Json<Agent> {
    Json(agent)
}

#[derive(Serialize)]
struct AgentWithPresence {
    #[serde(flatten)]
    agent: Agent,
    online: bool,
}

#[derive(Serialize)]
struct AgentList {
    agents: Vec<AgentWithPresence>,
}

async fn list_agents(
    State(state): State<AppState>,
    _: CurrentAgent,
) -> Result<Json<AgentList>, ApiError> {
    let online = state.store.online_agent_ids().await?;
    let agents = state
        .store
        .list_agents()
        .await?
        .into_iter()
        .map(|agent| AgentWithPresence {
            online: online.contains(&agent.id),
            agent,
        })
        .collect();
    Ok(Json(AgentList { agents }))
}

#[derive(Deserialize)]
struct CreateAgentRequest {
    email: Option<String>,
    name: Option<String>,
    password: Option<String>,
    role: Option<String>,
}

async fn create_agent(
    State(state): State<AppState>,
    _: AdminAgent,
    JsonBody(request): JsonBody<CreateAgentRequest>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    let limits = &state.settings.limits;
    let email = validation::required_email("email", request.email.as_deref(), limits)?;
    let name = validation::required_text("name", request.name.as_deref(), limits.name_chars)?;
    let password = validation::password("password", request.password.as_deref(), limits)?;
    let role = match request.role.as_deref() {
        None => AgentRole::Agent,
        Some(r) => r
            .parse()
            .map_err(|_| ApiError::validation("role", "role must be admin or agent"))?,
    };
    let password_hash = auth::hash_password(password)
        .await
        .map_err(|_| ApiError::Internal)?;
    let agent = state
        .store
        .create_agent(&NewAgent {
            email,
            name,
            role,
            password_hash,
        })
        .await?;
    tracing::info!(agent_id = agent.id, role = role.as_str(), "agent created");
    Ok((StatusCode::CREATED, Json(agent)))
}
