//! Writes a turf package built from the real Nantes addresses, for the binding tests:
//! `doorstep-fixture <turf-id> <doors> <out.json> [--voters]` (`--voters`: a voter-file campaign,
//! each door with a household of fictional people).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let voters = args.len() == 5 && args[4] == "--voters";
    if args.len() != 4 && !voters {
        eprintln!("usage: doorstep-fixture <turf-id> <buildings> <out.json> [--voters]");
        std::process::exit(2);
    }
    let n: usize = args[2].parse().expect("a number of buildings");
    let mut p = doorstep_tests::turf_package(&args[1], n);
    if voters {
        p = doorstep_tests::with_voters(p);
    }
    std::fs::write(&args[3], serde_json::to_vec(&p).expect("serialisable")).expect("writable");
}
