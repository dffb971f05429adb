//! What a service answers when it refuses or fails: a kind (what went wrong, in the field's terms),
//! a stable machine-readable code and a human message. No HTTP here: the HTTP layer maps each kind
//! to a status once (`crate::http_error`), and the CLI prints the message. Internal details are
//! logged, never sent.

use crate::store::StoreError;

/// What went wrong, as a service sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request cannot be right (a missing field, an option that cannot apply).
    Invalid,
    /// The request is well formed but its content cannot be read or used (a file that does not
    /// parse, text with control characters).
    Unreadable,
    /// No valid credential: unknown, expired or revoked.
    Unauthenticated,
    /// The caller is known but this is outside their role or scope.
    Forbidden,
    NotFound,
    /// The request clashes with what is stored (an id taken, a device bound to someone else).
    Conflict,
    /// More than the server takes in one request.
    TooLarge,
    /// Too many attempts: wait `retry_after_s` seconds.
    TooMany,
    /// A failure of the server itself: logged, never detailed.
    Internal,
}

#[derive(Debug)]
pub struct ServiceError {
    pub kind: Failure,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before trying again ([`Failure::TooMany`]).
    pub retry_after_s: Option<u64>,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

impl ServiceError {
    pub fn new(kind: Failure, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), retry_after_s: None }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Failure::Invalid, code, message)
    }
    pub fn unreadable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Failure::Unreadable, code, message)
    }
    pub fn unauthenticated(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Failure::Unauthenticated, code, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Failure::Forbidden, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Failure::NotFound, "not_found", message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Failure::Conflict, code, message)
    }
    pub fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Failure::TooLarge, code, message)
    }
    pub fn too_many(code: &'static str, message: impl Into<String>, retry_after_s: u64) -> Self {
        Self { retry_after_s: Some(retry_after_s), ..Self::new(Failure::TooMany, code, message) }
    }
    /// A failure of the server itself (a background task that panicked, a file that would not
    /// write): logged here with its detail; the caller is told only that it was logged.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal failure");
        Self::new(Failure::Internal, "internal", "internal error; it has been logged")
    }
}

/// What a captain is told when someone else moved the street (or doors) first.
pub fn moved_message(now_in: Option<&str>) -> String {
    match now_in {
        Some(t) => format!(
            "déjà déplacée par quelqu'un d'autre vers le secteur {t} : rien n'a été déplacé / already moved by \
             someone else to turf {t}: nothing was moved"
        ),
        None => "déjà retirée de ce secteur par quelqu'un d'autre : rien n'a été déplacé / already taken out of \
                 this turf by someone else: nothing was moved"
            .to_string(),
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Missing { .. } => ServiceError::not_found(e.to_string()),
            StoreError::Conflict(_) => ServiceError::conflict("conflict", e.to_string()),
            StoreError::Moved { now_in, .. } => ServiceError::conflict("moved", moved_message(now_in.as_deref())),
            other => {
                tracing::error!(error = %other, "storage error");
                ServiceError::new(Failure::Internal, "internal", "internal error; it has been logged")
            }
        }
    }
}
