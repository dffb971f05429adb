//! The coordinator's command line: the same operations as the staff API, run straight on the
//! server's database (SQLite file or PostgreSQL URL) as the campaign's coordinator. Long work shows
//! a progress bar on a terminal (none when output is piped); every command ends with a summary
//! table. French first, English after the slash.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use doorstep_protocol::CampaignMode;
use indicatif::{ProgressBar, ProgressStyle};

use crate::admin::{CreateCampaignRequest, Staff};
use crate::error::ServiceError;
use crate::intake::CutRequest;
use crate::service::Service;
use crate::store::{Role, ServerStore, User};
use crate::targeting::Formula;

/// What a command failed on, said plainly.
pub type CliResult = Result<(), String>;

fn err(e: ServiceError) -> String {
    format!("{} ({})", e.message, e.code)
}

/// The CLI acts as the campaign's coordinator.
pub fn coordinator(campaign: &str) -> Staff {
    Staff {
        user: User {
            id: "doorstep-cli".into(),
            campaign_id: campaign.into(),
            role: Role::Coordinator,
            display_name: "Ligne de commande".into(),
            team_id: None,
        },
        teams: None,
    }
}

/// A spinner with a step label, or nothing when stderr is not a terminal.
fn spinner(what: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("template"));
    pb.set_message(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// A bar in per-mille for work that reports its fraction done.
fn bar(what: &str) -> ProgressBar {
    let pb = ProgressBar::new(1000);
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {percent:>3} % [{elapsed}]")
            .expect("template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

/// A two-column summary table.
pub fn table(title: &str, rows: &[(&str, String)]) -> String {
    let w = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0).max(title.chars().count());
    let v = rows.iter().map(|(_, v)| v.chars().count()).max().unwrap_or(0);
    let line = format!("+{}+{}+", "-".repeat(w + 2), "-".repeat(v + 2));
    let mut out = format!("{line}\n| {title:<w$} | {:<v$} |\n{line}\n", "");
    for (k, val) in rows {
        out.push_str(&format!("| {k:<w$} | {val:>v$} |\n"));
    }
    out.push_str(&line);
    out
}

/// `2027-06-30` → the first millisecond after that day (UTC): data is kept through the day.
pub fn end_of_day_ms(date: &str) -> Result<i64, String> {
    let bad = || format!("date attendue AAAA-MM-JJ / expected YYYY-MM-DD: {date}");
    let p: Vec<i64> = date.split('-').map(|x| x.parse::<i64>().map_err(|_| bad())).collect::<Result<_, _>>()?;
    let [y, m, d] = p[..] else { return Err(bad()) };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in[(m - 1) as usize] {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm), then the next midnight.
    let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468 + 1) * 86_400_000)
}

pub async fn create_campaign(
    service: &Service,
    id: &str,
    name: &str,
    voter_file: bool,
    retention_until_ms: Option<i64>,
) -> CliResult {
    let st = coordinator(id);
    let r = service
        .create_campaign_for(
            &st,
            CreateCampaignRequest {
                id: id.into(),
                name: name.into(),
                mode: if voter_file { CampaignMode::VoterFile } else { CampaignMode::AddressOnly },
                survey: None,
                result_codes: None,
                retention_until_ms,
                coordinator_id: format!("{id}-coordination"),
                coordinator_name: "Coordination".into(),
            },
        )
        .await
        .map_err(err)?;
    println!(
        "{}",
        table(
            "Campagne créée / campaign created",
            &[
                ("campagne / campaign", r.campaign_id),
                ("coordination", r.coordinator_id),
                ("jeton API / API token", r.token),
            ]
        )
    );
    Ok(())
}

/// What an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Addresses,
    Streets,
    Results,
    Stations,
}

