//! Access tokens: JWT-shaped so that clients can read `exp`, checked by
//! lookup in the table of issued tokens (the signature part is random; the
//! development gateway has no key to sign with and needs none).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use tokio::time::Instant;

/// One issued token.
struct Issued {
    user: String,
    /// Checked against tokio's clock so that paused-time tests control expiry.
    expires: Instant,
}

/// The tokens handed out by the login endpoint.
#[derive(Default)]
pub(super) struct TokenTable {
    issued: HashMap<String, Issued>,
}

impl TokenTable {
    /// Issues a token for `user`, valid for `ttl`.
    pub(super) fn issue(&mut self, user: &str, ttl: Duration) -> String {
        let now = Instant::now();
        self.issued.retain(|_, t| t.expires > now);

        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let iat = since_epoch.as_secs();
        let exp = (since_epoch + ttl).as_secs();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "sub": user,
            "name": user,
            "iat": iat,
            "exp": exp,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut sig = [0u8; 32];
        rand::rng().fill_bytes(&mut sig);
        let token = format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig));
        self.issued.insert(
            token.clone(),
            Issued {
                user: user.to_owned(),
                expires: now + ttl,
            },
        );
        token
    }

    /// The user a token was issued to, if it is known and not expired.
    pub(super) fn check(&self, token: &str) -> Option<String> {
        let issued = self.issued.get(token)?;
        (issued.expires > Instant::now()).then(|| issued.user.clone())
    }

    /// Forgets every token: the next upgrade with any of them is refused.
    pub(super) fn revoke_all(&mut self) {
        self.issued.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_jwt_shaped_with_sub_and_exp() {
        let mut table = TokenTable::default();
        let token = table.issue("alice", Duration::from_secs(3600));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "alice");
        let exp = claims["exp"].as_u64().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(exp >= now + 3599 && exp <= now + 3601, "{exp} vs {now}");
        assert_eq!(table.check(&token).as_deref(), Some("alice"));
        assert_eq!(table.check("forged.token.value"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_expire_after_their_ttl_and_can_be_revoked() {
        let mut table = TokenTable::default();
        let token = table.issue("bob", Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(table.check(&token).is_some());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(table.check(&token).is_none());

        let token = table.issue("bob", Duration::from_secs(10));
        table.revoke_all();
        assert!(table.check(&token).is_none());
    }
}
