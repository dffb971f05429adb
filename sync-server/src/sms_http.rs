//! HTTP handlers of SMS (issue 19). The routes and their access are in [`crate::routes::ROUTES`].

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use crate::extract::{StaffCaller, body};
use crate::http_error::HttpError;
use crate::service::Service;

pub async fn settings(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sms_settings(&st).await?))
}

pub async fn set_settings(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.set_sms_settings(&st, body(req).await?).await?))
}

pub async fn import_consents(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let n = s.import_consents(&st, body(req).await?).await?;
    Ok(Json(serde_json::json!({ "recorded": n })))
}

pub async fn preview(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sms_preview(&st, body(req).await?).await?))
}

pub async fn send(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok((StatusCode::ACCEPTED, Json(s.sms_send(&st, body(req).await?).await?)))
}

pub async fn inbox(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sms_inbox(&st).await?))
}

pub async fn optouts(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sms_optouts(&st).await?))
}

pub async fn provider(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sms_provider_view(&st).await?))
}

pub async fn set_provider(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.set_sms_provider(&st, body(req).await?).await?))
}

pub async fn outbox(State(s): State<Service>, StaffCaller(st): StaffCaller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.sms_outbox_view(&st).await?))
}

#[derive(serde::Deserialize)]
struct StateBody {
    state: crate::sms::InboxState,
}

pub async fn set_inbox_state(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(id): Path<String>,
    req: Request,
) -> Result<impl IntoResponse, HttpError> {
    let b: StateBody = body(req).await?;
    s.set_inbox_state(&st, &id, b.state).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
pub struct Format {
    #[serde(default)]
    format: Option<String>,
}

pub async fn expenses(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Query(f): Query<Format>,
) -> Result<axum::response::Response, HttpError> {
    let lines = s.sms_expenses(&st).await?;
    if f.format.as_deref() != Some("csv") {
        return Ok(Json(lines).into_response());
    }
    // French spreadsheets: semicolons, a decimal comma, euros.
    let mut csv = String::from("jour;fournisseur;sms;segments;incertains;montant_eur\n");
    for l in &lines {
        let euros = format!("{:.4}", l.cost_millicents as f64 / 100_000.0).replace('.', ",");
        csv.push_str(&format!("{};{};{};{};{};{}\n", l.day, l.provider, l.texts, l.segments, l.uncertain, euros));
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (axum::http::header::CONTENT_DISPOSITION, "attachment; filename=\"depenses-sms.csv\""),
        ],
        csv,
    )
        .into_response())
}

/// Twilio posts a form; its signature is checked before anything is read into the campaign.
pub async fn twilio_hook(
    State(s): State<Service>,
    Path(campaign): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, HttpError> {
    let signature = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    s.twilio_hook(&campaign, signature, &form).await?;
    Ok(StatusCode::NO_CONTENT)
}
