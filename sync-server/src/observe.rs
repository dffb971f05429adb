//! One span per request and what the metrics count about it, around every route: the route's
//! template from the route table (`/api/v1/turfs/{turf_id}/doors`, never the ids in a path), the
//! method, the status, the latency, and the campaign once the caller is known. Nothing personal and
//! no credential is ever a field. Also the router `serve --metrics-listen` exposes.

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;

use crate::metrics::{RequestLabels, RouteLabels};
use crate::service::Service;

/// Wraps a request in its span, logs one line when it is answered, counts it.
pub async fn track(State(s): State<Service>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = req.method().as_str().to_string();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = %route,
        campaign = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    span.record("status", status);
    span.record("latency_ms", (seconds * 1000.0 * 10.0).round() / 10.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!("answered");
        } else {
            tracing::info!("answered");
        }
    });
    s.metrics.requests.get_or_create(&RequestLabels { method: method.clone(), route: route.clone(), status }).inc();
    s.metrics.request_seconds.get_or_create(&RouteLabels { method, route }).observe(seconds);
    response
}

/// `GET /metrics` in the OpenMetrics text format, for a listener of its own (an operator's port,
/// not the public API's).
pub fn metrics_app(service: Service) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(s): State<Service>| async move {
                let pool = s.store.pool();
                s.metrics.pool(pool.size, pool.in_use, pool.idle);
                (
                    [(axum::http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    s.metrics.render(),
                )
                    .into_response()
            }),
        )
        .with_state(service)
}

/// Logs to standard error as text (default) or JSON lines (`json`), filtered by `RUST_LOG`
/// (default `info`). For `serve`; the other commands print for people, not for log collectors.
pub fn init_logs(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = if format == "json" {
        builder.json().with_current_span(true).with_span_list(false).try_init()
    } else {
        builder.try_init()
    };
}
