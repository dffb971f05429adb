//! HTTP handlers of the team's people (issue 18): pages, photos, people events, a volunteer's
//! export and deletion. The routes and their access are in [`crate::routes::ROUTES`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header;
use axum::response::IntoResponse;

use crate::extract::{ApiJson, Caller, StaffCaller};
use crate::http_error::HttpError;
use crate::service::Service;

fn jpeg(bytes: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, max-age=300")], bytes)
}

fn attachment(doc: serde_json::Value) -> impl IntoResponse {
    ([(header::CONTENT_DISPOSITION, "attachment; filename=\"mes-donnees-doorstep.json\"")], Json(doc))
}

pub async fn people_view(State(s): State<Service>, Caller(dev): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.people_view(&dev).await?))
}

pub async fn push_people(
    State(s): State<Service>,
    Caller(dev): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<doorstep_protocol::PeoplePush>::from_request(body, &()).await?;
    Ok(Json(s.push_people(&dev, req).await?))
}

pub async fn phone_page(
    State(s): State<Service>,
    Caller(dev): Caller,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.phone_page(&dev, &user).await?))
}

pub async fn phone_photo(
    State(s): State<Service>,
    Caller(dev): Caller,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(jpeg(s.phone_photo(&dev, &user).await?))
}

pub async fn set_photo(
    State(s): State<Service>,
    Caller(dev): Caller,
    body: Bytes,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.set_my_photo(&dev, Some(&body)).await?))
}

pub async fn remove_photo(State(s): State<Service>, Caller(dev): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.set_my_photo(&dev, None).await?))
}

pub async fn export_mine(State(s): State<Service>, Caller(dev): Caller) -> Result<impl IntoResponse, HttpError> {
    Ok(attachment(s.export_mine(&dev).await?))
}

pub async fn delete_me(
    State(s): State<Service>,
    Caller(dev): Caller,
    body: Request,
) -> Result<impl IntoResponse, HttpError> {
    let ApiJson(req) = ApiJson::<crate::pages::DeleteRequest>::from_request(body, &()).await?;
    Ok(Json(s.delete_me(&dev, req).await?))
}

pub async fn staff_page(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(Json(s.staff_page(&st, &user).await?))
}

pub async fn staff_photo(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(jpeg(s.staff_photo(&st, &user).await?))
}

pub async fn staff_export(
    State(s): State<Service>,
    StaffCaller(st): StaffCaller,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, HttpError> {
    Ok(attachment(s.staff_export(&st, &user).await?))
}