pub async fn import(
    service: &Service,
    campaign: &str,
    kind: ImportKind,
    path: &std::path::Path,
    mapping: HashMap<String, String>,
) -> CliResult {
    let st = coordinator(campaign);
    let t = Instant::now();
    let pb = spinner(&format!("lecture de {} / reading", path.display()));
    // A street file is read where it lies (a département's GeoPackage is gigabytes).
    let bytes = if kind == ImportKind::Streets {
        Vec::new()
    } else {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?
    };
    pb.set_message(format!("import de {} Mo / importing", bytes.len() / 1_000_000));
    let geojson = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json"));
    // Every row left out, with its line: printed after the summary.
    let mut skipped: Vec<crate::import::RowError> = Vec::new();
    let rows: Vec<(&str, String)> = match kind {
        ImportKind::Addresses => {
            let r = service.import_file(&st, &bytes, geojson, mapping).await.map_err(err)?;
            skipped = r.errors.clone();
            let far = r.duplicates.iter().filter(|d| d.distance_m > 50.0).count();
            vec![
                ("lignes / rows", r.rows.to_string()),
                ("immeubles nouveaux / new buildings", r.imported.buildings.to_string()),
                ("portes nouvelles / new doors", r.imported.doors.to_string()),
                ("personnes / people", r.imported.people.to_string()),
                ("déjà présents / already there", r.imported.existing.to_string()),
                ("adresses en double, fusionnées / repeated addresses, merged", r.duplicates.len().to_string()),
                ("  dont à plus de 50 m / over 50 m apart", far.to_string()),
                (
                    "même adresse à plus de 100 m, gardées à part / same address over 100 m apart, kept apart",
                    r.kept_apart.len().to_string(),
                ),
                ("lignes écartées / rows skipped", r.errors.len().to_string()),
                ("secteurs mis à jour / turfs updated", r.imported.turfs_touched.len().to_string()),
            ]
        }
        ImportKind::Streets => {
            let r = service
                .import_streets_from(&st, crate::networks::NetworkSource::File(path.to_path_buf()))
                .await
                .map_err(err)?;
            for n in &r.notices {
                eprintln!("{n}");
            }
            vec![
                (
                    "format",
                    match r.format {
                        crate::networks::NetworkFormat::Geojson => "GeoJSON",
                        crate::networks::NetworkFormat::OsmPbf => "OpenStreetMap PBF",
                        crate::networks::NetworkFormat::BdtopoGpkg => "IGN BD TOPO (GeoPackage)",
                    }
                    .to_string(),
                ),
                ("voies gardées / ways kept", r.lines.to_string()),
                ("nœuds / nodes", r.nodes.to_string()),
                ("tronçons / segments", r.edges.to_string()),
                ("km de rues / km of street", format!("{:.1}", r.km)),
                ("non piétonnes, écartées / not walkable, left out", r.not_walkable.to_string()),
                ("loin des adresses, écartées / far from the addresses, left out", r.outside.to_string()),
                ("objets non linéaires / not lines", r.skipped.to_string()),
                ("secteurs mis à jour / turfs updated", r.turfs_touched.to_string()),
            ]
        }
        ImportKind::Results => {
            let r = service.import_results(&st, &bytes, mapping).await.map_err(err)?;
            skipped = r.errors.clone();
            vec![
                ("format / layout", r.layout),
                ("lignes / rows", r.rows.to_string()),
                ("bureaux / stations", r.stations.to_string()),
                ("listes / lists", r.lists.len().to_string()),
                ("lignes écartées / rows skipped", r.errors.len().to_string()),
                ("bureaux signalés / stations flagged", r.flagged.len().to_string()),
                ("bureaux sans résultats / stations without results", r.stations_without_results.len().to_string()),
                ("résultats sans adresses / results without doors", r.results_without_doors.len().to_string()),
            ]
        }
        ImportKind::Stations => {
            let r = service.import_stations(&st, &bytes, mapping).await.map_err(err)?;
            vec![
                ("bureaux / stations", r.stations.to_string()),
                ("objets ignorés / features skipped", r.skipped.to_string()),
                ("immeubles placés / buildings placed", r.buildings_assigned.to_string()),
                ("hors de tout bureau / in no station", r.buildings_outside.len().to_string()),
                ("contours qui se chevauchent / overlapping", r.buildings_ambiguous.len().to_string()),
                ("déjà en secteur / already in a turf", r.buildings_in_turfs.len().to_string()),
            ]
        }
    };
    pb.finish_and_clear();
    let mut rows = rows;
    rows.push(("durée / time", format!("{:.1} s", t.elapsed().as_secs_f64())));
    println!("{}", table(&format!("Import {}", path.display()), &rows));
    if !skipped.is_empty() {
        println!("Lignes écartées / rows skipped:");
        for e in &skipped {
            println!("  ligne / line {} : {}", e.line, e.reason);
        }
    }
    Ok(())
}

