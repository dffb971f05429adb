//! What the server counts, for Prometheus: requests and their latency by route (the route's
//! template from the route table, never a raw path with ids in it), reports by what the merge
//! decided, how long pushes and pulls take and how long a push's transaction holds the database,
//! imports. Served in the OpenMetrics text format on a listener of its own
//! (`serve --metrics-listen ADDR`), so that the public API never exposes it. Labels carry no
//! personal data, no token and no campaign name. Built on `prometheus-client` (the Prometheus
//! project's Rust client).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `accepted`, `accepted_overlap`, `duplicate`, `held`, or `rejected`.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// `push` or `pull`.
    pub phase: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// `addresses`, `streets`, `results`, `stations`.
    pub kind: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, from 1 ms to about 33 s.
fn seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every metric the server keeps, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Histograms<RouteLabels>,
    pub reports: Family<OutcomeLabels, Counter>,
    pub sync_seconds: Histograms<PhaseLabels>,
    /// Time a push holds its write transaction (facts, plan, writes, commit).
    pub push_transaction_seconds: Histogram,
    pub imports: Family<KindLabels, Counter>,
    pub import_seconds: Histograms<KindLabels>,
    pub imports_running: Gauge,
    pub db_pool_size: Gauge,
    pub db_connections: Family<StateLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModeLabels {
    /// `write` (a transaction of the writer) or `read` (a snapshot read).
    pub mode: &'static str,
}

/// Time each store operation written once holds its transaction, by mode: process-wide, because
/// the storage layer observes it below any service; every [`Metrics`] registry exposes it.
pub fn transaction_seconds() -> &'static Histograms<ModeLabels> {
    static H: std::sync::OnceLock<Histograms<ModeLabels>> = std::sync::OnceLock::new();
    H.get_or_init(|| Family::new_with_constructor(seconds))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: &'static str,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("doorstep");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        let request_seconds: Histograms<RouteLabels> = Family::new_with_constructor(seconds);
        registry.register("http_request_seconds", "Time to answer a request, by route", request_seconds.clone());
        let reports = Family::<OutcomeLabels, Counter>::default();
        registry.register("reports", "Pushed reports, by what the merge decided", reports.clone());
        let sync_seconds: Histograms<PhaseLabels> = Family::new_with_constructor(seconds);
        registry.register("sync_seconds", "Time to serve a device's push or pull", sync_seconds.clone());
        let push_transaction_seconds = seconds();
        registry.register(
            "push_transaction_seconds",
            "Time a push holds its database transaction",
            push_transaction_seconds.clone(),
        );
        let imports = Family::<KindLabels, Counter>::default();
        registry.register("imports", "Imports finished, by kind", imports.clone());
        let import_seconds: Histograms<KindLabels> = Family::new_with_constructor(seconds);
        registry.register("import_seconds", "Time an import takes, by kind", import_seconds.clone());
        let imports_running = Gauge::default();
        registry.register("imports_running", "Imports under way", imports_running.clone());
        registry.register(
            "db_transaction_seconds",
            "Time a store operation holds its transaction (write) or snapshot (read)",
            transaction_seconds().clone(),
        );
        let db_pool_size = Gauge::default();
        registry.register("db_pool_size", "Database connections the server may hold", db_pool_size.clone());
        let db_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections by state (in_use, idle), sampled at each scrape",
            db_connections.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            reports,
            sync_seconds,
            push_transaction_seconds,
            imports,
            import_seconds,
            imports_running,
            db_pool_size,
            db_connections,
        }
    }
}

impl Metrics {
    /// Records the database connections as the store sees them now.
    pub fn pool(&self, size: u64, in_use: u64, idle: u64) {
        self.db_pool_size.set(size as i64);
        self.db_connections.get_or_create(&StateLabels { state: "in_use" }).set(in_use as i64);
        self.db_connections.get_or_create(&StateLabels { state: "idle" }).set(idle as i64);
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    pub fn report(&self, outcome: &str) {
        self.reports.get_or_create(&OutcomeLabels { outcome: outcome.to_string() }).inc();
    }

    pub fn sync(&self, phase: &str, seconds: f64) {
        self.sync_seconds.get_or_create(&PhaseLabels { phase: phase.to_string() }).observe(seconds);
    }

    /// Counts an import while it runs; the guard records its time when dropped.
    pub fn import(&self, kind: &'static str) -> ImportGuard<'_> {
        self.imports_running.inc();
        ImportGuard { metrics: self, kind, started: std::time::Instant::now() }
    }
}

/// An import under way (see [`Metrics::import`]).
#[derive(Debug)]
pub struct ImportGuard<'a> {
    metrics: &'a Metrics,
    kind: &'static str,
    started: std::time::Instant,
}

impl Drop for ImportGuard<'_> {
    fn drop(&mut self) {
        let labels = KindLabels { kind: self.kind.to_string() };
        self.metrics.imports_running.dec();
        self.metrics.imports.get_or_create(&labels).inc();
        self.metrics.import_seconds.get_or_create(&labels).observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_openmetrics_text() {
        let m = Metrics::default();
        m.requests
            .get_or_create(&RequestLabels { method: "POST".into(), route: "/api/v1/sync/push".into(), status: 200 })
            .inc();
        m.report("accepted");
        m.report("accepted");
        m.sync("push", 0.004);
        drop(m.import("addresses"));
        let text = m.render();
        for want in [
            r#"doorstep_http_requests_total{method="POST",route="/api/v1/sync/push",status="200"} 1"#,
            r#"doorstep_reports_total{outcome="accepted"} 2"#,
            r#"doorstep_sync_seconds_count{phase="push"} 1"#,
            r#"doorstep_imports_total{kind="addresses"} 1"#,
            "doorstep_imports_running 0",
            "# EOF",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
    }
}
