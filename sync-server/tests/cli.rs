//! The coordinator CLI end to end on an SQLite file: create a campaign, import real Nantes
//! addresses and streets, cut, rank, export; a bad results file fails with its line and changes
//! nothing. Progress bars stay off when output is not a terminal; the summary tables are on stdout.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep-server")).current_dir(dir).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (success, stdout, stderr) = run(dir, args);
    assert!(success, "{args:?}\n{stdout}\n{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no progress drawing when not on a terminal: {stderr:?}");
    stdout
}

/// The value of a summary table's row.
fn cell(table: &str, row: &str) -> String {
    let line = table.lines().find(|l| l.contains(row)).unwrap_or_else(|| panic!("no row {row} in\n{table}"));
    line.trim_matches('|').rsplit('|').next().unwrap().trim().to_string()
}

#[test]
fn create_import_cut_rank_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/nantes");
    let text = std::fs::read_to_string(data.join("fr_nantes_centre_addresses.csv")).unwrap();
    std::fs::write(d.join("a.csv"), text.lines().take(801).collect::<Vec<_>>().join("\n")).unwrap();
    let db = ["--database", "c.db", "--campaign", "nantes"];
    let out = ok(d, &["create-campaign", "--database", "c.db", "--id", "nantes", "--name", "Nantes"]);
    assert_eq!(cell(&out, "jeton API").len(), 43, "{out}");
    let out = ok(d, &[&["import", "addresses", "a.csv"][..], &db].concat());
    assert_eq!(cell(&out, "lignes / rows"), "800");
    let streets = data.join("fr_nantes_centre_streets.geojson");
    let out = ok(d, &[&["import", "streets", streets.to_str().unwrap()][..], &db].concat());
    assert!(cell(&out, "tronçons").parse::<u32>().unwrap() > 5000, "{out}");
    let out = ok(d, &[&["cut", "--target", "60"][..], &db].concat());
    let turfs: usize = cell(&out, "secteurs / turfs").parse().unwrap();
    assert!((10..=16).contains(&turfs), "{out}");
    assert_eq!(cell(&out, "non connexes"), "0");
    assert_eq!(cell(&out, "réseau de rues"), "oui");
    assert!(!out.contains("Aucun réseau de rues"), "{out}");
    // No results imported: every turf ranks at 0, and the table says how many doors lack results.
    let out = ok(d, &[&["rank", "--top", "3"][..], &db].concat());
    assert_eq!(cell(&out, "secteurs / turfs"), turfs.to_string());
    assert!(cell(&out, "portes sans résultats").parse::<u32>().unwrap() > 700, "{out}");
    // A results file that cannot be: refused with its line, nothing stored.
    std::fs::write(d.join("r.csv"), "bureau,inscrits,votants,exprimes,liste,voix\n1,100,150,140,A,140\n").unwrap();
    let (success, _, stderr) = run(d, &[&["import", "results", "r.csv"][..], &db].concat());
    assert!(!success);
    assert!(stderr.contains("ligne 2") && stderr.contains("150 voters for 100 registered"), "{stderr}");
    let out = ok(d, &[&["export", "--out", "e.csv"][..], &db].concat());
    assert_eq!(cell(&out, "passages / reports"), "0");
    assert!(std::fs::read_to_string(d.join("e.csv")).unwrap().starts_with("\"Report ID\""));
    // The command line's work is in the audit log as the API's is (the services write it).
    let c = rusqlite::Connection::open(d.join("c.db")).unwrap();
    let actions: Vec<String> = c
        .prepare("SELECT action FROM audit_log WHERE campaign_id = 'nantes' ORDER BY at_ms, id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for a in ["import.addresses_csv", "import.streets", "turfs.cut", "export.reports"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    // An unknown campaign or a missing file: a clear error, exit code 1.
    let (success, _, stderr) = run(d, &["cut", "--database", "c.db", "--campaign", "nope"]);
    assert!(!success && stderr.contains("erreur / error"), "{stderr}");
    let (success, _, stderr) = run(d, &[&["import", "addresses", "missing.csv"][..], &db].concat());
    assert!(!success && stderr.contains("missing.csv"), "{stderr}");
}

/// Retention from the command line: a campaign kept until a past day is purged by `purge`; one
/// kept until a later day, or with no date, is not; a bad date is refused.
#[test]
fn retention_dates_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["create-campaign", "--database", "r.db", "--id", "old", "--name", "2020", "--keep-until", "2020-06-30"]);
    ok(d, &["create-campaign", "--database", "r.db", "--id", "next", "--name", "2027", "--keep-until", "2999-01-01"]);
    ok(d, &["create-campaign", "--database", "r.db", "--id", "open", "--name", "Sans date"]);
    let out = ok(d, &["purge", "--database", "r.db"]);
    assert!(out.contains("| old | 0 | 0 | 0 |"), "{out}");
    assert!(!out.contains("| next ") && !out.contains("| open "), "{out}");
    let (success, _, stderr) =
        run(d, &["create-campaign", "--database", "r.db", "--id", "x", "--name", "X", "--keep-until", "2027-02-30"]);
    assert!(!success && stderr.contains("YYYY-MM-DD"), "{stderr}");
}
