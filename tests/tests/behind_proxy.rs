//! Behind a balancer (issue 21): every connection comes from the balancer's address, so the
//! per-address limits (anonymous requests, sign-in lockouts) must count the client the balancer
//! names in `X-Forwarded-For` — and only when the server was told to trust that balancer
//! (`serve --trusted-proxy`): otherwise anyone could write the header and pick whose bucket their
//! requests drain, or escape their own.

use std::sync::Arc;

use doorstep_server::service::Service;
use doorstep_server::store::ServerStore;
use serde_json::json;

async fn server(trusted: Vec<std::net::IpAddr>) -> String {
    let dir = tempfile::tempdir().unwrap().keep();
    let store: Arc<dyn ServerStore> =
        Arc::new(doorstep_server::store::sqlite::SqliteStore::open(dir.join("server.db")).unwrap());
    let mut service = Service::new(store.clone());
    service.rate_limits = doorstep_server::ratelimit::RateLimits {
        token_burst: 100.0,
        token_per_s: 100.0,
        anonymous_burst: 8.0,
        anonymous_per_s: 0.01,
    };
    service.trusted_proxies = trusted;
    doorstep_server::demo::seed(&service, &store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = doorstep_server::api::app(service).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn page(base: &str, forwarded_for: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}/"))
        .header("X-Forwarded-For", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_balancer_names_the_client_and_an_untrusted_header_is_ignored() {
    doorstep_core::sync::http::HttpTransport::new("http://127.0.0.1:9", None).unwrap();
    let behind = server(vec!["127.0.0.1".parse().unwrap()]).await;
    let mut a = Vec::new();
    for _ in 0..9 {
        a.push(page(&behind, "203.0.113.7").await);
    }
    assert_eq!(
        a,
        [200, 200, 200, 200, 200, 200, 200, 200, 429],
        "one client's eight, by the address the balancer names"
    );
    assert_eq!(page(&behind, "198.51.100.2").await, 200, "another client behind the same balancer has its own");
    // The nearest untrusted hop counts: a client cannot prepend an address of its choosing.
    assert_eq!(page(&behind, "192.0.2.99, 203.0.113.7").await, 429);

    // Sign-in failures lock one client's address out, not everyone's behind the balancer.
    let http = reqwest::Client::new();
    let sign_in = |from: &'static str| {
        http.post(format!("{behind}/api/v1/session"))
            .header("X-Forwarded-For", from)
            .json(&json!({ "login": "coordinatrice", "password": "pas le bon mot de passe" }))
            .send()
    };
    let mut codes = Vec::new();
    for _ in 0..6 {
        let r = sign_in("192.0.2.50").await.unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        codes.push(body["code"].as_str().unwrap_or("").to_string());
    }
    assert_eq!(codes[..5], ["bad_login"; 5], "{codes:?}");
    assert_eq!(codes[5], "too_many_attempts", "five failures lock that client out: {codes:?}");
    let other = sign_in("198.51.100.2").await.unwrap();
    let body: serde_json::Value = other.json().await.unwrap();
    assert_eq!(body["code"], "bad_login", "another client behind the balancer is not locked out");

    // Without --trusted-proxy the header changes nothing: one address, one bucket.
    let direct = server(vec![]).await;
    let mut d = Vec::new();
    for i in 0..9 {
        d.push(page(&direct, &format!("203.0.113.{i}")).await);
    }
    assert_eq!(d, [200, 200, 200, 200, 200, 200, 200, 200, 429], "a written header does not make new buckets");
}
