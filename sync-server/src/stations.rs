//! What coordinators and captains do with polling stations: import past results and boundaries,
//! set the targeting formula, and read stations and turfs ranked by priority (the dashboard's
//! choropleth reads the same).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::admin::Staff;
use crate::error::ServiceError;
use crate::import::{ImportError, RowError, normalise};
use crate::intake::import_error;
use crate::service::Service;
use crate::store::StationsPlaced;
use crate::store::StoreOps;
use crate::targeting::{self, Formula, StationResults, station_key};

/// Station property names tried, in order, for a boundary's id (normalised): first the national
/// ids that carry the commune (Etalab's contours: `codeBureauVote` = `69123_0101`, `id_bv`), then
/// a town's own numbering.
const BOUNDARY_ID_PROPERTIES: &[&str] = &[
    "codebureauvote",
    "idbv",
    "idbrutbvreu",
    "numbureau",
    "bureau",
    "codebv",
    "codebureau",
    "bv",
    "numerobureauvote",
    "numerobureau",
    "id",
    "code",
    "nom",
];

/// Properties naming a boundary's commune (INSEE code): a bare bureau number is prefixed with it,
/// so that "bureau 1" of two communes are two stations.
const BOUNDARY_COMMUNE_PROPERTIES: &[&str] = &["codecommune", "codeinsee", "insee", "depcom"];

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResultsImported {
    pub layout: String,
    pub rows: usize,
    pub stations: usize,
    pub lists: Vec<String>,
    pub errors: Vec<RowError>,
    pub flagged: Vec<RowError>,
    /// Stations the campaign's buildings name that have no results (ranked last).
    pub stations_without_results: Vec<String>,
    /// Results for stations no building of the campaign is in.
    pub results_without_doors: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StationsImported {
    pub stations: usize,
    /// Features skipped (not polygons, or no id).
    pub skipped: usize,
    pub buildings_assigned: u64,
    /// Buildings in no boundary (their station stays empty).
    pub buildings_outside: Vec<String>,
    /// Buildings in a boundary but already in a turf, left as they are.
    pub buildings_in_turfs: Vec<String>,
    /// Buildings in overlapping boundaries, placed in the one they lie deepest in.
    pub buildings_ambiguous: Vec<String>,
}

/// A GeoJSON FeatureCollection of station boundaries, each geometry kept as its text.
#[derive(Deserialize)]
struct BoundaryFile<'a> {
    #[serde(borrow)]
    features: Vec<BoundaryFeature<'a>>,
}

#[derive(Deserialize)]
struct BoundaryFeature<'a> {
    #[serde(borrow, default)]
    geometry: Option<&'a serde_json::value::RawValue>,
    #[serde(default)]
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One station as the dashboard shows it.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StationView {
    pub id: String,
    pub name: Option<String>,
    pub registered: Option<u64>,
    pub voters: Option<u64>,
    pub expressed: Option<u64>,
    pub abstention: Option<f64>,
    pub favourable_share: Option<f64>,
    /// 0 when the station has no results.
    pub priority: f64,
    /// The campaign's doors in this station.
    pub doors: u64,
    pub has_results: bool,
    pub has_boundary: bool,
    pub flags: Vec<String>,
}

/// A turf ranked for assignment.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TurfRank {
    pub turf_id: String,
    pub name: String,
    pub team_id: Option<String>,
    pub volunteer_id: Option<String>,
    pub doors: u64,
    /// The share of each station's priority its doors carry, summed.
    pub priority: f64,
    /// Doors per station, most first.
    pub stations: Vec<(String, u64)>,
    /// Doors in no station, or in one without results.
    pub doors_without_results: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ranking {
    pub formula: Formula,
    pub turfs: Vec<TurfRank>,
}

