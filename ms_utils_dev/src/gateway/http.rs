//! The HTTP side of the gateway: the login endpoint ([protocol: login](ms_utils_communication::protocol#login)) and the
//! websocket upgrade with its token check ([protocol: connecting](ms_utils_communication::protocol#connecting)), on one hyper connection.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::{debug, info, warn};

use super::lock::lock;
use super::session;
use super::socket::ConnIo;
use super::state::Shared;

/// Login bodies are two short strings; anything bigger is not a login.
const MAX_LOGIN_BODY: usize = 64 * 1024;

/// The user a connection without a token is served as, when allowed.
pub(super) const ANONYMOUS: &str = "anonymous";

type Body = Full<Bytes>;

#[derive(Deserialize)]
struct Login {
    name: Option<String>,
    password: Option<String>,
}

pub(super) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if is_upgrade(&req) {
        return Ok(upgrade(shared, req));
    }
    let path = req.uri().path().trim_end_matches('/');
    if path == "/auth-ms/login" {
        if req.method() != Method::POST {
            return Ok(error(StatusCode::METHOD_NOT_ALLOWED, "use POST"));
        }
        return Ok(login(&shared, req).await);
    }
    Ok(error(StatusCode::NOT_FOUND, "not found"))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from(body.to_string())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Error bodies in the shape NestJS gateways answer with.
fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"statusCode": status.as_u16(), "message": message}),
    )
}

async fn login(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    shared.count(|c| c.login_attempts += 1);
    let injected = *lock(&shared.login_status);
    if let Some(code) = injected {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        info!(
            status = status.as_u16(),
            "login answered with an injected status"
        );
        return error(status, "injected login failure");
    }
    if shared.refusing_logins() {
        info!("login refused (fault injected)");
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let body = match Limited::new(req.into_body(), MAX_LOGIN_BODY)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            debug!(error = %e, "login body unreadable");
            return error(StatusCode::BAD_REQUEST, "unreadable body");
        }
    };
    let Ok(Login {
        name: Some(name),
        password: Some(password),
    }) = serde_json::from_slice::<Login>(&body)
    else {
        return error(StatusCode::BAD_REQUEST, "expected {\"name\", \"password\"}");
    };
    if shared.users.get(&name) != Some(&password) {
        warn!(user = %name, "login with wrong credentials");
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let ttl = shared.settings.token_ttl;
    let token = lock(&shared.tokens).issue(&name, ttl);
    shared.count(|c| c.logins += 1);
    info!(user = %name, "login accepted");
    json_response(
        StatusCode::CREATED,
        &json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl.as_secs()}),
    )
}

fn is_upgrade<B>(req: &Request<B>) -> bool {
    let has = |name: header::HeaderName, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    req.method() == Method::GET
        && has(header::CONNECTION, "upgrade")
        && has(header::UPGRADE, "websocket")
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
}

fn upgrade(shared: Arc<Shared>, mut req: Request<Incoming>) -> Response<Body> {
    // The path is logged without its query: the query holds the token.
    let path = req.uri().path().to_owned();
    let token = query_token(req.uri().query());
    let user = match token {
        Some(t) => lock(&shared.tokens).check(t),
        None if shared.settings.allow_anonymous => Some(ANONYMOUS.to_owned()),
        None => None,
    };
    let Some(user) = user else {
        shared.count(|c| c.upgrades_refused += 1);
        warn!(%path, has_token = token.is_some(), "websocket upgrade refused: missing, unknown or expired token");
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    let version_ok = req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return error(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key");
    };
    if !version_ok {
        let mut res = error(StatusCode::UPGRADE_REQUIRED, "websocket version 13 only");
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return res;
    }

    let on_upgrade = hyper::upgrade::on(&mut req);
    let max = shared.settings.max_message_size;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let task_shared = Arc::clone(&shared);
    shared.tracker.spawn(async move {
        let upgraded = tokio::select! {
            _ = task_shared.cancel.cancelled() => return,
            upgraded = on_upgrade => upgraded,
        };
        match upgraded {
            Ok(upgraded) => {
                let io = ConnIo::from_upgraded(upgraded);
                let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
                session::serve(task_shared, user, ws).await;
            }
            Err(e) => debug!(%path, error = %e, "websocket upgrade did not complete"),
        }
    });

    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = res.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_query() {
        assert_eq!(query_token(Some("token=abc")), Some("abc"));
        assert_eq!(query_token(Some("x=1&token=a.b.c")), Some("a.b.c"));
        assert_eq!(query_token(Some("token=")), None);
        assert_eq!(query_token(Some("tok=1")), None);
        assert_eq!(query_token(None), None);
    }
}
