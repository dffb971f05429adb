//! Paper walk sheets (issue 17), read back as a person and a phone would: the real server's PDF
//! of a 300-door turf of Nantes, rasterised by Poppler (`pdftoppm`, Debian's poppler-utils) at
//! 200 dpi (at 150 dpi, 3 pixels a module, a few codes do not decode), every QR code on every page decoded (rqrr) back to its door; its text (`pdftotext`)
//! read for the notices, the legend and the names (none in an address-only campaign, the
//! residents' in a voter-file one). Its render time is measured by `doorstep-server-bench
//! sheets`, never asserted here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use doorstep_protocol::{CampaignMode, Household, Person};
use doorstep_server::service::Service;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{ServerStore, StoreOps};

fn tool(name: &str) -> std::process::Command {
    assert!(
        std::process::Command::new("which").arg(name).output().map(|o| o.status.success()).unwrap_or(false),
        "{name} is missing: apt-get install poppler-utils"
    );
    std::process::Command::new(name)
}

/// A binary PGM (`P5`, 8-bit) as (width, height, pixels).
fn read_pgm(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes[i] == b'#' {
            while bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5", "a binary greymap");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let data = bytes[i + 1..].to_vec();
    assert_eq!(data.len(), w * h);
    (w, h, data)
}

/// Every QR code's text on every page of a PDF.
fn decode_pages(pdf: &Path, dir: &Path) -> Vec<(usize, String)> {
    let out = tool("pdftoppm")
        .args(["-r", &std::env::var("SHEET_DPI").unwrap_or("200".into()), "-gray"])
        .arg(pdf)
        .arg(dir.join("page"))
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&out.stderr));
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pgm"))
        .collect();
    pages.sort();
    let mut found = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        let (w, h, px) = read_pgm(page);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
        for grid in img.detect_grids() {
            let (_, text) =
                grid.decode().unwrap_or_else(|e| panic!("a QR code on page {} does not decode: {e:?}", n + 1));
            found.push((n + 1, text));
        }
    }
    found
}

fn pdftotext(pdf: &Path) -> String {
    let out = tool("pdftotext").args(["-layout", "-enc", "UTF-8"]).arg(pdf).arg("-").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

struct World {
    service: Service,
    store: Arc<dyn ServerStore>,
    co: doorstep_server::admin::Staff,
    door_ids: Vec<String>,
    codes: BTreeMap<String, String>,
    names: Vec<String>,
    _dir: tempfile::TempDir,
}

async fn world(voters: bool) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn ServerStore> = Arc::new(SqliteStore::open(dir.path().join("server.db")).unwrap());
    let service = Service::new(store.clone());
    let (mut campaign, buildings, entrances, doors) = doorstep_tests::server_import(300);
    campaign.name = "Nantes en commun".into();
    campaign.mode = if voters { CampaignMode::VoterFile } else { CampaignMode::AddressOnly };
    service.create_campaign(&campaign).await.unwrap();
    let mut import = doorstep_tests::import_of(&buildings, &entrances, &doors);
    let mut names = Vec::new();
    if voters {
        for (i, d) in doors.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
            let h = format!("h-{i}");
            import.households.push(Household { id: h.clone(), door_id: d.id.clone() });
            let name = format!("Habitante Numéro{i}");
            import.people.push(Person {
                id: format!("p-{i}"),
                household_id: h,
                display_name: name.clone(),
                birth_year: None,
            });
            names.push(name);
        }
    }
    store.import(&campaign.id, &import).await.unwrap();
    let ids: Vec<String> = buildings.iter().map(|b| b.id.clone()).collect();
    store.create_turf(&campaign.id, "t-talensac", "Talensac – Bretagne", None, &ids).await.unwrap();
    let co = doorstep_tests::coordinator(&campaign.id);
    store.create_user(&co.user).await.unwrap();
    let door_ids: Vec<String> = doors.iter().map(|d| d.id.clone()).collect();
    let codes = doorstep_protocol::door_code::door_codes(door_ids.iter().map(String::as_str));
    World { service, store, co, door_ids, codes, names, _dir: dir }
}

async fn sheet(voters: bool) -> (Vec<u8>, Vec<String>, BTreeMap<String, String>, Vec<String>) {
    let w = world(voters).await;
    let pdf = w.service.walk_sheet(&w.co, "t-talensac").await.unwrap();
    let audit = w.store.audit_log(&w.co.user.campaign_id, i64::MAX, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "sheet.download" && a.subject.as_deref() == Some("t-talensac")));
    (pdf, w.door_ids, w.codes, w.names)
}

