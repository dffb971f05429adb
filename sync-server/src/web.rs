//! The dashboard over HTTP: its page and assets (compiled into the server: it works with no other
//! service and no internet), sign-in, live events, and the views it reads. Also the guard every
//! request passes: browsers' cross-site writes are refused (Origin check, CSRF token for cookie
//! sessions), and every answer carries security headers.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::auth;
use crate::dashboard::{MapView, ProgressQuery, ResultsFilter};
use crate::extract::{Caller, StaffCaller, body, client_ip, credential};
use crate::http_error::HttpError;
use crate::service::Service;
use crate::session::{cleared_cookie, cookie_token, session_cookie};

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

/// The dashboard's files. Leaflet 1.9.4 comes from npm (`leaflet`, BSD-2-Clause; see
/// `web/vendor/README.md` for how it was fetched and checked).
const ASSETS: &[Asset] = &[
    Asset { name: "app.js", mime: "text/javascript; charset=utf-8", body: include_bytes!("../web/app.js") },
    Asset { name: "app.css", mime: "text/css; charset=utf-8", body: include_bytes!("../web/app.css") },
    Asset {
        name: "leaflet.js",
        mime: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/vendor/leaflet/leaflet.js"),
    },
    Asset {
        name: "leaflet.css",
        mime: "text/css; charset=utf-8",
        body: include_bytes!("../web/vendor/leaflet/leaflet.css"),
    },
    Asset { name: "icon.svg", mime: "image/svg+xml", body: include_bytes!("../web/icon.svg") },
];

const INDEX: &str = include_str!("../web/index.html");

/// The page's Content-Security-Policy: only our own scripts and styles, connections to this
/// server, images from here (and the tile server when one is set).
fn csp(tile_url: Option<&str>) -> String {
    let tiles = tile_url
        .and_then(|u| {
            let rest = u.split_once("://")?;
            let host = rest.1.split('/').next()?;
            Some(format!(" {}://{}", rest.0, host.replace("{s}", "*")))
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

pub async fn index(State(s): State<Service>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp(s.tile_url.as_deref())),
            (header::CACHE_CONTROL, "no-cache".to_string()),
        ],
        INDEX,
    )
        .into_response()
}

pub async fn asset(Path(file): Path<String>) -> Result<Response, HttpError> {
    let a = ASSETS
        .iter()
        .find(|a| a.name == file)
        .ok_or_else(|| HttpError::not_found(format!("fichier inconnu / no such file {file}")))?;
    Ok(([(header::CONTENT_TYPE, a.mime), (header::CACHE_CONTROL, "no-cache")], a.body).into_response())
}

/// Every request passes here. A write from a browser must come from this server's own page: its
/// `Origin`, when sent, names this host; with the session cookie (and no bearer token) it must
/// carry the session's CSRF token. Every answer gets security headers.
pub async fn guard(State(s): State<Service>, req: Request, next: Next) -> Response {
    // A phone's sync beyond what this process works on at once is told to come back, before any
    // database work (the rate limit's bucket included). A place is taken only once the request is
    // whole (a client sending slowly holds a connection, never a place) and only by a request that
    // carries a credential (one without is refused below without database work): a flood of
    // strangers cannot make this process turn its phones away.
    let (req, _slot) = if crate::admission::Admission::sheds(req.uri().path()) && credential(req.headers()).is_ok() {
        let req = match whole(req).await {
            Ok(req) => req,
            Err(e) => return e.into_response(),
        };
        match s.admission.enter() {
            Ok(slot) => (req, Some(slot)),
            Err(secs) => return busy(secs).into_response(),
        }
    } else {
        (req, None)
    };
    // The bucket is chosen before waiting on it: a request is not `Sync`, so no borrow of it may
    // live across the wait.
    let bucket = rate_bucket(&s, &req);
    if let Err(e) = check_rate(&s, bucket).await {
        return e.into_response();
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // The public sign-up pages read no cookie: a signed-in coordinator's cookie does not make
    // them need a CSRF token (their own form token and the Origin check guard them).
    let public = req.uri().path().starts_with("/p/");
    if !safe && let Err(e) = check_write(req.headers(), public) {
        return e.into_response();
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // (The public sign-up page sets `same-origin`: under `no-referrer` a browser sends its form
    // with `Origin: null`, which the check above refuses.)
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    h.insert(header::HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The caller's bucket `(key, burst, per second)`: its credential's, or its address's when it has
/// none; none for the health check.
fn rate_bucket(s: &Service, req: &Request) -> Option<(String, f64, f64)> {
    if req.uri().path() == "/healthz" {
        return None;
    }
    let l = &s.rate_limits;
    match credential(req.headers()) {
        Ok((token, _)) => Some((format!("t:{}", &auth::hash_secret(token)[..24]), l.token_burst, l.token_per_s)),
        Err(_) => client_ip(s, req.headers(), req.extensions())
            .map(|ip| (format!("ip:{ip}"), l.anonymous_burst, l.anonymous_per_s)),
    }
}

/// How long a phone may take to send one sync request's body.
const BODY_READ_S: u64 = 30;

/// The request with its body read in full (up to the largest a sync route takes; the route's own
/// limit still applies), within [`BODY_READ_S`].
async fn whole(req: Request) -> Result<Request, HttpError> {
    let limit = crate::routes::MAX_BODY_BYTES.max(crate::photo::MAX_PHOTO_BYTES + 1024);
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(std::time::Duration::from_secs(BODY_READ_S), axum::body::to_bytes(body, limit));
    match read.await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Ok(Err(_)) => Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_unreadable",
            "corps de requête illisible ou trop grand / request body unreadable or too large",
        )),
        Err(_) => Err(HttpError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!("corps de requête non reçu en {BODY_READ_S} s / request body not received within {BODY_READ_S} s"),
        )),
    }
}

