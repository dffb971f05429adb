//! HTTP handlers of SMS (issue 19). The routes and their access are in [`crate::routes::ROUTES`].

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
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
