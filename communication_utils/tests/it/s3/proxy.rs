//! Proxies: every connection of the client goes through the proxy it was
//! given or the environment names (`HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`,
//! `NO_PROXY`), with or without an extra CA: an `http://` endpoint by
//! forwarding, an `https://` one through a `CONNECT` tunnel; the proxy's
//! credentials are sent and never shown.

use std::time::Duration;

use super::support::{TestS3, private_pki, tls_front};
use ms_utils_communication::s3::{S3BucketClient, S3Config, S3ConfigBuilder};
use ms_utils_dev::testing::{
    LogCapture, LoopbackProxy, assert_child_passed, assert_in_child, child_test, within, within_for,
};
use tracing::level_filters::LevelFilter;

/// A round trip through `client`: upload, download, list.
async fn round_trip(client: &S3BucketClient, bucket: &str) {
    within("the round trip", async {
        client
            .upload_bytes(b"via proxy".to_vec(), bucket, "p.txt", Default::default())
            .await
            .unwrap();
        let got = client
            .download_bytes(bucket, "p.txt", Default::default())
            .await
            .unwrap();
        assert_eq!(got.as_ref(), b"via proxy");
        assert!(
            client
                .list_files(bucket)
                .await
                .unwrap()
                .contains(&"p.txt".to_owned())
        );
    })
    .await;
}

fn authority(endpoint: &str) -> &str {
    endpoint.split_once("://").map_or(endpoint, |(_, a)| a)
}

/// An `http://` endpoint through an explicit proxy: the requests are
/// forwarded (absolute form), and the proxy variables play no part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_endpoint_is_reached_through_the_given_proxy() {
    let t = TestS3::start().await;
    let proxy = LoopbackProxy::start().await.unwrap();
    let client = t.client_with(t.config_builder().proxy(proxy.url())).await;
    round_trip(&client, &t.bucket).await;
    let (endpoint, _, _) = t.endpoint_and_keys();
    let requests = proxy.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(
            r.contains(&format!(" http://{}/", authority(endpoint))),
            "forwarded in absolute form: {r}"
        );
    }
}

/// An `https://` endpoint with a private CA (the extra CA is what made the
/// client build a connector of its own, which used to take no proxy):
/// tunnelled with `CONNECT`, the credentials of the proxy URL sent as Basic,
/// TLS to the endpoint inside the tunnel. Without the extra CA the tunnel is
/// opened the same way, and the endpoint's certificate is refused in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_is_tunnelled_with_or_without_an_extra_ca() {
    let t = TestS3::start().await;
    let (ca, acceptor) = private_pki();
    let (endpoint, _, _) = t.endpoint_and_keys();
    let https = tls_front(endpoint, acceptor).await;
    let proxy = LoopbackProxy::start().await.unwrap();
    let with_user = proxy.url().replace("http://", "http://me:s%40cret@");

    let client = t
        .client_with(
            t.config_builder()
                .endpoint(&https)
                .extra_ca_pem(ca.into_bytes())
                .proxy(&with_user),
        )
        .await;
    round_trip(&client, &t.bucket).await;
    let heads = proxy.heads();
    assert!(!heads.is_empty());
    let connect = format!("CONNECT {} HTTP/1.1", authority(&https));
    for head in &heads {
        assert!(head.starts_with(&connect), "{head}");
        // "me:s@cret" in base64.
        assert!(
            head.to_ascii_lowercase()
                .contains("proxy-authorization: basic bwu6c0bjcmv0"),
            "{head}"
        );
    }

    let without_ca = t
        .client_with(
            t.config_builder()
                .endpoint(&https)
                .proxy(proxy.url())
                .max_attempts(1),
        )
        .await;
    let err = within("an untrusted endpoint", without_ca.test_connection())
        .await
        .unwrap_err();
    assert!(err.is_transport(), "the TLS handshake fails: {err:?}");
    assert!(
        proxy.heads()[heads.len()..]
            .iter()
            .any(|h| h.starts_with(&connect)),
        "{:?}",
        proxy.requests()
    );
}

