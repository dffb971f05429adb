//! Addresses and streets coming in, and the turfs cut from them: a coordinator's imports (CSV
//! or GeoJSON addresses with the voter file, street networks) and turf cutting, each audited here
//! so that the API and the CLI record the same lines. Parsing is `import`'s (pure, run on the
//! blocking pool); cutting is `doorstep_streets::cut`'s.

use futures_util::StreamExt;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::ServiceError;
use crate::import::{self, ImportError, RowError};
use crate::model::Staff;
use crate::networks::NetworkSource;
use crate::service::Service;
use crate::store::ImportCounts;
use crate::store::StoreOps;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ImportResponse {
    pub rows: usize,
    /// Field → column used.
    pub columns: Vec<(String, String)>,
    pub errors: Vec<RowError>,
    pub people_ignored: bool,
    /// Rows repeating an earlier row's address, merged into its door.
    pub duplicates: Vec<crate::import::DuplicateRow>,
    /// Rows with an earlier row's address in the same commune, too far from it to be the same
    /// building: kept apart.
    pub kept_apart: Vec<crate::import::DuplicateRow>,
    pub imported: ImportCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StreetsImported {
    /// What the file was recognised as.
    pub format: crate::networks::NetworkFormat,
    pub nodes: usize,
    pub edges: usize,
    /// Kilometres of street kept.
    pub km: f64,
    /// Ways or sections kept.
    pub lines: usize,
    /// Objects that were not lines.
    pub skipped: usize,
    /// Lines no one walks (motorways, ferries, ways closed to pedestrians, not built yet).
    pub not_walkable: usize,
    /// Lines more than [`STREETS_MARGIN_M`] away from every address of the campaign, left out.
    pub outside: usize,
    /// Said plainly when something is worth knowing (no address yet, so nothing was left out).
    pub notices: Vec<String>,
    pub turfs_touched: usize,
}

/// A street file keeps the lines within this distance of the campaign's addresses.
pub const STREETS_MARGIN_M: f64 = 2_000.0;

/// Said when streets are imported before any address: the whole file is kept.
pub const STREETS_BEFORE_ADDRESSES: &str = "aucune adresse encore : tout le fichier est gardé ; importez les adresses d'abord pour ne garder que les rues de la campagne / no address yet: the whole file was kept; import addresses first to keep only the campaign's streets";

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CutRequest {
    /// Doors per turf (default 80).
    #[serde(default)]
    pub target_doors: Option<u32>,
    /// Or: minutes of canvassing per turf, at `doors_per_hour` (default 30).
    #[serde(default)]
    pub target_minutes: Option<u32>,
    #[serde(default)]
    pub doors_per_hour: Option<u32>,
    /// Never put two polling stations in one turf.
    #[serde(default)]
    pub by_station: bool,
    /// Turfs to cut again together with the buildings in no turf (never a turf being worked).
    #[serde(default)]
    pub recut: Vec<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

impl CutRequest {
    /// Doors per turf this request asks for.
    pub fn target(&self) -> Result<u32, ServiceError> {
        if self.doors_per_hour.is_some() && self.target_minutes.is_none() {
            return Err(ServiceError::invalid(
                "bad_target",
                "doors_per_hour (--rate) only applies with target_minutes (--minutes)",
            ));
        }
        let target = match (self.target_doors, self.target_minutes) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::invalid("bad_target", "give target_doors or target_minutes, not both"));
            }
            (_, Some(min)) => {
                let rate = self.doors_per_hour.unwrap_or(30);
                if !(1..=600).contains(&rate) || !(5..=600).contains(&min) {
                    return Err(ServiceError::invalid(
                        "bad_target",
                        "target_minutes must be 5–600 and doors_per_hour 1–600",
                    ));
                }
                (u64::from(min) * u64::from(rate)).div_ceil(60) as u32
            }
            (Some(d), None) => d,
            (None, None) => 80,
        };
        if !(5..=2000).contains(&target) {
            return Err(ServiceError::invalid("bad_target", "a turf must hold 5–2000 doors"));
        }
        Ok(target)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CutResponse {
    pub turfs: Vec<String>,
    pub buildings: usize,
    /// Turfs that were cut again (and are gone).
    pub dissolved: Vec<String>,
    pub target_doors: u32,
    pub report: CutSummary,
    /// What the coordinator should know before handing the turfs out, in French then English
    /// (e.g. that there was no street network to cut along).
    pub notices: Vec<String>,
}

/// Said when a campaign is cut without a street network.
pub const NO_STREETS_NOTICE: &str = "Aucun réseau de rues importé : les secteurs sont découpés à vol d'oiseau, sans tenir compte des rues (importez les rues de la commune — GeoPackage BD TOPO de l'IGN, extrait OpenStreetMap .osm.pbf ou GeoJSON — puis redécoupez) ; un secteur est dit connexe quand aucun pas de plus de 250 m ne sépare ses adresses / No street network imported: turfs are cut as the crow flies, ignoring streets (import the town's streets — IGN BD TOPO GeoPackage, OpenStreetMap .osm.pbf or GeoJSON — then cut again); a turf counts as connected when no step over 250 m separates its addresses";

/// The cut's report, with building ids for what the coordinator should check.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CutSummary {
    pub doors: u64,
    pub max_deviation: f64,
    pub within_10pct: usize,
    pub disconnected: usize,
    pub far_from_street: Vec<String>,
    pub islands_joined: usize,
    pub island_doors: u64,
    pub long_sides_split: usize,
    pub small_by_constraint: usize,
    pub street_network: bool,
    pub buildings_without_station: usize,
    /// Turfs whose part cannot be split evenly within ±10 % (an island, a small or awkward
    /// station): balance is not asked of them.
    pub constrained: usize,
    /// Turfs within ±10 % among the others.
    pub within_10pct_unconstrained: usize,
    /// Without a street network: the walking gap a turf may hold, in metres (connected means no
    /// straight step longer than this between its buildings).
    pub walk_gap_limit_m: Option<f64>,
    /// Without a street network: the longest step inside any turf, in metres.
    pub max_gap_m: Option<f64>,
    /// Without a street network: each turf with a longer step than the limit, and that step.
    pub gaps: Vec<TurfGap>,
}

