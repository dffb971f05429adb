//! HTTP API. Every route is declared once in [`ROUTES`] with the access it requires; the router,
//! the OpenAPI document and the access-matrix test are all built from that table.

use std::collections::HashMap;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post, put};
use axum::{Json, Router};
use doorstep_protocol::{JoinRequest, PullRequest, PushRequest};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

pub use crate::extract::{Access, ApiJson};
use crate::extract::{Caller, RouteAccess, StaffCaller, body};
use crate::http_error::HttpError;
pub use crate::routes::{
    ExportRow, HeldReview, MAX_BODY_BYTES, MAX_IMPORT_BYTES, Membership, ROUTES, Revoked, RouteSpec, ScriptVersion,
    body_limit, method_of,
};
use crate::service::Service;
use crate::web;

fn handler(spec: &RouteSpec) -> MethodRouter<Service> {
    match (spec.method, spec.path) {
        ("GET", "/healthz") => get(|| async { "ok" }),
        ("GET", "/openapi.json") => get(|| async { Json(openapi()) }),
        ("GET", "/") => get(web::index),
        ("GET", "/assets/{file}") => get(web::asset),
        ("POST", "/api/v1/session") => post(web::login),
        ("GET", "/api/v1/session") => get(web::session_info),
        ("DELETE", "/api/v1/session") => delete(web::logout),
        ("PUT", "/api/v1/users/{user_id}/login") => put(web::set_login),
        ("GET", "/api/v1/events") => get(web::events),
        ("GET", "/api/v1/map/streets") => get(web::map_streets),
        ("GET", "/api/v1/map/buildings") => get(web::map_buildings),
        ("GET", "/api/v1/map/cells") => get(web::map_cells),
        ("GET", "/api/v1/progress") => get(web::progress),
        ("GET", "/api/v1/results") => get(web::results),
        ("GET", "/api/v1/results.csv") => get(web::results_csv),
        ("POST", "/api/v1/overlaps/{report_id}/review") => post(web::review_overlap),
        ("GET", "/api/v1/audit") => get(web::audit),
        ("POST", "/api/v1/join") => post(join),
        ("POST", "/api/v1/sync/push") => post(push),
        ("POST", "/api/v1/sync/pull") => post(pull),
        ("GET", "/api/v1/sync/sessions") => get(volunteer_sessions),
        ("POST", "/api/v1/sync/signups") => post(push_signups),
        ("POST", "/api/v1/sync/messages") => post(push_messages),
        ("POST", "/api/v1/sync/feed") => post(phone_feed),
        ("POST", "/api/v1/sync/feed/wait") => post(wait_feed),
        ("POST", "/api/v1/messages/feed") => post(staff_feed),
        ("POST", "/api/v1/messages") => post(staff_message),
        ("GET", "/api/v1/sync/people") => get(crate::pages_http::people_view),
        ("POST", "/api/v1/sync/people") => post(crate::pages_http::push_people),
        ("GET", "/api/v1/sync/people/{user_id}") => get(crate::pages_http::phone_page),
        ("GET", "/api/v1/sync/people/{user_id}/photo") => get(crate::pages_http::phone_photo),
        ("PUT", "/api/v1/sync/me/photo") => put(crate::pages_http::set_photo),
        ("DELETE", "/api/v1/sync/me/photo") => delete(crate::pages_http::remove_photo),
        ("GET", "/api/v1/sync/me/export") => get(crate::pages_http::export_mine),
        ("POST", "/api/v1/sync/me/delete") => post(crate::pages_http::delete_me),
        ("GET", "/api/v1/people/{user_id}") => get(crate::pages_http::staff_page),
        ("GET", "/api/v1/people/{user_id}/photo") => get(crate::pages_http::staff_photo),
        ("GET", "/api/v1/people/{user_id}/export") => get(crate::pages_http::staff_export),
        ("GET", "/api/v1/sms/settings") => get(crate::sms_http::settings),
        ("PUT", "/api/v1/sms/settings") => put(crate::sms_http::set_settings),
        ("POST", "/api/v1/sms/consents") => post(crate::sms_http::import_consents),
        ("POST", "/api/v1/sms/preview") => post(crate::sms_http::preview),
        ("POST", "/api/v1/sms/send") => post(crate::sms_http::send),
        ("GET", "/api/v1/sms/inbox") => get(crate::sms_http::inbox),
        ("GET", "/api/v1/sms/optouts") => get(crate::sms_http::optouts),
        ("GET", "/api/v1/sms/provider") => get(crate::sms_http::provider),
        ("PUT", "/api/v1/sms/provider") => put(crate::sms_http::set_provider),
        ("GET", "/api/v1/sms/outbox") => get(crate::sms_http::outbox),
        ("PUT", "/api/v1/sms/inbox/{id}") => put(crate::sms_http::set_inbox_state),
        ("GET", "/api/v1/sms/expenses") => get(crate::sms_http::expenses),
        ("POST", "/api/v1/sms/hooks/twilio/{campaign_id}") => post(crate::sms_http::twilio_hook),
        ("GET", "/api/v1/sync/keys") => get(campaign_keys),
        ("GET", "/api/v1/sync/reminders") => get(app_reminders),
        ("GET", "/api/v1/turfs/{turf_id}/sheet.pdf") => get(walk_sheet),
        ("POST", "/api/v1/turfs/{turf_id}/paper") => post(type_paper),
        ("GET", "/p/{session_id}") => get(public_page),
        ("POST", "/p/{session_id}") => post(public_signup),
        ("GET", "/api/v1/sessions/{session_id}/calendar.ics") => get(session_calendar),
        ("POST", "/api/v1/sync/grants") => post(grant),
        ("POST", "/api/v1/sync/handoffs") => post(push_handoffs),
        ("POST", "/api/v1/me/phone") => post(phone_code),
        ("GET", "/api/v1/sessions") => get(sessions),
        ("POST", "/api/v1/sessions") => post(create_session),
        ("PUT", "/api/v1/sessions/{session_id}") => put(edit_session),
        ("POST", "/api/v1/sync/wiped") => post(wiped),
        ("GET", "/api/v1/held") => get(held),
        ("POST", "/api/v1/held/{report_id}/review") => post(review_held),
        ("GET", "/api/v1/me") => get(me),
        ("POST", "/api/v1/campaigns") => post(create_campaign),
        ("GET", "/api/v1/campaign") => get(campaign),
        ("PUT", "/api/v1/campaign/script") => put(update_script),
        ("POST", "/api/v1/import/addresses.csv") => post(import_csv),
        ("POST", "/api/v1/import/addresses.geojson") => post(import_geojson),
        ("POST", "/api/v1/import/streets.geojson") => post(import_streets),
        ("POST", "/api/v1/import/streets") => post(import_streets),
        ("POST", "/api/v1/turfs/cut") => post(cut_turfs),
        ("POST", "/api/v1/import/results.csv") => post(import_results),
        ("POST", "/api/v1/import/stations.geojson") => post(import_stations),
        ("GET", "/api/v1/targeting") => get(targeting),
        ("PUT", "/api/v1/targeting") => put(set_targeting),
        ("GET", "/api/v1/stations") => get(stations),
        ("GET", "/api/v1/stations.geojson") => get(stations_geojson),
        ("GET", "/api/v1/turfs/ranking") => get(turf_ranking),
        ("GET", "/api/v1/turfs") => get(turfs),
        ("GET", "/api/v1/turfs/{turf_id}/doors") => get(turf_doors),
        ("POST", "/api/v1/turfs/{turf_id}/assign") => post(assign),
        ("POST", "/api/v1/turfs/{turf_id}/return") => post(return_turf),
        ("PUT", "/api/v1/turfs/{turf_id}/team") => put(turf_team),
        ("POST", "/api/v1/reassign") => post(reassign),
        ("GET", "/api/v1/teams") => get(teams),
        ("POST", "/api/v1/teams") => post(create_team),
        ("POST", "/api/v1/teams/{team_id}/members") => post(add_member),
        ("GET", "/api/v1/users") => get(users),
        ("POST", "/api/v1/invitations") => post(invite),
        ("POST", "/api/v1/devices/{device_id}/revoke") => post(revoke),
        ("GET", "/api/v1/overlaps") => get(overlaps),
        ("GET", "/api/v1/export/reports.json") => get(export_json),
        ("GET", "/api/v1/export/reports.csv") => get(export_csv),
        (m, p) => unreachable!("route {m} {p} has no handler"),
    }
}

