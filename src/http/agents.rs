//! Agent sessions and accounts: login, logout, who am I, the team list, and
//! admin-only account creation.

use super::extract::{AdminAgent, ClientIp, CurrentAgent, JsonBody, bearer_token};
use super::{AppState, check_rate};
use crate::auth::{self, TOKEN_COOKIE};
use crate::domain::validation;
use crate::domain::{Agent, AgentRole, AgentStatus, MAX_CHATS_LIMIT};
use crate::error::{ApiError, ErrorEnvelope};
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

/// The agent accounts' part of the OpenAPI description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    login,
    logout,
    me,
    list_agents,
    create_agent,
    update_agent,
    reset_password
))]
pub struct Api;

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    #[schema(required, nullable = false, min_length = 1, format = Email)]
    email: Option<String>,
    #[schema(required, nullable = false, min_length = 1, format = Password)]
    password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    /// Send it as `Authorization: Bearer TOKEN`.
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

#[utoipa::path(
    post,
    path = "/api/support/auth/login",
    tag = "agent",
    summary = "Log in: a token, and the livesupport_token cookie",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The token and the agent", body = LoginResponse,
            headers(("Set-Cookie" = String, description = "livesupport_token, HttpOnly, SameSite=Strict"))),
        (status = 400, description = "`validation_failed`: no email or password", body = ErrorEnvelope),
        (status = 401, description = "`invalid_credentials`: a wrong email or password, or a disabled account", body = ErrorEnvelope),
        (status = 429, description = "`rate_limited`: logins per client IP and email, or every password check busy", body = ErrorEnvelope),
    ),
)]
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
#[utoipa::path(
    post,
    path = "/api/support/auth/logout",
    tag = "agent",
    summary = "Log out everywhere: every token of the agent is revoked",
    description = "Without a valid token it only clears the cookie.",
    responses(
        (status = 204, description = "Logged out; the cookie is cleared",
            headers(("Set-Cookie" = String, description = "livesupport_token, expired"))),
        (status = 403, description = "`forbidden`: a cookie-authenticated request from another origin", body = ErrorEnvelope),
    ),
    security((), ("bearer" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/api/support/agents/me",
    tag = "agent",
    summary = "The calling agent",
    responses((status = 200, description = "The agent", body = Agent)),
    security(("bearer" = [])),
)]
async fn me(CurrentAgent(agent): CurrentAgent) -> Json<Agent> {
    Json(agent)
}

#[derive(Serialize, utoipa::ToSchema)]
struct AgentWithPresence {
    #[serde(flatten)]
    agent: Agent,
    online: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AgentList {
    agents: Vec<AgentWithPresence>,
}

#[utoipa::path(
    get,
    path = "/api/support/agents",
    tag = "agent",
    summary = "The team, with who is online",
    responses((status = 200, description = "Every agent", body = AgentList)),
    security(("bearer" = [])),
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateAgentRequest {
    #[schema(required, nullable = false, max_length = 254, format = Email)]
    email: Option<String>,
    #[schema(required, nullable = false, min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(required, nullable = false, min_length = 10, max_length = 1024, format = Password)]
    password: Option<String>,
    /// Default `agent`.
    #[schema(value_type = Option<AgentRole>)]
    role: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/support/agents",
    tag = "admin",
    summary = "Create an agent account",
    request_body = CreateAgentRequest,
    responses(
        (status = 201, description = "The new agent", body = Agent),
        (status = 400, description = "`validation_failed` naming the field", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 409, description = "`conflict`: the email has an account", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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

/// At least one of the fields.
#[derive(Deserialize, utoipa::ToSchema)]
struct UpdateAgentRequest {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(value_type = Option<AgentRole>)]
    role: Option<String>,
    disabled: Option<bool>,
    /// The most tickets auto-assignment gives the agent (0 to 50).
    #[schema(minimum = 0, maximum = 50)]
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
#[utoipa::path(
    patch,
    path = "/api/support/agents/{agent_id}",
    tag = "admin",
    summary = "Rename, change the role, disable or enable an agent, or set max_chats",
    params(("agent_id" = i64, Path, description = "The agent's id (anything but a positive number names no agent: 404)")),
    request_body = UpdateAgentRequest,
    responses(
        (status = 200, description = "The changed agent", body = Agent),
        (status = 400, description = "`validation_failed` naming the field (an admin cannot disable or demote themselves)", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown agent", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct PasswordRequest {
    #[schema(required, nullable = false, min_length = 10, max_length = 1024, format = Password)]
    password: Option<String>,
}

/// Admin: set a new password for an agent; the agent's sessions end.
#[utoipa::path(
    post,
    path = "/api/support/agents/{agent_id}/password",
    tag = "admin",
    summary = "Set an agent's password; the agent's sessions end",
    params(("agent_id" = i64, Path, description = "The agent's id (anything but a positive number names no agent: 404)")),
    request_body = PasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "`validation_failed`: `password`", body = ErrorEnvelope),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorEnvelope),
        (status = 404, description = "`not_found`: unknown agent", body = ErrorEnvelope),
    ),
    security(("bearer" = [])),
)]
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