/// A turf holding a walking gap longer than the limit (an island joined to it, usually).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurfGap {
    pub turf_id: String,
    pub gap_m: f64,
}

pub(crate) fn import_error(e: ImportError) -> ServiceError {
    ServiceError::new(crate::error::Failure::Unreadable, "bad_import", e.to_string())
}

/// Buildings written per transaction by an import.
pub const IMPORT_PART_BUILDINGS: usize = 500;
/// Parts of an import written at once (see [`Service::import_file`]).
const IMPORT_PARTS_IN_FLIGHT: usize = 2;

impl Service {
    // ----- imports -------------------------------------------------------------------------------

    /// Imports a CSV or GeoJSON file. With bad rows, nothing is stored unless `skip_invalid`.
    pub async fn import_file(
        &self,
        st: &Staff,
        bytes: &[u8],
        geojson: bool,
        mut mapping: HashMap<String, String>,
    ) -> Result<ImportResponse, ServiceError> {
        st.require_coordinator()?;
        let _running = self.metrics.import("addresses");
        let skip_invalid = mapping.remove("skip_invalid").is_some_and(|v| v == "true" || v == "1");
        let campaign = self.campaign_of(st).await?;
        // Parsing a large file takes seconds of CPU: on the blocking pool, never on the threads
        // that answer phones and /healthz.
        let size = bytes.len();
        let (bytes, campaign_id, mode) = (bytes.to_vec(), campaign.id.clone(), campaign.mode);
        let parsed = tokio::task::spawn_blocking(move || {
            if geojson {
                import::parse_geojson(&bytes, &mapping, &campaign_id, mode)
            } else {
                import::parse_csv(&bytes, &mapping, &campaign_id, mode)
            }
        })
        .await
        .map_err(crate::error::ServiceError::internal)?
        .map_err(import_error)?;
        if !parsed.errors.is_empty() && !skip_invalid {
            let first: Vec<String> =
                parsed.errors.iter().take(20).map(|e| format!("ligne {}: {}", e.line, e.reason)).collect();
            return Err(ServiceError::new(
                crate::error::Failure::Unreadable,
                "bad_rows",
                format!(
                    "{} ligne(s) invalide(s), rien n'a été importé (ajoutez skip_invalid=true pour importer le reste) / {} bad row(s), nothing imported: {}",
                    parsed.errors.len(),
                    parsed.errors.len(),
                    first.join("; ")
                ),
            ));
        }
        // Written in parts, each its own transaction, so that phones' pushes and other writers get
        // the database between two parts instead of waiting for the whole file; the import is
        // idempotent (rows already there are kept), so one cut short finishes by running it again.
        // Two parts in flight: on PostgreSQL one is parsed, sent and written by one connection
        // while the other commits (one at a time left both cores half idle); on SQLite the second
        // waits for the single writer. Parts hold different buildings, and a part bumps the turfs
        // it touches in id order, so two never wait on each other in a cycle.
        let mut imported = ImportCounts::default();
        let parts = parsed.import.into_parts(IMPORT_PART_BUILDINGS);
        let campaign_id = campaign.id.as_str();
        let mut written = futures_util::stream::iter(
            parts.into_iter().map(|part| async move { self.store.import(campaign_id, &part).await }),
        )
        .buffer_unordered(IMPORT_PARTS_IN_FLIGHT);
        while let Some(counts) = written.next().await {
            imported.add(counts?);
        }
        drop(written);
        imported.turfs_touched.sort();
        // Many new rows: fresh statistics so the dashboard's plans stay narrow.
        self.store.optimize().await?;
        let action = if geojson { "import.addresses_geojson" } else { "import.addresses_csv" };
        let detail = serde_json::json!({ "bytes": size, "buildings": imported.buildings, "doors": imported.doors });
        self.record_staff(st, action, None, detail).await?;
        Ok(ImportResponse {
            rows: parsed.rows,
            columns: parsed.columns,
            errors: parsed.errors,
            people_ignored: parsed.people_ignored,
            duplicates: parsed.duplicates,
            kept_apart: parsed.kept_apart,
            imported,
        })
    }