/// A proxy that refuses the tunnel (407) fails the request as a transport
/// failure; nothing reaches the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_refusing_the_tunnel_is_a_transport_failure() {
    let t = TestS3::start().await;
    let (ca, acceptor) = private_pki();
    let (endpoint, _, _) = t.endpoint_and_keys();
    let https = tls_front(endpoint, acceptor).await;
    let proxy = LoopbackProxy::refusing(
        "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
    )
    .await
    .unwrap();
    let client = t
        .client_with(
            t.config_builder()
                .endpoint(&https)
                .extra_ca_pem(ca.into_bytes())
                .proxy(proxy.url())
                .max_attempts(1),
        )
        .await;
    let err = within("a refused tunnel", client.test_connection())
        .await
        .unwrap_err();
    assert!(err.is_transport(), "{err:?}");
    assert_eq!(proxy.requests().len(), 1);
}

/// The password of the proxy URL is in no log line (TRACE, every crate),
/// no `Debug` output and no error.
#[test]
fn the_proxy_password_is_never_shown() {
    LogCapture::run_multi_thread(LevelFilter::TRACE, |logs| async move {
        let t = TestS3::start().await;
        let (ca, acceptor) = private_pki();
        let (endpoint, _, _) = t.endpoint_and_keys();
        let https = tls_front(endpoint, acceptor).await;
        let proxy = LoopbackProxy::start().await.unwrap();
        let secret = "pr0xy-hunter2";
        for (url, ca) in [
            (https.clone(), Some(ca.clone().into_bytes())),
            (endpoint.to_owned(), None),
        ] {
            let mut b = t.config_builder().endpoint(&url).proxy(
                proxy
                    .url()
                    .replace("http://", &format!("http://me:{secret}@")),
            );
            if let Some(ca) = ca {
                b = b.extra_ca_pem(ca);
            }
            assert!(!format!("{b:?}").contains(secret));
            let config = b.build().unwrap();
            assert!(!format!("{config:?}").contains(secret), "{config:?}");
            let client = S3BucketClient::new("t", config).await.unwrap();
            round_trip(&client, &t.bucket).await;
            let err = client
                .get_file_metadata(&t.bucket, "missing")
                .await
                .unwrap_err();
            assert!(!format!("{err} {err:?}").contains(secret));
        }
        // An unusable proxy URL: the error names where it came from, not it.
        let err = S3Config::builder()
            .proxy(format!("socks5://me:{secret}@127.0.0.1:1"))
            .build()
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains(secret), "{err:?}");
        assert!(err.to_string().contains("S3ConfigBuilder::proxy"), "{err}");

        let text = logs.text();
        assert!(
            text.contains("proxy"),
            "the proxy is logged (without its password)"
        );
        // The password, and "me:pr0xy-hunter2" in base64 (the Basic header).
        for shown in [secret, "bwu6chiwehktahvudgvyma"] {
            assert!(
                !text.to_ascii_lowercase().contains(shown),
                "{shown} in the logs"
            );
        }
    });
}

/// The child half of the environment tests below: builds a client from
/// `S3_*` and the proxy variables (plus the extra CA of
/// `MS_UTILS_S3_CHILD_CA`, and `no_proxy()` when `MS_UTILS_S3_CHILD_NO_PROXY`
/// is set) and makes a round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child half of proxy_variables_are_honoured, run by it in a child process"]
async fn proxy_variables_child() {
    assert_in_child();
    let bucket = std::env::var("MS_UTILS_S3_CHILD_BUCKET").expect("the parent names the bucket");
    let mut b = S3ConfigBuilder::from_env();
    if let Ok(pem) = std::env::var("MS_UTILS_S3_CHILD_CA") {
        b = b.extra_ca_pem(pem.into_bytes());
    }
    if std::env::var_os("MS_UTILS_S3_CHILD_NO_PROXY").is_some() {
        b = b.no_proxy();
    }
    let client = S3BucketClient::new("child", b.build().unwrap())
        .await
        .unwrap();
    round_trip(&client, &bucket).await;
}

