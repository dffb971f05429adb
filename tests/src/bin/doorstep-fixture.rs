//! Writes a turf package built from the real Nantes addresses, for the binding tests:
//! `doorstep-fixture <turf-id> <doors> <out.json>`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: doorstep-fixture <turf-id> <buildings> <out.json>");
        std::process::exit(2);
    }
    let n: usize = args[2].parse().expect("a number of buildings");
    let p = doorstep_tests::turf_package(&args[1], n);
    std::fs::write(&args[3], serde_json::to_vec(&p).expect("serialisable")).expect("writable");
}