    /// Imports the campaign's street network from GeoJSON lines, an OpenStreetMap `.osm.pbf`
    /// extract or an IGN BD TOPO GeoPackage ([`crate::networks`]), keeping the walkable lines near
    /// the campaign's addresses; every turf moves to a new version so devices get their part of it.
    pub async fn import_streets(&self, st: &Staff, bytes: &[u8]) -> Result<StreetsImported, ServiceError> {
        self.import_streets_from(st, NetworkSource::Bytes(bytes.to_vec())).await
    }

    /// [`Self::import_streets`] from bytes or a file on disk (the CLI).
    pub async fn import_streets_from(
        &self,
        st: &Staff,
        source: NetworkSource,
    ) -> Result<StreetsImported, ServiceError> {
        st.require_coordinator()?;
        let _running = self.metrics.import("streets");
        let extent = self.store.extent(st.campaign()).await?;
        let bounds = extent.map(|(s, w, n, e)| {
            let dlat = STREETS_MARGIN_M / 111_132.0;
            let dlon = STREETS_MARGIN_M / (111_132.0 * s.abs().max(n.abs()).min(89.0).to_radians().cos().max(0.01));
            (s - dlat, w - dlon, n + dlat, e + dlon)
        });
        let size = match &source {
            NetworkSource::Bytes(b) => b.len() as u64,
            NetworkSource::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        };
        let (net, stats, format, body) = tokio::task::spawn_blocking(move || {
            let (net, stats, format) =
                crate::networks::read(&source, bounds).map_err(|e| import_error(ImportError::Streets(e)))?;
            let body = serde_json::to_string(&net).expect("serialisable");
            Ok::<_, ServiceError>((net, stats, format, body))
        })
        .await
        .map_err(crate::error::ServiceError::internal)??;
        let touched = self.store.set_street_network(st.campaign(), &body, net.edges.len() as u64).await?;
        let km = (net.edges.iter().map(|e| e.length_m).sum::<f64>() / 100.0).round() / 10.0;
        let detail = serde_json::json!({ "bytes": size, "edges": net.edges.len(), "format": format });
        self.record_staff(st, "import.streets", None, detail).await?;
        let notices = if extent.is_none() { vec![STREETS_BEFORE_ADDRESSES.to_string()] } else { vec![] };
        Ok(StreetsImported {
            format,
            nodes: net.nodes.len(),
            edges: net.edges.len(),
            km,
            lines: stats.lines,
            skipped: stats.not_lines,
            not_walkable: stats.not_walkable,
            outside: stats.outside,
            notices,
            turfs_touched: touched.len(),
        })
    }

    // ----- turfs ---------------------------------------------------------------------------------

    /// Cuts every building that is in no turf yet, and the turfs named in `recut`, into turfs of
    /// about the target's doors along streets ([`crate::cut`]); one transaction.
    pub async fn cut_turfs(&self, st: &Staff, req: CutRequest) -> Result<CutResponse, ServiceError> {
        self.cut_turfs_with_progress(st, req, Box::new(|_, _| {})).await
    }

