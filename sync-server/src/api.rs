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
use crate::store::Role;

/// Largest request body (a push of 500 reports with long notes fits in well under 4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// A volunteer's device token.
    Device,
    /// A coordinator's token (the whole campaign).
    Coordinator,
}

impl Access {
    /// Whether a token of this role may call a route with this access.
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Public => true,
            Access::Device => role == Role::Volunteer,
            Access::Coordinator => role == Role::Coordinator,
        }
    }
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
    RouteSpec {
        method: "GET",
        path: "/api/v1/export/reports.json",
        access: Access::Coordinator,
        summary: "every report of the campaign, with its overlap flag",
    },
    RouteSpec {
        method: "GET",
        path: "/api/v1/export/reports.csv",
        access: Access::Coordinator,
        summary: "every report of the campaign, one row each, VAN-style columns",
    },
];

fn handler(spec: &RouteSpec) -> MethodRouter<Service> {
    match spec.path {
        "/healthz" => get(|| async { "ok" }),
        "/openapi.json" => get(|| async { Json(openapi()) }),
        "/api/v1/join" => post(join),
        "/api/v1/sync/push" => post(push),
        "/api/v1/sync/pull" => post(pull),
        "/api/v1/export/reports.json" => get(export_json),
        "/api/v1/export/reports.csv" => get(export_csv),
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

/// Authenticates the bearer token and checks the route's access against the token's role.
async fn session(service: &Service, headers: &HeaderMap, access: Access) -> Result<DeviceSession, AppError> {
    let s = device_session(service, headers).await?;
    if !access.admits(s.role) {
        return Err(AppError::forbidden(format!("a {} may not do this", s.role.as_str())));
    }
    Ok(s)
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
    let session = session(&s, &headers, Access::Device).await?;
    let ApiJson(req) = ApiJson::<PushRequest>::from_request(body, &()).await?;
    Ok(Json(s.push(&session, req).await?))
}

async fn pull(State(s): State<Service>, headers: HeaderMap, body: Request) -> Result<impl IntoResponse, AppError> {
    let session = session(&s, &headers, Access::Device).await?;
    let ApiJson(req) = ApiJson::<PullRequest>::from_request(body, &()).await?;
    Ok(Json(s.pull(&session, req).await?))
}

async fn export_json(State(s): State<Service>, headers: HeaderMap) -> Result<impl IntoResponse, AppError> {
    let session = session(&s, &headers, Access::Coordinator).await?;
    let rows: Vec<serde_json::Value> = s
        .export(&session)
        .await?
        .into_iter()
        .map(|r| serde_json::json!({"report": r.report, "overlap": r.overlap}))
        .collect();
    Ok(Json(rows))
}

/// One row per report. Columns follow a VAN contact-history export where one exists (`Date
/// Canvassed`, `Result`, `Contact Type`, `Canvassed By`, `Input Type Name`), then Doorstep's own.
pub const CSV_COLUMNS: &[&str] = &[
    "Report ID",
    "Date Canvassed",
    "Result",
    "Contact Type",
    "Canvassed By",
    "Input Type Name",
    "Turf",
    "Target Type",
    "Target ID",
    "Survey Responses",
    "Note",
    "Supersedes",
    "Overlap",
    "Plausibility",
    "Device",
];

fn csv_field(s: &str) -> String {
    // Quote everything; neutralise spreadsheet formulas (CSV injection).
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn export_csv(State(s): State<Service>, headers: HeaderMap) -> Result<impl IntoResponse, AppError> {
    let session = session(&s, &headers, Access::Coordinator).await?;
    let mut out = CSV_COLUMNS.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for r in s.export(&session).await? {
        let k = &r.report;
        let date = chrono_like(k.hlc.millis);
        let answers = k
            .answers
            .iter()
            .map(|a| format!("{}={}", a.question_id, serde_json::to_string(&a.value).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; ");
        let plaus = k.plausibility.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>().join(" ");
        let row = [
            k.id.as_str(),
            &date,
            &k.result_code,
            "Walk",
            &k.volunteer_id,
            "Doorstep",
            &k.turf_id,
            k.target.kind(),
            k.target.id(),
            &answers,
            k.note.as_deref().unwrap_or(""),
            k.supersedes.as_deref().unwrap_or(""),
            if r.overlap { "yes" } else { "no" },
            &plaus,
            &k.device_id,
        ];
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], out))
}

/// `YYYY-MM-DD HH:MM:SS` UTC from ms since the epoch (the report's hybrid logical clock).
fn chrono_like(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
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
        if r.access != Access::Public {
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