pub fn app(service: Service) -> Router {
    let mut router = Router::new();
    for spec in ROUTES {
        router = router.route(
            spec.path,
            handler(spec)
                .layer::<_, std::convert::Infallible>(axum::Extension(RouteAccess(spec.access)))
                .layer(RequestBodyLimitLayer::new(body_limit(spec))),
        );
    }
    router
        .fallback(|| async { HttpError::not_found("no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(service.clone(), web::guard))
        .layer(axum::middleware::from_fn_with_state(service.clone(), crate::observe::track))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(CompressionLayer::new().gzip(true))
        .with_state(service)
}

async fn me(State(s): State<Service>, Caller(session): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.me(&session).await?))
}

async fn create_campaign(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok((StatusCode::CREATED, Json(s.create_campaign_for(&st, body(req).await?).await?)))
}

async fn campaign(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.campaign_of(&st).await?))
}

async fn update_script(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let version = s.update_script(&st, body(req).await?).await?;
    Ok(Json(ScriptVersion { version }))
}

async fn import_file(
    st: crate::model::Staff,
    s: Service,
    query: HashMap<String, String>,
    req: Request,
    geojson: bool,
) -> Result<axum::response::Response, HttpError> {
    let bytes = import_bytes(req).await?;
    let r = s.import_file(&st, &bytes, geojson, query).await?;
    Ok(Json(r).into_response())
}

