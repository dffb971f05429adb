//! The README's main command, in its fast form: the demo seeds a campaign from the real Nantes
//! addresses, runs ten simulated volunteers (the real core over real HTTP) and a canvass session
//! with two more, handed a street each offline by the captain's phone, who exchange messages in
//! the session's channel; every knock arrives on the server exactly once.

#[test]
fn demo_runs_and_every_knock_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_doorstep-demo"))
        .args(["--listen", "127.0.0.1:0", "--pace-ms", "0", "--knocks", "12", "--exit-when-done", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // 7,933 rows; two addresses appear twice in the open data and are merged into one building each.
    assert!(String::from_utf8_lossy(&out.stderr).contains("7931 adresses réelles"));
    assert!(stdout.contains("capitaine-nord déplace"), "{stdout}");
    // The canvass session: two volunteers signed up, each handed a street with no network by the
    // captain's phone; their knocks arrive too, once.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Bilan de la séance « Matinée de porte-à-porte"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains(" : 2 inscrits, 2 accueillis, 2 présents, "), "{line}");
    let doors: usize = line.split(" présents, ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!(doors > 0 && doors <= 24, "{line}");
    assert_eq!(stdout.matches("remise hors connexion par le téléphone du capitaine").count(), 2, "{stdout}");
    // Team messages (issue 18): the captain's instructions written and pinned offline, and each
    // volunteer's "street done", all in the session's channel on the captain's phone, once each.
    assert_eq!(stdout.matches("  messages de la séance — ").count(), 3, "{stdout}");
    assert_eq!(stdout.matches("portes frappées.").count(), 2, "{stdout}");
    assert!(stdout.contains("messages de la séance — capitaine : Rendez-vous ici à 12 h 30"), "{stdout}");
    assert!(stdout.contains("épinglé par le capitaine : Rendez-vous ici à 12 h 30"), "{stdout}");
    assert!(stdout.contains(&format!("Terminé : {} passages sur le serveur", 120 + doors)), "{stdout}");
}
