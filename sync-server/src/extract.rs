//! What every request goes through before a handler runs: who is calling (a bearer token or the
//! dashboard's session cookie), whether the route's access admits them, and a JSON body read with
//! machine-readable errors. Used by the API's and the dashboard's handlers alike.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::http_error::HttpError;
use crate::model::Staff;
use crate::service::{DeviceSession, Service};
use crate::session as login;
use crate::store::Role;

/// Who may call a route. Staff routes then narrow by scope: a captain reaches the turfs and
/// volunteers of the teams they lead (see `admin::Staff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any valid token.
    Any,
    /// A volunteer's device token.
    Device,
    /// A phone's token, whoever holds the phone: a volunteer's, or a captain's joined with a
    /// code of their own (the captain's side of the offline hand-off). Never a staff API token
    /// or a dashboard session.
    Phone,
    /// A captain or a coordinator, by an API token or the dashboard (never from a phone: a lost
    /// captain's phone is not a key to the staff API).
    Staff,
    /// A coordinator's token (the whole campaign).
    Coordinator,
}

impl Access {
    /// Whether a token of this role may call a route with this access; `phone`: the token is a
    /// phone's (a volunteer's always is).
    pub fn admits(self, role: Role, phone: bool) -> bool {
        match self {
            Access::Public | Access::Any => true,
            Access::Device => role == Role::Volunteer && phone,
            Access::Phone => phone,
            Access::Staff => role != Role::Volunteer && !phone,
            Access::Coordinator => role == Role::Coordinator && !phone,
        }
    }
}

/// JSON body whose every rejection (syntax, missing or unknown field, wrong type, too large) is an
/// [`HttpError`] with a machine-readable code.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    /// Parsed once as JSON, checked for control characters in every string (a NUL byte once gave
    /// a 500 on PostgreSQL), then read as `T`.
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<serde_json::Value>::from_request(req, state).await {
            Ok(Json(v)) => {
                if doorstep_protocol::validate::text::json_has_forbidden_chars(&v) {
                    return Err(HttpError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "bad_text",
                        "le texte contient un caractère de contrôle (NUL…) / text holds a control character (NUL…)",
                    ));
                }
                T::deserialize(v).map(ApiJson).map_err(|e| {
                    let mut msg = e.to_string();
                    msg.truncate(300);
                    HttpError::new(StatusCode::UNPROCESSABLE_ENTITY, "malformed_body", msg)
                })
            }
            Err(rej) => {
                let status = rej.status();
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "not_json",
                    _ => "malformed_body",
                };
                let mut msg = rej.body_text();
                msg.truncate(300);
                Err(HttpError::new(status, code, msg))
            }
        }
    }
}

/// Authenticates the caller (bearer token, or the dashboard's session cookie) and checks the
/// route's access against the token's role.
pub(crate) async fn session(
    service: &Service,
    headers: &HeaderMap,
    access: Access,
) -> Result<DeviceSession, HttpError> {
    let s = device_session(service, headers).await?;
    // The request's span says which campaign it served (never who, never the token).
    tracing::Span::current().record("campaign", s.device.campaign_id.as_str());
    // A revoked phone in its grace period reaches the phones' routes only (push, pull, the wipe
    // acknowledgement; what they answer a revoked phone is theirs to say).
    if s.revoked && !matches!(access, Access::Device | Access::Phone) {
        return Err(HttpError::unauthorized("token_revoked", "ce jeton a été révoqué / this token was revoked"));
    }
    if !access.admits(s.user.role, s.is_phone()) {
        return Err(HttpError::forbidden(format!("a {} may not do this", s.user.role.as_str())));
    }
    Ok(s)
}

/// The caller's secret: the `Authorization: Bearer` token, else the session cookie (`true`).
pub(crate) fn credential(headers: &HeaderMap) -> Result<(&str, bool), HttpError> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| HttpError::unauthorized("missing_token", "Authorization must be a Bearer token"))?;
        return Ok((token.trim(), false));
    }
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(login::cookie_token)
        .map(|t| (t, true))
        .ok_or_else(|| {
            HttpError::unauthorized(
                "missing_token",
                "Authorization: Bearer <token> required (a device token, or a captain's or coordinator's API token), \
                 or the dashboard's session cookie",
            )
        })
}

async fn device_session(service: &Service, headers: &HeaderMap) -> Result<DeviceSession, HttpError> {
    let (token, cookie) = credential(headers)?;
    let expired = || {
        HttpError::unauthorized(
            "session_expired",
            "session expirée : reconnectez-vous / session expired: sign in again",
        )
    };
    match service.authenticate(token).await {
        Ok(s) if cookie && s.revoked => Err(expired()),
        Ok(s) => Ok(s),
        Err(e) if cookie && e.kind == crate::error::Failure::Unauthenticated => Err(expired()),
        Err(e) => Err(e.into()),
    }
}

/// A staff session with its scope, for a route of the given access.
pub(crate) async fn staff(service: &Service, headers: &HeaderMap, access: Access) -> Result<Staff, HttpError> {
    let s = session(service, headers, access).await?;
    if s.revoked {
        return Err(HttpError::unauthorized("token_revoked", "this token was revoked"));
    }
    Ok(service.staff(&s).await?)
}

/// Reads a JSON body after authentication.
pub(crate) async fn body<T: DeserializeOwned>(req: Request) -> Result<T, HttpError> {
    Ok(ApiJson::<T>::from_request(req, &()).await?.0)
}

/// A route's access, put in each request's extensions by the router from the route table
/// (`api::ROUTES`): the extractors below read it, so handlers never restate it.
#[derive(Debug, Clone, Copy)]
pub struct RouteAccess(pub Access);

fn route_access(parts: &Parts) -> Result<Access, HttpError> {
    parts
        .extensions
        .get::<RouteAccess>()
        .map(|a| a.0)
        .ok_or_else(|| HttpError::internal(format!("route {} has no access in the route table", parts.uri.path())))
}

/// The authenticated caller of a route, admitted by the route's access (any token, a device,
/// staff, a coordinator).
pub struct Caller(pub DeviceSession);

impl FromRequestParts<Service> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, Self::Rejection> {
        let access = route_access(parts)?;
        Ok(Caller(session(service, &parts.headers, access).await?))
    }
}

/// A captain or coordinator with their scope, admitted by the route's access.
pub struct StaffCaller(pub Staff);

impl FromRequestParts<Service> for StaffCaller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Self, Self::Rejection> {
        let access = route_access(parts)?;
        Ok(StaffCaller(staff(service, &parts.headers, access).await?))
    }
}

/// The client's address: the connection's peer, or, when the peer is a proxy this server was told
/// to trust (`serve --trusted-proxy`), the nearest address in `X-Forwarded-For` that is not itself
/// a trusted proxy. Without trusted proxies the header is ignored: anyone can write it, and a
/// stranger must not choose whose rate limit or sign-in lockout their requests count against.
/// Behind a balancer that passes no such header, every client is the balancer.
pub fn client_ip(s: &Service, headers: &HeaderMap, ext: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    let peer = ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())?;
    if !s.trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let hops: Vec<std::net::IpAddr> =
        forwarded.flat_map(|v| v.split(',')).filter_map(|h| h.trim().parse().ok()).collect();
    Some(hops.into_iter().rev().find(|ip| !s.trusted_proxies.contains(ip)).unwrap_or(peer))
}