pub async fn cut(service: &Service, campaign: &str, req: CutRequest) -> CliResult {
    let st = coordinator(campaign);
    let t = Instant::now();
    let pb = bar("découpage");
    let shown = pb.clone();
    let r = service
        .cut_turfs_with_progress(
            &st,
            req,
            Box::new(move |step, f| {
                shown.set_message(step.to_string());
                shown.set_position((f * 1000.0) as u64);
            }),
        )
        .await
        .map_err(err)?;
    pb.finish_and_clear();
    let rep = &r.report;
    println!(
        "{}",
        table(
            "Découpage / turf cut",
            &[
                ("immeubles / buildings", r.buildings.to_string()),
                ("portes / doors", rep.doors.to_string()),
                ("secteurs / turfs", r.turfs.len().to_string()),
                ("cible / target (doors)", r.target_doors.to_string()),
                ("à ±10 % / within ±10 %", rep.within_10pct.to_string()),
                (
                    "  hors îlots et bureaux trop petits / islands and small stations apart",
                    format!("{} sur {}", rep.within_10pct_unconstrained, r.turfs.len() - rep.constrained),
                ),
                ("écart max / max deviation", format!("{:.1} %", rep.max_deviation * 100.0)),
                (
                    match rep.walk_gap_limit_m {
                        Some(_) => "non connexes (pas > 250 m) / not connected (step > 250 m)",
                        None => "non connexes / not connected",
                    },
                    rep.disconnected.to_string(),
                ),
                ("îlots rattachés / islands joined", format!("{} ({} portes)", rep.islands_joined, rep.island_doors)),
                ("loin de toute rue / far from a street", rep.far_from_street.len().to_string()),
                ("longs côtés coupés / long sides split", rep.long_sides_split.to_string()),
                ("réseau de rues / street network", if rep.street_network { "oui" } else { "non" }.to_string()),
                ("secteurs redécoupés / turfs re-cut", r.dissolved.len().to_string()),
                ("durée / time", format!("{:.1} s", t.elapsed().as_secs_f64())),
            ]
        )
    );
    for g in &rep.gaps {
        println!(
            "  {} : un pas de {:.0} m (îlot rattaché) / a {:.0} m step (island joined)",
            g.turf_id, g.gap_m, g.gap_m
        );
    }
    for notice in &r.notices {
        println!("⚠ {notice}");
    }
    Ok(())
}

pub async fn rank(service: &Service, campaign: &str, formula: Option<Formula>, top: usize) -> CliResult {
    let st = coordinator(campaign);
    if let Some(f) = formula {
        service.set_targeting(&st, f).await.map_err(err)?;
    }
    let r = service.turf_ranking(&st).await.map_err(err)?;
    let fav = if r.formula.favourable.is_empty() { "—".to_string() } else { r.formula.favourable.join(", ") };
    println!(
        "Priorité = inscrits^{} × abstention^{} × part favorable^{} (listes favorables : {fav})",
        r.formula.registered, r.formula.abstention, r.formula.favourable_share
    );
    println!(
        "{:>4}  {:<28} {:>6} {:>10}  {:<12} bureaux / stations",
        "#", "secteur / turf", "portes", "priorité", "bénévole"
    );
    for (i, t) in r.turfs.iter().take(top).enumerate() {
        let stations = t.stations.iter().map(|(s, d)| format!("{s} ({d})")).collect::<Vec<_>>().join(", ");
        println!(
            "{:>4}  {:<28} {:>6} {:>10.1}  {:<12} {stations}",
            i + 1,
            format!("{} {}", t.turf_id, t.name).chars().take(28).collect::<String>(),
            t.doors,
            t.priority,
            t.volunteer_id.as_deref().unwrap_or("—"),
        );
    }
    let without: u64 = r.turfs.iter().map(|t| t.doors_without_results).sum();
    println!(
        "{}",
        table(
            "Classement / ranking",
            &[
                ("secteurs / turfs", r.turfs.len().to_string()),
                ("portes sans résultats / doors without results", without.to_string()),
            ]
        )
    );
    Ok(())
}