impl Service {
    /// Imports results per polling station. With bad rows, nothing is stored unless `skip_invalid`.
    pub async fn import_results(
        &self,
        st: &Staff,
        bytes: &[u8],
        mut mapping: HashMap<String, String>,
    ) -> Result<ResultsImported, ServiceError> {
        st.require_coordinator()?;
        let _running = self.metrics.import("results");
        let skip_invalid = mapping.remove("skip_invalid").is_some_and(|v| v == "true" || v == "1");
        let p = targeting::parse_results(bytes, &mapping).map_err(import_error)?;
        if !p.errors.is_empty() && !skip_invalid {
            let first: Vec<String> =
                p.errors.iter().take(20).map(|e| format!("ligne {}: {}", e.line, e.reason)).collect();
            return Err(ServiceError::new(
                crate::error::Failure::Unreadable,
                "bad_rows",
                format!(
                    "{n} ligne(s) invalide(s), rien n'a été importé (ajoutez skip_invalid=true pour importer le reste) / {n} bad row(s), nothing imported: {}",
                    first.join("; "),
                    n = p.errors.len(),
                ),
            ));
        }
        let rows: Vec<(String, String)> =
            p.stations.iter().map(|s| (s.id.clone(), serde_json::to_string(s).expect("serialisable"))).collect();
        self.store.set_station_results(st.campaign(), &rows).await?;
        let doors = self.doors_per_station(st.campaign()).await?;
        let with_results: std::collections::HashSet<&str> = p.stations.iter().map(|s| s.id.as_str()).collect();
        let known = self.store.stations(st.campaign()).await?;
        let any_results: std::collections::HashSet<String> =
            known.iter().filter(|s| s.results.is_some()).map(|s| s.id.clone()).collect();
        self.record_staff(st, "import.results", None, serde_json::json!({ "bytes": bytes.len() })).await?;
        Ok(ResultsImported {
            layout: p.layout,
            rows: p.rows,
            stations: p.stations.len(),
            lists: p.lists,
            errors: p.errors,
            flagged: p.flagged,
            stations_without_results: doors.keys().filter(|s| !any_results.contains(*s)).cloned().collect(),
            results_without_doors: with_results
                .iter()
                .filter(|s| !doors.contains_key(**s))
                .map(|s| s.to_string())
                .collect(),
        })
    }

