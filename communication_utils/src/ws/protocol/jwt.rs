//! Reading a JWT's claims (no signature check): the client only needs `exp`
//! to log in again before its token expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::ws::error::Error;

/// The claims (middle part) of a JWT, without checking the signature.
///
/// # Errors
/// [`Error::BadJwt`] when the token is not three dot-separated parts, the middle
/// part is not base64url, or it is not a JSON object.
///
/// ```
/// use ms_utils_communication::ws::jwt_claims;
/// // {"alg":"none"} . {"sub":"svc","exp":2000000000} . (no signature)
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMiLCJleHAiOjIwMDAwMDAwMDB9.";
/// let claims = jwt_claims(token).unwrap();
/// assert_eq!(claims["sub"], "svc");
/// assert!(jwt_claims("not-a-jwt").unwrap_err().to_string().contains("JWT"));
/// ```
pub fn jwt_claims(token: &str) -> Result<Map<String, Value>, Error> {
    let mut parts = token.split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::BadJwt {
            reason: "not three dot-separated parts",
        });
    };
    // Issuers differ on padding; accept both.
    let trimmed = payload.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(trimmed)
        .map_err(|_| Error::BadJwt {
            reason: "claims are not base64url",
        })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::BadJwt {
            reason: "claims are not a JSON object",
        }),
    }
}

/// When the JWT expires (its `exp` claim), or `None` when it is not a JWT or has
/// no numeric `exp`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use ms_utils_communication::ws::jwt_expiry;
/// let token = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzdmMiLCJleHAiOjIwMDAwMDAwMDB9.";
/// assert_eq!(jwt_expiry(token), Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000)));
/// assert_eq!(jwt_expiry("opaque-token"), None);
/// ```
pub fn jwt_expiry(token: &str) -> Option<SystemTime> {
    let claims = jwt_claims(token).ok()?;
    let exp = claims.get("exp")?;
    let secs = exp.as_f64().or_else(|| exp.as_str()?.parse().ok())?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"HS256"}"#),
            e.encode(claims)
        )
    }

    #[test]
    fn reads_exp_as_number_or_string() {
        assert_eq!(
            jwt_expiry(&token(r#"{"exp":10}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(10))
        );
        assert_eq!(
            jwt_expiry(&token(r#"{"exp":"20"}"#)),
            Some(UNIX_EPOCH + Duration::from_secs(20))
        );
        assert_eq!(jwt_expiry(&token(r#"{"sub":"x"}"#)), None);
        assert_eq!(jwt_expiry(&token(r#"{"exp":-5}"#)), None);
    }

    #[test]
    fn padded_payload_is_accepted() {
        let padded = format!(
            "h.{}.s",
            base64::engine::general_purpose::URL_SAFE.encode(r#"{"a":1}"#)
        );
        assert_eq!(jwt_claims(&padded).unwrap()["a"], 1);
    }

    #[test]
    fn malformed_tokens_are_typed_errors() {
        for bad in ["", "a.b", "a.b.c.d", "a.!!!.c", &token("[1,2]")] {
            assert!(
                matches!(jwt_claims(bad), Err(Error::BadJwt { .. })),
                "{bad}"
            );
        }
    }
}