async fn import_csv(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    import_file(st, s, q, req, false).await
}

async fn import_geojson(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    import_file(st, s, q, req, true).await
}

/// A whole import file, or a clear 413.
async fn import_bytes(req: Request) -> Result<bytes::Bytes, HttpError> {
    axum::body::to_bytes(req.into_body(), MAX_IMPORT_BYTES).await.map_err(|_| {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("import files are limited to {MAX_IMPORT_BYTES} bytes"),
        )
    })
}

async fn import_streets(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let bytes = import_bytes(req).await?;
    let r = s.import_streets(&st, &bytes).await?;
    Ok(Json(r))
}

async fn import_results(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let bytes = import_bytes(req).await?;
    let r = s.import_results(&st, &bytes, q).await?;
    Ok(Json(r))
}

async fn import_stations(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let bytes = import_bytes(req).await?;
    let r = s.import_stations(&st, &bytes, q).await?;
    Ok(Json(r))
}

async fn targeting(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.targeting(&st).await?))
}

async fn set_targeting(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.set_targeting(&st, body(req).await?).await?))
}

async fn stations(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.stations(&st).await?))
}

async fn stations_geojson(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
) -> Result<impl IntoResponse, HttpError> {
    Ok(([(axum::http::header::CONTENT_TYPE, "application/geo+json")], Json(s.stations_geojson(&st).await?)))
}

async fn turf_ranking(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.turf_ranking(&st).await?))
}

async fn cut_turfs(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let r = s.cut_turfs(&st, body(req).await?).await?;
    Ok(Json(r))
}

async fn turfs(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.turfs(&st).await?))
}

async fn turf_doors(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(turf): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.turf_doors(&st, &turf).await?))
}

async fn assign(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(turf): Path<String>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.assign(&st, &turf, body(req).await?).await?))
}

async fn return_turf(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(turf): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.return_turf(&st, &turf).await?))
}

async fn turf_team(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(turf): Path<String>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.set_turf_team(&st, &turf, body(req).await?).await?))
}

async fn reassign(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.reassign(&st, body(req).await?).await?))
}

async fn teams(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.teams(&st).await?))
}

async fn create_team(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok((StatusCode::CREATED, Json(s.create_team(&st, body(req).await?).await?)))
}

async fn add_member(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(team): Path<String>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let role = s.add_member(&st, &team, body(req).await?).await?;
    Ok(Json(Membership { team_id: team, role }))
}

async fn users(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.users(&st).await?))
}

async fn invite(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    headers: HeaderMap,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let mut r = s.invite(&st, body(req).await?).await?;
    // The QR code names this server as the caller reached it (HTTPS unless on this machine).
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    if let Some(code) = &r.join_code {
        let server = host.map(|host| {
            let local = host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
            format!("{}://{host}", if local { "http" } else { "https" })
        });
        r.qr_svg = crate::people::qr_svg(&crate::people::join_link(code, server.as_deref()));
    }
    Ok((StatusCode::CREATED, Json(r)))
}

async fn revoke(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(device): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    let was_live = s.revoke(&st, &device).await?;
    Ok(Json(Revoked { device_id: device, revoked: was_live }))
}

async fn overlaps(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.overlap_views(&st).await?))
}

async fn join(State(s): State<Service>, ApiJson(req): ApiJson<JoinRequest>) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.join(req).await?))
}

async fn push(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    // Authenticate before reading the body: an anonymous caller learns nothing about its shape.
    let ApiJson(req) = ApiJson::<PushRequest>::from_request(body, &()).await?;
    Ok(Json(s.push(&session, req).await?))
}

async fn volunteer_sessions(State(s): State<Service>, Caller(session): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.volunteer_sessions(&session).await?))
}