/// Gives a staff member a dashboard login and password.
pub async fn set_password(service: &Service, campaign: &str, user: &str, login: &str, password: String) -> CliResult {
    let req = crate::session::SetLoginRequest { login: login.to_string(), password };
    service.set_login(&coordinator(campaign), user, req).await.map_err(|e| e.message)?;
    println!(
        "{}",
        table(
            "Connexion au tableau de bord / dashboard login",
            &[("utilisateur / user", user.into()), ("identifiant / login", login.to_lowercase())]
        )
    );
    Ok(())
}

pub async fn export(service: &Service, campaign: &str, out: &std::path::Path, json: bool) -> CliResult {
    let st = coordinator(campaign);
    let pb = spinner("export");
    let reports = service.export_reports(&st, if json { "json" } else { "csv" }).await.map_err(err)?;
    let body = if json {
        let rows: Vec<serde_json::Value> =
            reports.iter().map(|r| serde_json::json!({"report": r.report, "overlap": r.overlap})).collect();
        serde_json::to_string_pretty(&rows).expect("serialisable")
    } else {
        crate::exports::reports_csv(&reports)
    };
    std::fs::write(out, body).map_err(|e| format!("{}: {e}", out.display()))?;
    pb.finish_and_clear();
    let overlaps = reports.iter().filter(|r| r.overlap).count();
    println!(
        "{}",
        table(
            &format!("Export {}", out.display()),
            &[("passages / reports", reports.len().to_string()), ("chevauchements / overlaps", overlaps.to_string())]
        )
    );
    Ok(())
}

/// Opens the server's store from a path or `postgres://` URL.
pub async fn open_store(database: &str) -> Result<Arc<dyn ServerStore>, String> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        Ok(Arc::new(
            crate::store::postgres::PgStore::connect(database, 4).await.map_err(|e| format!("{database}: {e}"))?,
        ))
    } else {
        Ok(Arc::new(crate::store::sqlite::SqliteStore::open(database).map_err(|e| format!("{database}: {e}"))?))
    }
}

/// Copies a running server's SQLite database into `to` as it stands at one instant (a reader's
/// snapshot: under WAL the server goes on writing meanwhile), checks the copy, and says what it
/// holds. PostgreSQL has its own tools (`pg_dump`).
pub fn backup_sqlite(database: &str, to: &std::path::Path) -> Result<String, String> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        return Err("PostgreSQL : utilisez pg_dump -Fc (docs/scaling.md) / PostgreSQL: use pg_dump -Fc".into());
    }
    if to.exists() {
        return Err(format!("{} existe déjà / already exists", to.display()));
    }
    let target = to.to_str().ok_or_else(|| format!("{}: not a UTF-8 path", to.display()))?;
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = rusqlite::Connection::open_with_flags(database, flags).map_err(|e| format!("{database}: {e}"))?;
    c.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| e.to_string())?;
    c.execute("VACUUM INTO ?1", [target]).map_err(|e| format!("{database} → {target}: {e}"))?;
    let copy = rusqlite::Connection::open_with_flags(to, flags).map_err(|e| format!("{target}: {e}"))?;
    let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("{target}: la copie est abîmée / the copy is damaged: {check}"));
    }
    let count = |sql: &str| copy.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(|e| e.to_string());
    let (reports, doors) = (count("SELECT COUNT(*) FROM reports")?, count("SELECT COUNT(*) FROM doors")?);
    Ok(format!("copie / backup {target} : {doors} portes / doors, {reports} passages / reports"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn end_of_day_is_the_next_utc_midnight() {
        assert_eq!(super::end_of_day_ms("1970-01-01"), Ok(86_400_000));
        assert_eq!(super::end_of_day_ms("2024-02-29"), Ok(1_709_251_200_000)); // 2024-03-01T00:00Z
        assert_eq!(super::end_of_day_ms("2027-06-30"), Ok(1_814_400_000_000)); // 2027-07-01T00:00Z
        for bad in ["2023-02-29", "2027-13-01", "27-06-30", "2027-06", "demain"] {
            assert!(super::end_of_day_ms(bad).is_err(), "{bad}");
        }
    }
}
