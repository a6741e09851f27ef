//! Agent sessions and accounts: login, logout, who am I, the team list, and
//! admin-only account creation.

use super::extract::{AdminAgent, ClientIp, CurrentAgent, JsonBody, bearer_token};
use super::{AppState, check_rate};
use crate::auth::{self, TOKEN_COOKIE};
use crate::domain::validation;
use crate::domain::{Agent, AgentRole, AgentStatus, MAX_CHATS_LIMIT};
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::store::{AgentUpdate, NewAgent, StoreError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/support/auth/login", post(login))
        .route("/api/support/auth/logout", post(logout))
        .route("/api/support/agents/me", get(me))
        .route("/api/support/agents", get(list_agents).post(create_agent))
        .route("/api/support/agents/{agent_id}", patch(update_agent))
        .route(
            "/api/support/agents/{agent_id}/password",
            post(reset_password),
        )
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

/// The login cookie holding `value` for `max_age_seconds` (0 clears it).
fn cookie(state: &AppState, value: &str, max_age_seconds: u64) -> HeaderValue {
    let max_age = i64::try_from(max_age_seconds).unwrap_or(i64::MAX);
    let cookie = Cookie::build((TOKEN_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .secure(state.settings.secure_cookie)
        .build();
    // Built only from a JWT (base64url and dots) and fixed text: always a valid header.
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What a login refused because every hashing slot was taken suggests waiting.
const LOGIN_BUSY_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

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
    check_rate("login_ip", &state.limiters.login_ips, &ip)?;
    check_rate("login", &state.limiters.logins, &(ip, email.clone()))?;
    let found = state.store.agent_by_email(&email).await?;
    let hash = found.as_ref().map(|f| f.password_hash.clone());
    let password_ok = match auth::verify_password(hash, password).await {
        Ok(ok) => ok,
        Err(auth::AuthError::Busy) => {
            metrics()
                .rate_limited
                .with_label_values(&["login_busy"])
                .inc();
            return Err(ApiError::RateLimited {
                retry_after: LOGIN_BUSY_RETRY,
            });
        }
        Err(_) => false,
    };
    let agent = match found {
        Some(found) if password_ok && !found.agent.disabled => found.agent,
        _ => return Err(ApiError::InvalidCredentials),
    };
    let token = state
        .auth
        .tokens
        .issue(&agent)
        .map_err(|_| ApiError::Internal)?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        cookie(&state, &token, state.auth.tokens.ttl.as_secs()),
    );
    tracing::info!(agent_id = agent.id, "agent logged in");
    Ok((headers, Json(LoginResponse { token, agent })).into_response())
}

/// Ends the caller's sessions: every token of the agent is revoked (all devices)
/// and open sockets close with 4401. Without a valid token it only clears the cookie.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = bearer_token(&headers)
        && let Ok(agent) = state.auth.authenticate(&token).await
    {
        let revoke = AgentUpdate {
            revoke_tokens: true,
            ..AgentUpdate::default()
        };
        state.chat.update_agent(agent.id, &revoke).await?;
        tracing::info!(agent_id = agent.id, "agent logged out; tokens revoked");
    }
    let mut headers = HeaderMap::new();
    headers.insert(header::SET_COOKIE, cookie(&state, "", 0));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
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
    let agents = state
        .store
        .list_agents()
        .await?
        .into_iter()
        .map(|agent| AgentWithPresence {
            online: agent.status != AgentStatus::Offline,
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

#[derive(Deserialize)]
struct UpdateAgentRequest {
    name: Option<String>,
    role: Option<String>,
    disabled: Option<bool>,
    /// The most tickets auto-assignment gives the agent (0 to 50).
    max_chats: Option<i64>,
}

/// An agent id from the path; anything else names no agent.
fn agent_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound("agent"))
}

fn not_found_as_agent(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::NotFound("agent"),
        other => other.into(),
    }
}

/// Admin: rename, change the role, disable or enable an agent. Disabling ends the
/// agent's sessions at once. Admins cannot disable or demote themselves, so a
/// team always keeps the admin who is making the change.
async fn update_agent(
    State(state): State<AppState>,
    AdminAgent(admin): AdminAgent,
    Path(raw_id): Path<String>,
    JsonBody(request): JsonBody<UpdateAgentRequest>,
) -> Result<Json<Agent>, ApiError> {
    let id = agent_id(&raw_id)?;
    let limits = &state.settings.limits;
    let name = request
        .name
        .map(|n| validation::required_text("name", Some(&n), limits.name_chars))
        .transpose()?;
    let role = request
        .role
        .map(|r| {
            r.parse::<AgentRole>()
                .map_err(|_| ApiError::validation("role", "role must be admin or agent"))
        })
        .transpose()?;
    if let Some(max_chats) = request.max_chats
        && !(0..=MAX_CHATS_LIMIT).contains(&max_chats)
    {
        return Err(ApiError::validation(
            "max_chats",
            format!("max_chats must be from 0 to {MAX_CHATS_LIMIT}"),
        ));
    }
    if name.is_none() && role.is_none() && request.disabled.is_none() && request.max_chats.is_none()
    {
        return Err(ApiError::validation(
            "name",
            "give name, role, disabled, max_chats or several",
        ));
    }
    if id == admin.id && request.disabled == Some(true) {
        return Err(ApiError::validation(
            "disabled",
            "you cannot disable your own account",
        ));
    }
    if id == admin.id && role == Some(AgentRole::Agent) {
        return Err(ApiError::validation(
            "role",
            "you cannot remove your own admin role",
        ));
    }
    let update = AgentUpdate {
        name,
        role,
        disabled: request.disabled,
        max_chats: request.max_chats,
        ..AgentUpdate::default()
    };
    let agent = state
        .chat
        .update_agent(id, &update)
        .await
        .map_err(not_found_as_agent)?;
    tracing::info!(agent_id = id, admin_id = admin.id, "agent updated");
    Ok(Json(agent))
}

#[derive(Deserialize)]
struct PasswordRequest {
    password: Option<String>,
}

/// Admin: set a new password for an agent; the agent's sessions end.
async fn reset_password(
    State(state): State<AppState>,
    AdminAgent(admin): AdminAgent,
    Path(raw_id): Path<String>,
    JsonBody(request): JsonBody<PasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let id = agent_id(&raw_id)?;
    let password = validation::password(
        "password",
        request.password.as_deref(),
        &state.settings.limits,
    )?;
    let password_hash = auth::hash_password(password)
        .await
        .map_err(|_| ApiError::Internal)?;
    let update = AgentUpdate {
        password_hash: Some(password_hash),
        ..AgentUpdate::default()
    };
    state
        .chat
        .update_agent(id, &update)
        .await
        .map_err(not_found_as_agent)?;
    tracing::info!(agent_id = id, admin_id = admin.id, "agent password reset");
    Ok(StatusCode::NO_CONTENT)
}