/// Paper results typed by code go through the push's path: accepted once (the same sheet typed
/// again is a duplicate), marked paper, counted on the dashboard like a phone's; unreadable rows
/// are answered with why and change nothing; a captain outside the turf's team is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_results_typed_by_code_count_once() {
    use doorstep_server::paper::{PaperRequest, PaperRow};
    let w = world(false).await;
    let (d0, d1) = (&w.door_ids[0], &w.door_ids[1]);
    let row = |code: &str, result: &str| PaperRow { code: code.into(), result: result.into(), note: None };
    let req = || PaperRequest {
        rows: vec![
            row(&w.codes[d0].to_lowercase(), "1"),
            row(&format!("{}-{}", &w.codes[d1][..3], &w.codes[d1][3..]), "not_home"),
            row("ZZZZZZ", "1"),
            row(&w.codes[d0], "99"),
            row("pas un code", "1"),
        ],
        walked_ms: None,
    };
    let first = w.service.type_paper(&w.co, "t-talensac", req()).await.unwrap();
    let status: Vec<&str> = first.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(status, ["accepted", "accepted", "rejected", "rejected", "rejected"], "{first:?}");
    assert_eq!(first[0].door_id.as_deref(), Some(d0.as_str()));
    assert!(first[2].message.as_deref().unwrap().contains("aucune porte"), "{first:?}");
    assert!(first[3].message.as_deref().unwrap().contains("inconnu"));
    let again = w.service.type_paper(&w.co, "t-talensac", req()).await.unwrap();
    assert_eq!(again[0].status, "duplicate", "the same sheet typed twice counts once: {again:?}");
    assert_eq!(again[1].status, "duplicate");
    // Stored as reports of the paper "device", counted by the dashboard's progress.
    let db = rusqlite::Connection::open(w._dir.path().join("server.db")).unwrap();
    let (n, devices): (i64, String) = db
        .query_row("SELECT count(*), group_concat(DISTINCT device_id) FROM reports", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!((n, devices.as_str()), (2, "paper:coord"));
    let progress = w.service.progress(&w.co).await.unwrap();
    assert_eq!(progress.campaign.knocked, 2, "{:?}", progress.campaign);
    let audit = w.store.audit_log(&w.co.user.campaign_id, i64::MAX, 20).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "paper.typed"));
    // A captain of no team that reaches the turf: refused, nothing written.
    let cap = doorstep_server::admin::Staff {
        user: doorstep_server::store::User {
            id: "cap-x".into(),
            campaign_id: w.co.user.campaign_id.clone(),
            role: doorstep_server::store::Role::Captain,
            display_name: "X".into(),
            team_id: None,
        },
        teams: Some(vec![]),
    };
    assert!(w.service.type_paper(&cap, "t-talensac", req()).await.is_err());
    // A day walked out of range (schemathesis sent i64::MIN once): a clear refusal. Today, sent
    // as the dashboard sends it (noon, the browser's clock), is the day walked.
    let mut today = req();
    today.walked_ms = Some(now_ms() + 6 * 3_600_000);
    let t = w.service.type_paper(&w.co, "t-talensac", today).await.unwrap();
    assert_eq!(t[0].status, "duplicate", "typed earlier today: {t:?}");
    for walked in [i64::MIN, -1, i64::MAX, 0, now_ms() + 2 * 86_400_000] {
        let mut r = req();
        r.walked_ms = Some(walked);
        let e = w.service.type_paper(&w.co, "t-talensac", r).await.unwrap_err();
        assert_eq!(e.code, "bad_walked_ms", "{walked}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_qr_code_of_a_300_door_sheet_decodes_back_to_its_door() {
    let (pdf, door_ids, codes, _) = sheet(false).await;
    assert!(door_ids.len() >= 300, "{} doors", door_ids.len());
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.len() < 500_000, "{} bytes for {} doors", pdf.len(), door_ids.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.pdf");
    std::fs::write(&path, &pdf).unwrap();
    // Kept for a person to look at: tests/out/walk-sheet.pdf.
    let out = doorstep_tests::repo_root().join("tests/out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("walk-sheet.pdf"), &pdf).unwrap();
    let found = decode_pages(&path, dir.path());
    let texts: Vec<&str> = found.iter().map(|(_, t)| t.as_str()).collect();
    let distinct: BTreeSet<&str> = texts.iter().copied().collect();
    assert_eq!(texts.len(), distinct.len(), "no door printed twice");
    let want: BTreeSet<String> =
        codes.values().map(|c| doorstep_protocol::door_code::qr_text("t-talensac", c)).collect();
    let got: BTreeSet<String> = distinct.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "every door's QR code, and nothing else");
    // Each decodes to its turf and a code the phone maps back to the door.
    let by_code: BTreeMap<&String, &String> = codes.iter().map(|(d, c)| (c, d)).collect();
    for t in &texts {
        let (turf, code) = doorstep_protocol::door_code::read_qr(t).unwrap();
        assert_eq!(turf, "t-talensac");
        assert!(by_code.contains_key(&code));
    }
    let pages = found.iter().map(|(p, _)| *p).max().unwrap();
    println!(
        "{} doors, {} pages, {} bytes ({} bytes a door)",
        door_ids.len(),
        pages,
        pdf.len(),
        pdf.len() / door_ids.len()
    );

    let text = pdftotext(&path);
    for must in [
        "Porte-à-porte — Talensac – Bretagne",
        "Document confidentiel",
        "Responsable du traitement : « Nantes en commun »",
        "CNIL (cnil.fr)",
        "Résultat : 1 ",
        "côté pair",
        "côté impair",
        "Notes :",
    ] {
        assert!(text.contains(must), "the sheet says {must:?}");
    }
    assert!(text.contains(&format!("page 1 / {pages}")) && text.contains(&format!("{} portes", door_ids.len())));
    // Every door's code is printed as text too, for typing in.
    for c in codes.values() {
        assert!(text.contains(c.as_str()), "code {c} printed");
    }
    assert!(!text.contains("Habitant"), "an address-only campaign prints no names");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_file_sheet_prints_the_residents() {
    let (pdf, _, _, names) = sheet(true).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let text = pdftotext(&path);
    assert!(!names.is_empty());
    for n in &names {
        assert!(text.contains(n.as_str()), "{n} printed at their door");
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
