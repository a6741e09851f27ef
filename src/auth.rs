//! Agents' credentials and the guests' identity verification: argon2 password
//! hashes (computed off the async threads), HS256 tokens with a pinned algorithm,
//! issuer, audience and expiry, and HMAC-SHA256 `user_hash` checks in constant time.

use crate::config::Secret;
use crate::domain::{Agent, AgentRole};
use crate::error::ApiError;
use crate::store::Store;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::Rng;
use rand::distributions::Alphanumeric;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// The cookie login sets; the dashboard's REST calls and sockets carry it.
pub const TOKEN_COOKIE: &str = "livesupport_token";
const ISSUER: &str = "livesupport";
const AUDIENCE: &str = "livesupport-agents";

/// Argon2 runs at most this many at once on a node: each takes tens of
/// milliseconds of a core and 19 MiB of memory, so more in parallel only queue on
/// the cores while their memory piles up (a login flood would exhaust the node).
fn hashing_slots() -> &'static Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(Semaphore::new(cores.max(1)))
    })
}

/// Hashes a password with argon2id on the blocking pool: hashing takes tens of
/// milliseconds of CPU, which must not stall the async workers. Waits for one of
/// the node's hashing slots (these are admin operations, rare and worth waiting
/// for); the slot is held until the hash is done, even if the caller goes away.
pub async fn hash_password(password: String) -> Result<String, AuthError> {
    let slot = hashing_slots()
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| AuthError::Hashing)?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| AuthError::Hashing)
    })
    .await
    .map_err(|_| AuthError::Hashing)?
}

/// Checks a password against a stored hash on the blocking pool. With no hash (an
/// unknown email) a dummy hash is checked, so both cases take the same time and
/// the answer does not reveal which emails have accounts. When every hashing slot
/// is taken it answers [`AuthError::Busy`] at once rather than queueing: a login
/// flood costs the node a few hashes' memory, not one per request.
pub async fn verify_password(hash: Option<String>, password: String) -> Result<bool, AuthError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let slot = hashing_slots()
        .clone()
        .try_acquire_owned()
        .map_err(|_| AuthError::Busy)?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| {
                    let salt = SaltString::generate(&mut OsRng);
                    Argon2::default()
                        .hash_password(b"not a password", &salt)
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .map_err(|_| AuthError::Hashing)
}

/// A random password for the first admin: 20 alphanumerics (~119 bits).
pub fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

/// What an agent token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The agent's id, as a string (JWT convention).
    pub sub: String,
    pub role: AgentRole,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    /// The agent's token generation at issue: a later logout, disabling or
    /// password reset revokes the token.
    pub generation: i64,
}

impl Claims {
    pub fn agent_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }
}

/// Signs and checks agent tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// How long a token lasts from login.
    pub ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &Secret, ttl: Duration) -> Self {
        // Only HS256 is accepted: a token claiming any other algorithm (`none`
        // included) fails validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            ttl,
        }
    }

    pub fn issue(&self, agent: &Agent) -> Result<String, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: agent.id.to_string(),
            role: agent.role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            generation: agent.token_generation,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| AuthError::Signing)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AuthError::InvalidToken)
    }
}

/// Who a token belongs to: checks the token, then that its agent still exists,
/// is enabled and has not revoked it (the token generation). Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    pub tokens: Arc<TokenKeys>,
    store: Arc<dyn Store>,
}

impl Authenticator {
    pub fn new(tokens: TokenKeys, store: Arc<dyn Store>) -> Self {
        Authenticator {
            tokens: Arc::new(tokens),
            store,
        }
    }

    /// The agent a token belongs to, if the token is valid and the agent enabled.
    pub async fn authenticate(&self, token: &str) -> Result<Agent, ApiError> {
        self.credential(token).await.map(|(agent, _)| agent)
    }

