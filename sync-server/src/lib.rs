//! The Doorstep sync server: merges every device's knocks, hands out and reassigns door lists, and
//! is the only place where scope and permissions are decided.
//!
//! Layers: [`api`] (axum router: one table of routes with the role each requires), [`service`]
//! (validation, scope, merge decisions; no SQL), [`store`] (one trait, SQLite and PostgreSQL).

pub mod admin;
pub mod admission;
pub mod api;
pub mod audit;
pub mod auth;
pub mod canvass;
pub mod cli;
pub mod command;
pub use doorstep_streets::cut;
pub mod dashboard;
pub mod delta;
pub mod demo;
pub mod error;
pub mod exports;
pub mod extract;
pub mod held;
pub mod http_error;
pub mod import;
pub mod intake;
pub mod live;
pub mod mail;
pub mod messages;
pub mod metrics;
pub mod model;
pub mod networks;
pub mod observe;
pub mod openapi;
pub mod pages;
pub mod pages_http;
pub mod paper;
pub mod people;
pub mod photo;
pub mod progress;
pub mod public;
pub mod ratelimit;
pub mod reminders;
pub mod routes;
pub mod sealer;
pub mod service;
pub mod session;
pub mod sheets;
pub mod sms;
pub mod sms_credentials;
pub mod sms_dispatch;
pub mod sms_follow_up;
pub mod sms_http;
pub mod sms_ovh;
pub mod sms_provider;
pub mod sms_reminders;
pub mod sms_smpp;
pub mod stations;
pub mod store;
pub mod tabular;
pub mod targeting;
pub mod touches;
pub mod web;

/// Resolves on Ctrl-C or SIGTERM: `serve` and the demo stop cleanly on either.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("arrêt propre / shutting down");
}
