//! HTTP API. Every route is declared once in [`ROUTES`] with the access it requires; the router,
//! the OpenAPI document and the access-matrix test are all built from that table.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use doorstep_protocol::{JoinRequest, PullRequest, PushRequest};
use serde::de::DeserializeOwned;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::error::AppError;
use crate::service::{DeviceSession, Service};

/// Largest request body (a push of 500 reports with long notes fits in well under 4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// A device token (volunteer's phone).
    Device,
}

#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
}

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec { method: "GET", path: "/healthz", access: Access::Public, summary: "liveness" },
    RouteSpec { method: "GET", path: "/openapi.json", access: Access::Public, summary: "this API, as OpenAPI 3.1" },
    RouteSpec {
        method: "POST",
        path: "/api/v1/join",
        access: Access::Public,
        summary: "redeem a one-time join code for a device token",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/push",
        access: Access::Device,
        summary: "push knock reports; per-item accepted / duplicate / rejected",
    },
    RouteSpec {
        method: "POST",
        path: "/api/v1/sync/pull",
        access: Access::Device,
        summary: "pull the volunteer's turfs: buckets, removed, wipe",
    },
];

fn handler(spec: &RouteSpec) -> MethodRouter<Service> {
    match spec.path {
        "/healthz" => get(|| async { "ok" }),
        "/openapi.json" => get(|| async { Json(openapi()) }),
        "/api/v1/join" => post(join),
        "/api/v1/sync/push" => post(push),
        "/api/v1/sync/pull" => post(pull),
        other => unreachable!("route {other} has no handler"),
    }
}

pub fn app(service: Service) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        router = router.route(spec.path, handler(spec));
    }
    router
        .fallback(|| async { AppError::not_found("no such endpoint") })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(CompressionLayer::new().gzip(true))
        .with_state(service)
}

/// JSON body whose every rejection (syntax, missing or unknown field, wrong type, too large) is an
/// [`AppError`] with a machine-readable code.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => {
                let status = rej.status();
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "not_json",
                    _ => "malformed_body",
                };
                Err(AppError::new(status, code, rej.body_text()))
            }
        }
    }
}

async fn device_session(service: &Service, headers: &HeaderMap) -> Result<DeviceSession, AppError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::unauthorized("missing_token", "Authorization: Bearer <device token> required"))?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| AppError::unauthorized("missing_token", "Authorization must be a Bearer token"))?;
    service.authenticate(token.trim()).await
}

async fn join(State(s): State<Service>, ApiJson(req): ApiJson<JoinRequest>) -> Result<impl IntoResponse, AppError> {
    Ok(Json(s.join(req).await?))
}

async fn push(State(s): State<Service>, headers: HeaderMap, body: Request) -> Result<impl IntoResponse, AppError> {
    // Authenticate before reading the body: an anonymous caller learns nothing about its shape.
    let session = device_session(&s, &headers).await?;
    let ApiJson(req) = ApiJson::<PushRequest>::from_request(body, &()).await?;
    Ok(Json(s.push(&session, req).await?))
}

async fn pull(State(s): State<Service>, headers: HeaderMap, body: Request) -> Result<impl IntoResponse, AppError> {
    let session = device_session(&s, &headers).await?;
    let ApiJson(req) = ApiJson::<PullRequest>::from_request(body, &()).await?;
    Ok(Json(s.pull(&session, req).await?))
}

/// The OpenAPI document, built from [`ROUTES`]. Message schemas are described in docs/protocol.md.
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let mut op = serde_json::json!({
            "summary": r.summary,
            "responses": {
                "200": {"description": "success"},
                "4XX": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}
            }
        });
        if r.access == Access::Device {
            op["security"] = serde_json::json!([{"deviceToken": []}]);
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| serde_json::json!({}));
        entry[r.method.to_lowercase()] = op;
    }
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "Doorstep sync API", "version": doorstep_protocol::PROTOCOL_VERSION.to_string()},
        "paths": paths,
        "components": {
            "securitySchemes": {"deviceToken": {"type": "http", "scheme": "bearer"}},
            "schemas": {"ApiError": {"type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}
        }
    })
}

/// The method of a spec as an `http::Method`.
pub fn method_of(spec: &RouteSpec) -> Method {
    Method::from_bytes(spec.method.as_bytes()).expect("valid method")
}