    /// The agent a token belongs to and what a socket keeps of the token, if the
    /// token is valid and the agent enabled.
    pub async fn credential(&self, token: &str) -> Result<(Agent, Credential), ApiError> {
        let claims = self
            .tokens
            .verify(token)
            .map_err(|_| ApiError::Unauthorized)?;
        let agent_id = claims.agent_id().ok_or(ApiError::Unauthorized)?;
        match self.store.agent_by_id(agent_id).await? {
            Some(agent) if !agent.disabled && agent.token_generation == claims.generation => {
                let credential = Credential {
                    agent_id,
                    generation: claims.generation,
                    expires_at: claims.exp,
                };
                Ok((agent, credential))
            }
            _ => Err(ApiError::Unauthorized),
        }
    }
}

/// What an agent's socket keeps of the token it was opened with (never the
/// token itself): whose it is, its generation, and when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub agent_id: i64,
    /// The agent's token generation the token carries.
    pub generation: i64,
    /// The token's `exp`, in Unix seconds.
    pub expires_at: u64,
}

impl Credential {
    /// How long until the token expires; zero once it has.
    pub fn remaining(&self) -> Duration {
        let expiry = std::time::UNIX_EPOCH + Duration::from_secs(self.expires_at);
        expiry
            .duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
    }
}

/// A random signing secret for a node started without TOKEN_SECRET.
pub fn random_secret() -> Secret {
    Secret::new(
        rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(48)
            .map(char::from)
            .collect::<String>(),
    )
}

/// True when `user_hash` is the lowercase hex HMAC-SHA256 of `user_id` under the
/// identity secret. The comparison runs in constant time.
pub fn verify_identity(secret: &Secret, user_id: &str, user_hash: &str) -> bool {
    let Ok(expected) = hex::decode(user_hash) else {
        return false;
    };
    if user_hash.chars().any(|c| c.is_ascii_uppercase()) {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        return false;
    };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

/// The hash a storefront computes for `user_id` (used by tests and docs).
pub fn identity_hash(secret: &Secret, user_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(user_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed")]
    Hashing,
    /// Every hashing slot is taken: try again in a moment.
    #[error("the node is busy hashing passwords")]
    Busy,
    #[error("token signing failed")]
    Signing,
    #[error("invalid token")]
    InvalidToken,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn agent() -> Agent {
        Agent {
            id: 7,
            email: "a@example.com".into(),
            name: "A".into(),
            role: AgentRole::Agent,
            disabled: false,
            created_at: Utc::now(),
            status: crate::domain::AgentStatus::Offline,
            max_chats: 3,
            open_chats: 0,
            token_generation: 0,
        }
    }

    #[test]
    fn a_token_verifies_only_under_its_own_key() {
        let keys = TokenKeys::new(&Secret::new("k".repeat(32)), Duration::from_secs(60));
        let token = keys.issue(&agent()).unwrap();
        assert_eq!(keys.verify(&token).unwrap().agent_id(), Some(7));
        let other = TokenKeys::new(&Secret::new("x".repeat(32)), Duration::from_secs(60));
        assert!(other.verify(&token).is_err());
    }

    #[test]
    fn identity_hashes_verify_in_lowercase_hex_only() {
        let secret = Secret::new("identity");
        let hash = identity_hash(&secret, "user-42");
        assert!(verify_identity(&secret, "user-42", &hash));
        assert!(!verify_identity(&secret, "user-43", &hash));
        assert!(!verify_identity(&secret, "user-42", &hash.to_uppercase()));
        assert!(!verify_identity(&secret, "user-42", "zz"));
    }

    #[tokio::test]
    async fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(
            verify_password(Some(hash.clone()), "correct horse".into())
                .await
                .unwrap()
        );
        assert!(
            !verify_password(Some(hash), "wrong horse".into())
                .await
                .unwrap()
        );
        assert!(
            !verify_password(None, "not a password".into())
                .await
                .unwrap()
        );
    }
}