async fn push_signups(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::SignupPush>::from_request(body, &()).await?;
    Ok(Json(s.push_signups(&session, req).await?))
}

async fn push_messages(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::MessagePush>::from_request(body, &()).await?;
    Ok(Json(s.push_messages(&session, req).await?))
}

async fn phone_feed(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::MessageSince>::from_request(body, &()).await?;
    Ok(Json(s.phone_feed(&session, req).await?))
}

async fn wait_feed(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::MessageWait>::from_request(body, &()).await?;
    Ok(Json(s.wait_feed(&session, req).await?))
}

async fn staff_feed(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.staff_feed(&st, body(req).await?).await?))
}

async fn staff_message(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok((StatusCode::CREATED, Json(s.staff_message(&st, body(req).await?).await?)))
}

async fn session_calendar(
    State(s): State<Service>,
    Caller(session): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    let ics = s.session_calendar(&session, &id).await?;
    let name = format!(
        "attachment; filename=\"seance-{}.ics\"",
        id.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        ics,
    ))
}

async fn walk_sheet(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(turf): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    let pdf = s.walk_sheet(&st, &turf).await?;
    let name = format!(
        "attachment; filename=\"porte-a-porte-{}.pdf\"",
        turf.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_")
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/pdf".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, name),
        ],
        pdf,
    ))
}

async fn type_paper(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(turf): Path<String>,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<crate::paper::PaperRequest>::from_request(body, &()).await?;
    Ok(Json(s.type_paper(&st, &turf, req).await?))
}

async fn app_reminders(State(s): State<Service>, Caller(session): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.app_reminders(&session).await?))
}

/// The public page's headers: HTML with no script at all, its own inline style only.
fn public_html(status: axum::http::StatusCode, html: String) -> axum::response::Response {
    (
        status,
        [
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            ),
            // Its form is sent with its origin (the write guard checks it); nothing leaves for other sites.
            (axum::http::header::REFERRER_POLICY, "same-origin"),
        ],
        html,
    )
        .into_response()
}

async fn public_page(State(s): State<Service>, Path(id): Path<String>) -> Result<impl IntoResponse, HttpError> {
    let (status, html) = s.public_page(&id).await?;
    Ok(public_html(status, html))
}

async fn public_signup(
    State(s): State<Service>,
    Path(id): Path<String>,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let client = crate::extract::client_ip(&s, body.headers(), body.extensions());
    let axum::Form(form) = axum::Form::<crate::public::PublicForm>::from_request(body, &())
        .await
        .map_err(|e| HttpError::new(e.status(), "bad_form", e.body_text()))?;
    let (status, html) = s.public_signup(&id, form, client).await?;
    Ok(public_html(status, html))
}

async fn campaign_keys(State(s): State<Service>, Caller(session): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.campaign_keys(&session).await?))
}

async fn grant(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::GrantRequest>::from_request(body, &()).await?;
    Ok(Json(s.grant(&session, req).await?))
}

async fn push_handoffs(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::HandoffPush>::from_request(body, &()).await?;
    Ok(Json(s.push_handoffs(&session, req).await?))
}

async fn phone_code(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok((StatusCode::CREATED, Json(s.phone_code(&st).await?)))
}

async fn sessions(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sessions(&st).await?))
}

async fn create_session(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok((StatusCode::CREATED, Json(s.create_session(&st, body(req).await?).await?)))
}

async fn edit_session(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(id): Path<String>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.edit_session(&st, &id, body(req).await?).await?))
}

async fn pull(
    State(s): State<Service>,
    Caller(session): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<PullRequest>::from_request(body, &()).await?;
    Ok(Json(s.pull(&session, req).await?))
}

async fn wiped(State(s): State<Service>, Caller(session): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.wiped(&session).await?))
}

async fn held(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.held_in_scope(&st).await?))
}

async fn review_held(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(report_id): Path<String>,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(r) = ApiJson::<HeldReview>::from_request(body, &()).await?;
    Ok(Json(s.review_held(&st, &report_id, r.accept).await?))
}

async fn export_json(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    let reports = s.export_reports(&st, "json").await?;
    let rows: Vec<ExportRow> =
        reports.into_iter().map(|r| ExportRow { report: r.report, overlap: r.overlap }).collect();
    Ok(Json(rows))
}

async fn export_csv(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    let reports = s.export_reports(&st, "csv").await?;
    let out = crate::exports::reports_csv(&reports);
    Ok(([(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")], out))
}

/// The API as OpenAPI 3.1, every body included: see [`crate::openapi`].
pub fn openapi() -> serde_json::Value {
    crate::openapi::document()
}
