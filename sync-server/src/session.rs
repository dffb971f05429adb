//! Dashboard sign-in for captains and coordinators: a login and an argon2id password, a session
//! token in an HttpOnly cookie, a CSRF token derived from it, and failed attempts rate limited per
//! login and per client address.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::auth;
use crate::error::ServiceError;
use crate::model::{Me, Staff};
use crate::ratelimit::{FAILURE_MEMORY_MS, MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_LOGIN, signin_wait};
use crate::service::{DeviceSession, Service};
use crate::store::Role;
use crate::store::{SharedStore as _, StoreOps};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "doorstep_session";
/// A dashboard session lasts a working day, then one signs in again.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;
/// Device ids of dashboard sessions start with this (they share the token table).
pub const SESSION_DEVICE_PREFIX: &str = "session:";

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SessionView {
    pub me: Me,
    /// Send back in `X-CSRF-Token` on every change made with the session cookie.
    pub csrf_token: String,
    pub expires_ms: i64,
    /// Map tiles, when the server was given a tile URL.
    pub tile_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetLoginRequest {
    pub login: String,
    pub password: String,
}

fn too_many(wait_s: u64) -> ServiceError {
    let mut e = ServiceError::new(
        crate::error::Failure::TooMany,
        "too_many_attempts",
        format!(
            "trop de tentatives : réessayez dans {} min / too many attempts: try again in {} min",
            wait_s.div_ceil(60),
            wait_s.div_ceil(60)
        ),
    );
    e.retry_after_s = Some(wait_s);
    e
}

fn check_login_name(login: &str) -> Result<(), ServiceError> {
    let ok = (3..=64).contains(&login.len())
        && login.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "bad_login",
            "identifiant : 3 à 64 caractères a–z 0–9 . _ @ - / login: 3–64 characters a–z 0–9 . _ @ -",
        ))
    }
}