/// 503 with the wait: this process is at its limit of phone syncs.
fn busy(secs: u64) -> HttpError {
    let mut e = HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        format!("serveur occupé : réessayez dans {secs} s / server busy: try again in {secs} s"),
    );
    e.retry_after_s = Some(secs);
    e
}

/// One request from the caller's bucket; 429 with the wait when it is empty.
async fn check_rate(s: &Service, bucket: Option<(String, f64, f64)>) -> Result<(), HttpError> {
    let wait = match bucket {
        Some((key, burst, per_s)) => s.take_request(&key, burst, per_s).await,
        None => Ok(()),
    };
    wait.map_err(|secs| {
        let mut e = HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("trop de requêtes : réessayez dans {secs} s / too many requests: try again in {secs} s"),
        );
        e.retry_after_s = Some(secs);
        e
    })
}

impl Service {
    /// One request from `key`'s bucket: when several processes share the database (PostgreSQL: a
    /// client's requests reach them all behind a balancer) this process serves its share alone and
    /// reports every [`crate::ratelimit::REPORT_EVERY`]th request with those before to the bucket
    /// they share, which decides that one; else this process's bucket. If the database cannot
    /// answer, this process's share decides (a limit still holds).
    pub(crate) async fn take_request(&self, key: &str, burst: f64, per_s: f64) -> Result<(), u64> {
        use crate::ratelimit::Local;
        if !self.store.shared() {
            return self.rate.take(key, burst, per_s);
        }
        let n = match self.rate.take_share(key, burst, per_s) {
            Local::Granted => return Ok(()),
            Local::Refused(wait) => return Err(wait),
            Local::Ask(n) => n,
        };
        let now = (self.now)();
        match self.store.take_shared(key, burst, per_s, now, n).await {
            Ok(Some((granted, left))) => {
                self.rate.settle(key, n, left);
                if granted { Ok(()) } else { Err(crate::ratelimit::wait_s(left, per_s)) }
            }
            Ok(None) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "shared request limit unavailable; this process's share applies");
                Ok(())
            }
        }
    }
}

fn check_write(headers: &HeaderMap, public: bool) -> Result<(), HttpError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        let from = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest);
        if from != Some(host) {
            return Err(HttpError::forbidden("requête d'un autre site refusée / request from another site refused"));
        }
    }
    if headers.contains_key(header::AUTHORIZATION) || public {
        return Ok(());
    }
    let cookie = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(cookie_token);
    if let Some(token) = cookie {
        let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !auth::same_secret(sent, &auth::csrf_token(token)) {
            return Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "jeton anti-falsification manquant ou invalide : rechargez la page / missing or invalid CSRF token: reload the page",
            ));
        }
    }
    Ok(())
}

pub async fn login(State(s): State<Service>, req: Request) -> Result<Response, HttpError> {
    let ip = client_ip(&s, req.headers(), req.extensions());
    let (token, view) = s.login(body(req).await?, ip).await?;
    Ok(([(header::SET_COOKIE, session_cookie(&token))], Json(view)).into_response())
}

pub async fn session_info(
    State(s): State<Service>,
    Caller(ses): Caller,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let (token, _) = credential(&headers)?;
    Ok(Json(s.session_view(&ses, token).await?).into_response())
}

pub async fn logout(State(s): State<Service>, Caller(ses): Caller) -> Result<Response, HttpError> {
    s.logout(&ses).await?;
    Ok(([(header::SET_COOKIE, cleared_cookie())], StatusCode::NO_CONTENT).into_response())
}

