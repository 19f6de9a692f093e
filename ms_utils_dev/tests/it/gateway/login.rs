//! Login ([protocol: login](ms_utils_communication::protocol#login)) and the token check on the websocket upgrade ([protocol: connecting](ms_utils_communication::protocol#connecting)).

use super::*;

#[tokio::test]
async fn login_with_the_right_password_answers_201_with_a_jwt_shaped_token() {
    let gw = gateway().await;
    let res = login(&gw, "alice", "alice-pw").await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert!(claims["exp"].as_u64().unwrap() > 0);
    assert_eq!(gw.faults().counters().logins, 1);
}

#[tokio::test]
async fn login_with_a_wrong_password_or_unknown_user_answers_401_json() {
    let gw = gateway().await;
    for (user, pw) in [("alice", "nope"), ("mallory", "alice-pw")] {
        let res = login(&gw, user, pw).await;
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["statusCode"], 401);
    }
    let c = gw.faults().counters();
    assert_eq!((c.login_attempts, c.logins), (2, 0));
}

#[tokio::test]
async fn refuse_logins_answers_401_until_switched_off() {
    let gw = gateway().await;
    gw.faults().refuse_logins(true);
    assert_eq!(login(&gw, "alice", "alice-pw").await.status(), 401);
    gw.faults().refuse_logins(false);
    assert_eq!(login(&gw, "alice", "alice-pw").await.status(), 201);
}

#[tokio::test]
async fn an_injected_login_status_is_answered_with_a_json_body() {
    let gw = gateway().await;
    gw.faults().login_status(Some(500));
    let res = login(&gw, "alice", "alice-pw").await;
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["statusCode"], 500);
    gw.faults().login_status(None);
    assert_eq!(login(&gw, "alice", "alice-pw").await.status(), 201);
}

#[tokio::test]
async fn upgrades_without_a_valid_token_are_refused_with_401() {
    let gw = gateway().await;
    let base = format!("ws://{}/", gw.host());
    for url in [base.clone(), format!("{base}?token=made.up.token")] {
        match tokio_tungstenite::connect_async(url).await {
            Err(WsError::Http(res)) => assert_eq!(res.status(), 401),
            other => panic!("expected a 401 refusal, got {other:?}"),
        }
    }
    // A token stops working once revoked.
    let token = token(&gw, "alice").await;
    gw.faults().revoke_tokens();
    match tokio_tungstenite::connect_async(gw.ws_url(&token)).await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    assert_eq!(gw.faults().counters().upgrades_refused, 3);
    assert_eq!(gw.faults().counters().connections, 0);
}

#[tokio::test]
async fn anonymous_connections_are_accepted_when_allowed() {
    install_crypto();
    let gw = DevGateway::builder()
        .allow_anonymous(true)
        .start()
        .await
        .unwrap();
    let (_ws, res) = tokio_tungstenite::connect_async(format!("ws://{}/", gw.host()))
        .await
        .unwrap();
    assert_eq!(res.status(), 101);
    timeout(WAIT, gw.faults().wait_connected("anonymous"))
        .await
        .unwrap();
}
