//! Signed, expiring tokens naming one row by id: the capability behind a file's
//! download URL (issue 17) and an email's link back into a conversation (issue
//! 18). A token is the hex of the id, the expiry (Unix seconds) and the first 16
//! bytes of their HMAC-SHA256 under a key derived from the token secret and the
//! token's purpose: every node of a cluster signs alike, and a token of one
//! purpose is worthless for another.

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct SignedIds {
    key: Hmac<Sha256>,
    ttl_seconds: i64,
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token of ours: malformed, altered, or signed under another key.
    Invalid,
    /// Ours, but past its expiry.
    Expired,
}

const TOKEN_BYTES: usize = 8 + 8 + 16;

impl SignedIds {
    /// `purpose` names what the tokens are for (a constant, versioned string).
    pub fn new(token_secret: &[u8], purpose: &str, ttl_seconds: i64) -> Self {
        let mut derive =
            Hmac::<Sha256>::new_from_slice(token_secret).expect("HMAC takes a key of any length");
        derive.update(purpose.as_bytes());
        let key = Hmac::<Sha256>::new_from_slice(&derive.finalize().into_bytes())
            .expect("HMAC takes a key of any length");
        SignedIds { key, ttl_seconds }
    }

    /// A token for `id`, valid for the TTL from `now` (Unix seconds).
    pub fn issue(&self, id: i64, now: i64) -> String {
        let expires = now.saturating_add(self.ttl_seconds);
        let mut token = Vec::with_capacity(TOKEN_BYTES);
        token.extend_from_slice(&id.to_be_bytes());
        token.extend_from_slice(&expires.to_be_bytes());
        let mut mac = self.key.clone();
        mac.update(&token);
        token.extend_from_slice(&mac.finalize().into_bytes()[..16]);
        hex::encode(token)
    }

    /// The id a token names, when its signature holds (checked in constant
    /// time) and it has not expired at `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<i64, TokenError> {
        let bytes = hex::decode(token).map_err(|_| TokenError::Invalid)?;
        if bytes.len() != TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let (signed, tag) = bytes.split_at(16);
        let mut mac = self.key.clone();
        mac.update(signed);
        mac.verify_truncated_left(tag)
            .map_err(|_| TokenError::Invalid)?;
        let id = i64::from_be_bytes(signed[..8].try_into().expect("8 bytes"));
        let expires = i64::from_be_bytes(signed[8..].try_into().expect("8 bytes"));
        if now > expires {
            return Err(TokenError::Expired);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_id_until_it_expires() {
        let ids = SignedIds::new(b"secret", "test v1", 60);
        let token = ids.issue(42, 1_000);
        assert_eq!(ids.verify(&token, 1_000), Ok(42));
        assert_eq!(ids.verify(&token, 1_060), Ok(42));
        assert_eq!(ids.verify(&token, 1_061), Err(TokenError::Expired));
    }

    #[test]
    fn another_purpose_or_secret_or_an_altered_token_is_invalid() {
        let ids = SignedIds::new(b"secret", "test v1", 60);
        let token = ids.issue(42, 1_000);
        let other_purpose = SignedIds::new(b"secret", "other v1", 60);
        let other_secret = SignedIds::new(b"another secret", "test v1", 60);
        assert_eq!(
            other_purpose.verify(&token, 1_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(other_secret.verify(&token, 1_000), Err(TokenError::Invalid));
        let mut altered = token.clone().into_bytes();
        altered[15] = if altered[15] == b'0' { b'1' } else { b'0' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(ids.verify(&altered, 1_000), Err(TokenError::Invalid));
        assert_eq!(ids.verify("zz", 1_000), Err(TokenError::Invalid));
        assert_eq!(ids.verify(&token[..10], 1_000), Err(TokenError::Invalid));
    }
}