    /// Imports station boundaries (GeoJSON polygons) and places the campaign's buildings that have
    /// no station yet (and are in no turf) in the one that holds them.
    pub async fn import_stations(
        &self,
        st: &Staff,
        bytes: &[u8],
        mapping: HashMap<String, String>,
    ) -> Result<StationsImported, ServiceError> {
        st.require_coordinator()?;
        let _running = self.metrics.import("stations");
        // Each geometry stays the text it was (borrowed from the body, parsed alone for its
        // bounds): a national file of 645 MB read into one JSON tree took several times its size.
        let file: BoundaryFile<'_> = serde_json::from_slice(bytes).map_err(|e| {
            import_error(ImportError::GeoJson(format!("expected a FeatureCollection with features: {e}")))
        })?;
        let wanted = mapping.get("id").map(|s| normalise(s));
        let mut boundaries = Vec::new();
        let mut skipped = 0;
        let mut seen = std::collections::HashSet::new();
        for f in &file.features {
            let g = f.geometry.map(|raw| raw.get()).unwrap_or("null");
            let props = f.properties.as_ref();
            let id = props.and_then(|p| {
                let by = |name: &str| {
                    p.iter().find(|(k, _)| normalise(k) == name).and_then(|(_, v)| match v {
                        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                };
                let id = match &wanted {
                    Some(w) => by(w),
                    None => BOUNDARY_ID_PROPERTIES.iter().find_map(|n| by(n)),
                }?;
                let bare = !id.trim().contains(['_', '-', ' ']);
                match BOUNDARY_COMMUNE_PROPERTIES.iter().find_map(|n| by(n)) {
                    Some(commune) if bare && commune.trim().len() == 5 => {
                        Some(format!("{}_{}", commune.trim(), id.trim()))
                    }
                    _ => Some(id),
                }
            });
            let geometry = serde_json::from_str::<serde_json::Value>(g).ok();
            let bounds = geometry.as_ref().and_then(targeting::Area::of).map(|a| a.bbox);
            match (id, bounds) {
                (Some(id), Some(_)) => {
                    let id = station_key(&id);
                    if !seen.insert(id.clone()) {
                        return Err(import_error(ImportError::GeoJson(format!("station {id} has two boundaries"))));
                    }
                    // Stored compact, as written by serde_json (a pretty-printed file's spaces dropped).
                    boundaries.push((id, geometry.map(|v| v.to_string()).unwrap_or_default()));
                }
                _ => skipped += 1,
            }
        }
        if boundaries.is_empty() {
            return Err(import_error(ImportError::GeoJson(
                "no polygon with a station id (map the property: ?id=<property>)".into(),
            )));
        }
        let StationsPlaced { assigned, outside, in_turfs, ambiguous } =
            self.store.set_station_boundaries(st.campaign(), &boundaries).await?;
        self.record_staff(st, "import.stations", None, serde_json::json!({ "bytes": bytes.len() })).await?;
        Ok(StationsImported {
            stations: boundaries.len(),
            skipped,
            buildings_assigned: assigned,
            buildings_outside: outside,
            buildings_in_turfs: in_turfs,
            buildings_ambiguous: ambiguous,
        })
    }

    pub async fn targeting(&self, st: &Staff) -> Result<Formula, ServiceError> {
        Ok(self.store.targeting(st.campaign()).await?.unwrap_or_default())
    }

    pub async fn set_targeting(&self, st: &Staff, f: Formula) -> Result<Formula, ServiceError> {
        st.require_coordinator()?;
        f.validate().map_err(|m| ServiceError::invalid("bad_formula", m))?;
        if !f.favourable.is_empty() {
            // Every favourable name must be one of the imported results' lists, exactly.
            let lists: std::collections::BTreeSet<String> = self
                .store
                .stations(st.campaign())
                .await?
                .into_iter()
                .filter_map(|s| s.results)
                .flat_map(|r| r.votes.into_keys())
                .collect();
            if lists.is_empty() {
                return Err(ServiceError::invalid(
                    "no_results",
                    "importez d'abord les résultats par bureau / import the results per polling station first",
                ));
            }
            let unknown = f.unmatched(&lists);
            if !unknown.is_empty() {
                let known: Vec<&str> = lists.iter().map(String::as_str).take(60).collect();
                return Err(ServiceError::invalid(
                    "unknown_list",
                    format!(
                        "listes ou candidats inconnus / unknown lists or candidates: {} — le fichier contient / the results hold: {}",
                        unknown.join(", "),
                        known.join(", ")
                    ),
                ));
            }
        }
        self.store.set_targeting(st.campaign(), &f).await?;
        Ok(f)
    }

    /// Doors per station key, over the whole campaign.
    async fn doors_per_station(&self, campaign: &str) -> Result<BTreeMap<String, u64>, ServiceError> {
        let mut out = BTreeMap::new();
        for (_, station, doors) in self.store.station_doors(campaign).await? {
            if let Some(s) = station {
                *out.entry(station_key(&s)).or_default() += doors;
            }
        }
        Ok(out)
    }

    /// Every station with its results and priority, highest priority first.
    pub async fn stations(&self, st: &Staff) -> Result<Vec<StationView>, ServiceError> {
        Ok(self.station_table(st).await?.into_iter().map(|(v, _)| v).collect())
    }

    async fn station_table(&self, st: &Staff) -> Result<Vec<(StationView, Option<serde_json::Value>)>, ServiceError> {
        let formula = self.targeting(st).await?;
        let doors = self.doors_per_station(st.campaign()).await?;
        let mut rows: BTreeMap<String, (Option<StationResults>, Option<serde_json::Value>)> = BTreeMap::new();
        for s in self.store.stations(st.campaign()).await? {
            rows.insert(station_key(&s.id), (s.results, s.boundary));
        }
        for id in doors.keys() {
            rows.entry(id.clone()).or_default();
        }
        let mut out: Vec<(StationView, Option<serde_json::Value>)> = rows
            .into_iter()
            .map(|(id, (results, boundary))| {
                let score = results.as_ref().map(|r| formula.score(r));
                let mut flags = results.as_ref().map(|r| r.flags.clone()).unwrap_or_default();
                if results.is_none() {
                    flags.push("no results".into());
                }
                (
                    StationView {
                        name: results.as_ref().and_then(|r| r.name.clone()),
                        registered: results.as_ref().map(|r| r.registered),
                        voters: results.as_ref().map(|r| r.voters),
                        expressed: results.as_ref().map(|r| r.expressed),
                        abstention: score.map(|s| s.abstention),
                        favourable_share: score.and_then(|s| s.favourable_share),
                        priority: score.map_or(0.0, |s| s.priority),
                        doors: doors.get(&id).copied().unwrap_or(0),
                        has_results: results.is_some(),
                        has_boundary: boundary.is_some(),
                        flags,
                        id,
                    },
                    boundary,
                )
            })
            .collect();
        out.sort_by(|a, b| b.0.priority.total_cmp(&a.0.priority).then(a.0.id.cmp(&b.0.id)));
        Ok(out)
    }

    /// Stations as a GeoJSON FeatureCollection (those with a boundary), for the choropleth.
    pub async fn stations_geojson(&self, st: &Staff) -> Result<serde_json::Value, ServiceError> {
        let features: Vec<serde_json::Value> = self
            .station_table(st)
            .await?
            .into_iter()
            .filter_map(|(v, g)| {
                Some(
                    serde_json::json!({"type": "Feature", "geometry": g?, "properties": serde_json::to_value(v).ok()?}),
                )
            })
            .collect();
        Ok(serde_json::json!({"type": "FeatureCollection", "features": features}))
    }

    /// Turfs within reach, highest priority first: each turf carries the share of every station's
    /// priority that its doors hold.
    pub async fn turf_ranking(&self, st: &Staff) -> Result<Ranking, ServiceError> {
        let formula = self.targeting(st).await?;
        let stations: HashMap<String, StationView> =
            self.stations(st).await?.into_iter().map(|s| (s.id.clone(), s)).collect();
        let mut per_turf: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut without: HashMap<String, u64> = HashMap::new();
        for (turf, station, doors) in self.store.station_doors(st.campaign()).await? {
            let Some(turf) = turf else { continue };
            match station.map(|s| station_key(&s)) {
                Some(s) if stations.get(&s).is_some_and(|v| v.has_results) => {
                    *per_turf.entry(turf).or_default().entry(s).or_default() += doors;
                }
                Some(s) => {
                    *per_turf.entry(turf.clone()).or_default().entry(s).or_default() += doors;
                    *without.entry(turf).or_default() += doors;
                }
                None => *without.entry(turf).or_default() += doors,
            }
        }
        let mut turfs = Vec::new();
        for t in self.turfs(st).await? {
            let by_station = per_turf.remove(&t.id).unwrap_or_default();
            let priority: f64 = by_station
                .iter()
                .filter_map(|(s, d)| {
                    let v = stations.get(s)?;
                    (v.doors > 0).then(|| v.priority * *d as f64 / v.doors as f64)
                })
                .sum();
            let mut list: Vec<(String, u64)> = by_station.into_iter().collect();
            list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            turfs.push(TurfRank {
                doors_without_results: without.get(&t.id).copied().unwrap_or(0),
                turf_id: t.id,
                name: t.name,
                team_id: t.team_id,
                volunteer_id: t.volunteer_id,
                doors: t.doors,
                priority,
                stations: list,
            });
        }
        turfs.sort_by(|a, b| b.priority.total_cmp(&a.priority).then(a.turf_id.cmp(&b.turf_id)));
        Ok(Ranking { formula, turfs })
    }
}