pub async fn set_login(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(user): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    s.set_login(&st, &user, body(req).await?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// How often a live stream checks that its session still stands.
pub const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Server-sent events: `ready` first, then `sync` and `turfs` as they happen within the caller's
/// reach, until the session expires (or after `limit` events).
pub async fn events(
    State(s): State<Service>,
    Caller(ses): Caller,
    StaffCaller(st): StaffCaller,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let limit = match q.get("limit") {
        Some(v) => Some(v.parse::<usize>().map_err(|_| HttpError::bad_request("bad_limit", "limit: a number"))?),
        None => None,
    };
    let left = u64::try_from(ses.device.expires_ms - (s.now)()).unwrap_or(0);
    // The stream ends when the session does: at its expiry, or within a few seconds of a sign-out
    // or a revocation (the token is checked again every few seconds).
    let (svc, token) = (s.clone(), credential(&headers)?.0.to_string());
    let still_valid = async move {
        loop {
            tokio::time::sleep(SESSION_RECHECK).await;
            match svc.authenticate(&token).await {
                Ok(ses) if !ses.revoked => continue,
                _ => break,
            }
        }
    };
    let ended = futures_util::future::select(
        Box::pin(tokio::time::sleep(std::time::Duration::from_millis(left))),
        Box::pin(still_valid),
    );
    let ready = futures_util::stream::once(async { Event::default().event("ready").data("{}") });
    let live = s
        .watch(st)
        .map(|e| Event::default().event(e.kind).json_data(&e).unwrap_or_else(|_| Event::default().event("lagged")));
    let stream = ready.chain(live).take(limit.unwrap_or(usize::MAX)).take_until(ended).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

pub async fn map_streets(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<MapView>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let view = map_view(q)?;
    if view.level.is_some() || view.turf.is_some() {
        return Err(HttpError::bad_request("bad_viewport", "south, west, north, east seulement / only"));
    }
    Ok(Json(s.map_streets(&st, &view).await?).into_response())
}

pub async fn map_buildings(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<MapView>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let view = map_view(q)?;
    if view.level.is_some() {
        return Err(HttpError::bad_request("bad_viewport", "level : carrés seulement / cells only"));
    }
    Ok(Json(s.map_buildings(&st, &view).await?).into_response())
}

pub async fn map_cells(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<MapView>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let view = map_view(q)?;
    if view.turf.is_some() {
        return Err(HttpError::bad_request("bad_viewport", "turf : adresses seulement / buildings only"));
    }
    Ok(Json(s.map_cells(&st, view.level.unwrap_or(0), &view).await?).into_response())
}

fn map_view(q: Result<Query<MapView>, axum::extract::rejection::QueryRejection>) -> Result<MapView, HttpError> {
    q.map(|Query(v)| v).map_err(|e| HttpError::bad_request("bad_viewport", e.body_text()))
}

pub async fn progress(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<ProgressQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let q = q.map(|Query(q)| q).map_err(|e| HttpError::bad_request("bad_query", e.body_text()))?;
    Ok(Json(s.progress_of(&st, &q).await?).into_response())
}

fn filter(
    q: Result<Query<ResultsFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<ResultsFilter, HttpError> {
    q.map(|Query(f)| f).map_err(|e| HttpError::bad_request("bad_filter", e.body_text()))
}

pub async fn results(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<ResultsFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    Ok(Json(s.results(&st, &filter(q)?).await?).into_response())
}

pub async fn results_csv(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<ResultsFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let f = filter(q)?;
    let csv = s.results_csv(&st, &f).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"resultats.csv\""),
        ],
        csv,
    )
        .into_response())
}

pub async fn audit(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    q: Result<Query<crate::audit::AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let q = q.map(|Query(q)| q).map_err(|e| HttpError::bad_request("bad_query", e.body_text()))?;
    Ok(Json(s.audit_log(&st, &q).await?).into_response())
}

pub async fn review_overlap(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(report): Path<String>,
) -> Result<Response, HttpError> {
    Ok(Json(s.review_overlap(&st, &report).await?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_allows_only_this_server_and_the_tiles() {
        let c = csp(None);
        assert!(c.contains("script-src 'self';") && !c.contains("unsafe"), "{c}");
        let c = csp(Some("https://{s}.tile.example.org/{z}/{x}/{y}.png"));
        assert!(c.contains("img-src 'self' data: https://*.tile.example.org;"), "{c}");
    }

    #[test]
    fn vendored_leaflet_is_npm_s() {
        use sha2::{Digest, Sha256};
        let hex = |b: &[u8]| Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect::<String>();
        let body = |n: &str| ASSETS.iter().find(|a| a.name == n).unwrap().body;
        assert_eq!(hex(body("leaflet.js")), "db49d009c841f5ca34a888c96511ae936fd9f5533e90d8b2c4d57596f4e5641a");
        assert_eq!(hex(body("leaflet.css")), "a7837102824184820dfa198d1ebcd109ff6d0ff9a2672a074b9a1b4d147d04c6");
    }
}
