//! Request extractors that answer bad input with the contract's error body:
//! JSON bodies, the client's IP, and the calling agent.

use super::AppState;
use crate::auth::TOKEN_COOKIE;
use crate::config::Cidr;
use crate::domain::{Agent, AgentRole};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::headers::authorization::{Authorization, Bearer};
use axum_extra::headers::{ContentType, HeaderMapExt};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// A JSON body. It must be sent as `application/json` (or a `+json` type): any
/// other `Content-Type`, or none with a body, is `unsupported_media_type` — an
/// HTML form cannot send JSON's type, so no other site's form can post here (see
/// [`super::csrf`]). An empty body reads as `{}`; invalid JSON is `invalid_json`;
/// a field of the wrong type is `validation_failed` naming that field; a body over
/// the limit is `payload_too_large`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(usize::MAX);
        let declared_json = declares_json(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(limit)
            } else {
                ApiError::InvalidJson("the request body could not be read".into())
            }
        })?;
        let empty = bytes.iter().all(u8::is_ascii_whitespace);
        match declared_json {
            Some(false) => return Err(ApiError::UnsupportedMediaType),
            None if !empty => return Err(ApiError::UnsupportedMediaType),
            _ => {}
        }
        let bytes: &[u8] = if empty { b"{}" } else { &bytes };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::InvalidJson(format!("the request body is not valid JSON: {e}"))
        })?;
        if !value.is_object() {
            return Err(ApiError::InvalidJson(
                "the request body must be a JSON object".into(),
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner().to_string();
                let field = if field == "." {
                    missing_field(&inner).unwrap_or_else(|| "body".into())
                } else {
                    field
                };
                ApiError::validation(&field, format!("{field} is missing or of the wrong type"))
            })
    }
}

/// `Some(true)` for `application/json` or `application/…+json` (any parameters),
/// `Some(false)` for another type (or one that does not parse), `None` when the
/// request names none.
fn declares_json(headers: &HeaderMap) -> Option<bool> {
    headers.get(axum::http::header::CONTENT_TYPE)?;
    let mime: Option<mime::Mime> = headers.typed_get::<ContentType>().map(Into::into);
    Some(mime.is_some_and(|mime| {
        mime.type_() == mime::APPLICATION
            && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
    }))
}

/// serde names a missing field only in its message: "missing field `x`".
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The one path parameter of a ticket route, as text. A parameter axum cannot
/// decode (invalid UTF-8 after percent-decoding) names no ticket: 404 with the
/// error body, where axum's own rejection would be a text/plain 400.
pub struct PathKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(key)| PathKey(key))
            .map_err(|_| ApiError::NotFound("ticket"))
    }
}

/// The body limit in force, put in the request extensions by the router so the
/// 413 message can state it.
#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Query parameters as strings; handlers parse them with [`QueryParams::int`] and
/// friends so that each bad value names its parameter.
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|_| ApiError::validation("query", "the query string is malformed"))?;
        Ok(QueryParams(pairs.into_iter().collect()))
    }
}

impl QueryParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// An optional integer within `min..=max`.
    pub fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        match raw.parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(ApiError::validation(
                name,
                format!("{name} must be an integer from {min} to {max}"),
            )),
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the
/// nearest untrusted address of `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer.to_canonical();
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // Walk from the nearest hop back; the first address we do not trust is the client.
    forwarded
        .iter()
        .rev()
        .copied()
        .find(|ip| !is_trusted(*ip))
        .or_else(|| forwarded.first().copied())
        .unwrap_or(peer)
        .to_canonical()
}

/// The agent making the request, from `Authorization: Bearer` or the login cookie.
/// Disabled agents and bad or expired tokens are 401.
#[derive(Debug, Clone)]
pub struct CurrentAgent(pub Agent);

impl FromRequestParts<AppState> for CurrentAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        state.auth.authenticate(&token).await.map(CurrentAgent)
    }
}

/// An agent with the admin role; others get 403.
pub struct AdminAgent(pub Agent);

impl FromRequestParts<AppState> for AdminAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let CurrentAgent(agent) = CurrentAgent::from_request_parts(parts, state).await?;
        if agent.role != AgentRole::Admin {
            return Err(ApiError::Forbidden("this needs the admin role"));
        }
        Ok(AdminAgent(agent))
    }
}

/// The token of a request: the `Authorization: Bearer` header first, then the
/// cookie. A request with another `Authorization` scheme has no token (the cookie
/// is not consulted: the client chose the header).
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    if headers.contains_key(axum::http::header::AUTHORIZATION) {
        let Authorization(bearer) = headers.typed_get::<Authorization<Bearer>>()?;
        return Some(bearer.token().trim().to_owned()).filter(|t| !t.is_empty());
    }
    CookieJar::from_headers(headers)
        .get(TOKEN_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.7".parse().unwrap());
        let via_proxy = client_ip("10.0.0.2".parse().unwrap(), &headers, &trusted);
        assert_eq!(via_proxy, "203.0.113.9".parse::<IpAddr>().unwrap());
        let direct = client_ip("198.51.100.1".parse().unwrap(), &headers, &trusted);
        assert_eq!(direct, "198.51.100.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn tokens_come_from_the_header_or_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert("cookie", "a=b; livesupport_token=tok; c=d".parse().unwrap());
        assert_eq!(bearer_token(&headers).as_deref(), Some("tok"));
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers).as_deref(), Some("abc"));
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