/// The variables as boto3 reads them, in a child process each (variables
/// are per process): the one of the endpoint's scheme, lower case first,
/// else `ALL_PROXY`; `NO_PROXY` naming the endpoint, or `no_proxy()`,
/// bypasses the proxy; an `https://` endpoint with an extra CA is tunnelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_variables_are_honoured() {
    // In-process server: the child reads the dev server's keys.
    let t = TestS3::dev().await;
    let server = t.dev_server();
    let (ca, acceptor) = private_pki();
    let https = tls_front(&server.endpoint(), acceptor).await;
    let unused = LoopbackProxy::start().await.unwrap();
    let proxy = LoopbackProxy::start().await.unwrap();

    struct Case {
        name: &'static str,
        endpoint: String,
        ca: bool,
        vars: Vec<(&'static str, String)>,
        no_proxy_setter: bool,
        proxied: bool,
    }
    let (plain, p, u) = (
        server.endpoint(),
        proxy.url().to_owned(),
        unused.url().to_owned(),
    );
    let cases = [
        Case {
            name: "HTTP_PROXY for an http:// endpoint (HTTPS_PROXY unused)",
            endpoint: plain.clone(),
            ca: false,
            vars: vec![("HTTP_PROXY", p.clone()), ("HTTPS_PROXY", u.clone())],
            no_proxy_setter: false,
            proxied: true,
        },
        Case {
            name: "https_proxy (lower case first) with an extra CA",
            endpoint: https.clone(),
            ca: true,
            vars: vec![
                ("https_proxy", p.clone()),
                ("HTTPS_PROXY", u.clone()),
                ("HTTP_PROXY", u.clone()),
            ],
            no_proxy_setter: false,
            proxied: true,
        },
        Case {
            name: "ALL_PROXY as host:port, with an extra CA",
            endpoint: https.clone(),
            ca: true,
            vars: vec![("ALL_PROXY", p.trim_start_matches("http://").to_owned())],
            no_proxy_setter: false,
            proxied: true,
        },
        Case {
            name: "NO_PROXY naming the endpoint",
            endpoint: https.clone(),
            ca: true,
            vars: vec![
                ("HTTPS_PROXY", p.clone()),
                ("NO_PROXY", "localhost,127.0.0.1".into()),
            ],
            no_proxy_setter: false,
            proxied: false,
        },
        Case {
            name: "no_proxy()",
            endpoint: plain.clone(),
            ca: false,
            vars: vec![("HTTP_PROXY", p.clone()), ("ALL_PROXY", p.clone())],
            no_proxy_setter: true,
            proxied: false,
        },
    ];
    for case in cases {
        let before = proxy.requests().len();
        let mut cmd = child_test("s3::proxy::proxy_variables_child");
        cmd.env("MS_UTILS_S3_CHILD_BUCKET", &t.bucket)
            .env("S3_ENDPOINT", &case.endpoint)
            .env("S3_ACCESS_KEY_ID", server.access_key())
            .env("S3_SECRET_ACCESS_KEY", server.secret_key());
        for name in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"] {
            cmd.env_remove(name).env_remove(name.to_ascii_lowercase());
        }
        cmd.env_remove("MS_UTILS_S3_CHILD_CA")
            .env_remove("MS_UTILS_S3_CHILD_NO_PROXY");
        for (name, value) in &case.vars {
            cmd.env(name, value);
        }
        if case.ca {
            cmd.env("MS_UTILS_S3_CHILD_CA", &ca);
        }
        if case.no_proxy_setter {
            cmd.env("MS_UTILS_S3_CHILD_NO_PROXY", "1");
        }
        let out = within_child(cmd).await;
        assert_child_passed(&out);
        let through = proxy.requests().len() > before;
        assert_eq!(
            through,
            case.proxied,
            "{}: {:?}",
            case.name,
            proxy.requests()
        );
    }
    assert_eq!(unused.requests(), Vec::<String>::new());
}

/// Runs the child on the blocking pool, so that this test's runtime keeps
/// serving the proxies and the server meanwhile.
async fn within_child(mut cmd: std::process::Command) -> std::process::Output {
    let child = tokio::task::spawn_blocking(move || cmd.output().unwrap());
    within_for("the child process", Duration::from_secs(120), child)
        .await
        .unwrap()
}