impl Service {
    /// Signs a captain or coordinator in. Unknown login and wrong password answer alike (and take
    /// as long); after too many failures for the login or from the address, 429 until the window
    /// has passed, whatever the password.
    pub async fn login(&self, req: LoginRequest, ip: Option<IpAddr>) -> Result<(String, SessionView), ServiceError> {
        let now = (self.now)();
        let login = req.login.trim().to_lowercase();
        let addr = ip.map_or_else(|| "unknown".to_string(), |a| a.to_string());
        let (login_key, ip_key) = (format!("login:{login}@{addr}"), ip.map(|a| format!("ip:{a}")));
        // Facts (the keys' failures, kept in the database for every process), then the rule.
        let keys: Vec<String> = std::iter::once(login_key.clone()).chain(ip_key.clone()).collect();
        let failures = self.store.signin_failures(&keys, now - FAILURE_MEMORY_MS).await?;
        let of = |k: &str| failures.iter().filter(|(key, _)| key == k).map(|(_, t)| *t).collect::<Vec<_>>();
        let wait = signin_wait(&of(&login_key), MAX_FAILURES_PER_LOGIN, now)
            .or_else(|| ip_key.as_deref().and_then(|k| signin_wait(&of(k), MAX_FAILURES_PER_ADDRESS, now)));
        if let Some(s) = wait {
            return Err(too_many(s));
        }
        let found = if login.len() <= 64 { self.store.user_by_login(&login).await? } else { None };
        let password = req.password;
        let (user, ok) = match found {
            Some((user, Some(hash))) if user.role != Role::Volunteer => {
                let ok =
                    tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash)).await.unwrap_or(false);
                (Some(user), ok)
            }
            _ => {
                tokio::task::spawn_blocking(move || auth::verify_password(&password, auth::decoy_hash())).await.ok();
                (None, false)
            }
        };
        let failed = user.clone().filter(|_| !ok);
        let Some(user) = user.filter(|_| ok) else {
            if let Some(u) = &failed {
                let detail = serde_json::json!({ "ip": ip.map(|a| a.to_string()) });
                self.record(&u.campaign_id, &u.id, None, "session.failed", None, detail).await?;
            }
            self.store.record_signin_failure(&keys, now, now - FAILURE_MEMORY_MS).await?;
            return Err(ServiceError::unauthenticated(
                "bad_login",
                "identifiant ou mot de passe incorrect / wrong login or password",
            ));
        };
        self.store.clear_signin_failures(&login_key).await?;
        let token = auth::new_token();
        let device_id = format!("{SESSION_DEVICE_PREFIX}{}:{}", user.id, auth::hash_secret(&token)[..12].to_owned());
        let expires_ms = now + SESSION_LIFETIME_MS;
        self.store.register_token(&auth::hash_secret(&token), &device_id, &user.id, now, expires_ms).await?;
        let detail = serde_json::json!({ "ip": ip.map(|a| a.to_string()) });
        self.record(&user.campaign_id, &user.id, Some(&device_id), "session.login", None, detail).await?;
        let session = self.authenticate(&token).await?;
        let view = SessionView {
            me: self.me(&session).await?,
            csrf_token: auth::csrf_token(&token),
            expires_ms,
            tile_url: self.tile_url.clone(),
        };
        Ok((token, view))
    }

    /// The session behind a token (the cookie's), as the page needs it after a reload.
    pub async fn session_view(&self, s: &DeviceSession, token: &str) -> Result<SessionView, ServiceError> {
        Ok(SessionView {
            me: self.me(s).await?,
            csrf_token: auth::csrf_token(token),
            expires_ms: s.device.expires_ms,
            tile_url: self.tile_url.clone(),
        })
    }

    /// Signs out: the session token is revoked for good.
    pub async fn logout(&self, s: &DeviceSession) -> Result<(), ServiceError> {
        if !s.device.device_id.starts_with(SESSION_DEVICE_PREFIX) {
            return Err(ServiceError::invalid(
                "not_a_session",
                "DELETE /session signs out a dashboard session (cookie); an API token is revoked by a coordinator",
            ));
        }
        self.store.revoke_device(&s.device.device_id, &s.device.user_id, (self.now)()).await?;
        let (campaign, device) = (&s.device.campaign_id, Some(s.device.device_id.as_str()));
        self.record(campaign, &s.device.user_id, device, "session.logout", None, serde_json::json!({})).await
    }

    /// Gives a captain or coordinator a dashboard login and password: their own, or (coordinators)
    /// any staff member's of the campaign.
    pub async fn set_login(&self, st: &Staff, user_id: &str, req: SetLoginRequest) -> Result<(), ServiceError> {
        let user = self
            .store
            .user(user_id)
            .await?
            .filter(|u| u.campaign_id == st.campaign())
            .ok_or_else(|| ServiceError::not_found(format!("utilisateur inconnu / unknown user {user_id}")))?;
        if user.id != st.user.id && !st.is_coordinator() {
            return Err(ServiceError::forbidden("seulement votre propre compte / only your own account"));
        }
        if user.role == Role::Volunteer {
            return Err(ServiceError::invalid(
                "not_staff",
                "les bénévoles utilisent l'application / volunteers sign in with the app",
            ));
        }
        let login = req.login.trim().to_lowercase();
        check_login_name(&login)?;
        let chars = req.password.chars().count();
        if !(auth::MIN_PASSWORD_CHARS..=256).contains(&chars) {
            return Err(ServiceError::invalid(
                "weak_password",
                format!(
                    "mot de passe : {0} à 256 caractères / password: {0} to 256 characters",
                    auth::MIN_PASSWORD_CHARS
                ),
            ));
        }
        let password = req.password;
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
            .await
            .map_err(ServiceError::internal)?;
        self.store.set_login(user_id, &login, &hash).await?;
        self.record_staff(st, "user.set_login", Some(user_id), serde_json::json!({ "login": login })).await
    }
}

/// The session token in a `Cookie` header, if any.
pub fn cookie_token(cookies: &str) -> Option<&str> {
    cookies.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == SESSION_COOKIE).map(|(_, v)| v)
}

/// `Set-Cookie` for a new session: HttpOnly (scripts never see it), Secure (HTTPS only; browsers
/// treat http://localhost and 127.0.0.1 as secure), SameSite=Strict (never sent from another site).
pub fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
        SESSION_LIFETIME_MS / 1000
    )
}

pub fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        assert_eq!(cookie_token("a=b; doorstep_session=xyz; c=d"), Some("xyz"));
        assert_eq!(cookie_token("doorstep_sessionx=1"), None);
        assert!(session_cookie("t").contains("HttpOnly; Secure; SameSite=Strict"));
    }
}