    /// [`Self::cut_turfs`], reporting each step of the cut (for the CLI's progress bar).
    pub async fn cut_turfs_with_progress(
        &self,
        st: &Staff,
        req: CutRequest,
        mut progress: doorstep_streets::cut::Progress,
    ) -> Result<CutResponse, ServiceError> {
        st.require_coordinator()?;
        self.campaign_of(st).await?;
        let target = req.target()?;
        let prefix = req.name_prefix.clone().unwrap_or_else(|| "Secteur".into());
        let mut recut = req.recut.clone();
        recut.sort();
        recut.dedup();
        let started = std::time::Instant::now();
        let candidates = self.store.cut_candidates(st.campaign(), &recut).await?;
        let loaded = started.elapsed();
        let buildings: Vec<doorstep_streets::cut::CutBuilding> = candidates
            .iter()
            .map(|c| doorstep_streets::cut::CutBuilding {
                lat: c.lat,
                lon: c.lon,
                doors: c.doors.max(1),
                street: c.street.clone(),
                house_number: c.house_number.clone(),
                station: c.polling_station.clone(),
            })
            .collect();
        let without_station = buildings.iter().filter(|b| b.station.is_none()).count();
        if req.by_station && !buildings.is_empty() && without_station == buildings.len() {
            return Err(ServiceError::invalid(
                "no_stations",
                "aucune adresse n'a de bureau de vote : importez les bureaux d'abord / by_station needs polling stations: import them first",
            ));
        }
        // With station boundaries kept, buildings with no station are cut among themselves, and
        // counted in the report.
        let net = self.network(st.campaign()).await?;
        let opts = doorstep_streets::cut::CutOptions { target, by_station: req.by_station };
        let plan = tokio::task::spawn_blocking(move || {
            // Each step's start, for `RUST_LOG=debug` (where a large cut spends its time).
            let begun = std::time::Instant::now();
            let mut step = String::new();
            let mut progress = move |s: &str, f: f64| {
                if s != step {
                    tracing::debug!(step = s, ms = begun.elapsed().as_millis() as u64, "cut step");
                    step = s.to_string();
                }
                progress(s, f)
            };
            progress("réseau", 0.0);
            let graph = net.as_deref().and_then(doorstep_streets::streets::StreetGraph::new);
            doorstep_streets::cut::plan_with_progress(&buildings, graph.as_ref(), opts, &mut progress)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("cut: {e}")))?;
        let planned = started.elapsed();
        let existing: std::collections::HashSet<String> =
            self.store.turf_summaries(st.campaign()).await?.into_iter().map(|s| s.turf.id).collect();
        let mut number = 0usize;
        let mut new = Vec::with_capacity(plan.turfs.len());
        for part in &plan.turfs {
            let id = loop {
                number += 1;
                let id = format!("{}-t{number:04}", st.campaign());
                if !existing.contains(&id) || recut.contains(&id) {
                    break id;
                }
            };
            new.push(crate::store::NewTurf {
                name: format!("{prefix} {number}"),
                id,
                team_id: req.team_id.clone(),
                buildings: part.iter().map(|&i| candidates[i].id.clone()).collect(),
            });
        }
        self.store.apply_cut(st.campaign(), &recut, &new).await?;
        let written = started.elapsed();
        self.store.optimize().await?;
        tracing::info!(
            buildings = candidates.len(),
            turfs = new.len(),
            load_ms = loaded.as_millis() as u64,
            plan_ms = (planned - loaded).as_millis() as u64,
            write_ms = (written - planned).as_millis() as u64,
            optimize_ms = (started.elapsed() - written).as_millis() as u64,
            "turfs cut"
        );
        let r = plan.report;
        let detail = serde_json::json!({ "turfs": new.len(), "dissolved": recut, "target_doors": target });
        self.record_staff(st, "turfs.cut", None, detail).await?;
        let notices = if r.street_network { vec![] } else { vec![NO_STREETS_NOTICE.to_string()] };
        Ok(CutResponse {
            notices,
            turfs: new.iter().map(|t| t.id.clone()).collect(),
            buildings: candidates.len(),
            dissolved: recut,
            target_doors: target,
            report: CutSummary {
                doors: r.doors,
                max_deviation: r.max_deviation,
                within_10pct: r.within_10pct,
                disconnected: r.disconnected,
                far_from_street: r.far_from_street.iter().map(|&i| candidates[i].id.clone()).collect(),
                islands_joined: r.islands_joined,
                island_doors: r.island_doors,
                long_sides_split: r.long_sides_split,
                small_by_constraint: r.small_by_constraint,
                street_network: r.street_network,
                buildings_without_station: without_station,
                constrained: r.constrained,
                within_10pct_unconstrained: r.within_10pct_unconstrained,
                walk_gap_limit_m: (!r.street_network).then_some(doorstep_streets::cut::WALK_GAP_M),
                max_gap_m: (!r.street_network).then_some(r.max_gap_m.round()),
                gaps: r.gaps.iter().map(|&(t, gap_m)| TurfGap { turf_id: new[t].id.clone(), gap_m }).collect(),
            },
        })
    }
}
