//! The fuzz targets' short form (the long one is `scripts/fuzz.sh`, with cargo-fuzz): every
//! target over its seed corpus (`fuzz/corpus/`), every crash ever found (`fuzz/regressions/`), and
//! seeded mutations of the seeds. A panic writes the input to `tests/out/fuzz/` and fails.

use std::path::Path;

use doorstep_tests::fuzzing::{TARGETS, mutate};

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_else(|_| Vec::new());
    out.sort();
    out.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn every_decoder_survives_its_corpus_crashes_and_mutations() {
    let root = doorstep_tests::repo_root().join("fuzz");
    let rounds: u64 = std::env::var("DOORSTEP_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000);
    let mut ran = 0;
    for (name, target) in TARGETS {
        let seeds = files(&root.join("corpus").join(name));
        assert!(
            !seeds.is_empty(),
            "fuzz/corpus/{name} has no seed (cargo run -p doorstep-tests --bin doorstep-fuzz-seeds)"
        );
        let mut inputs: Vec<Vec<u8>> = seeds.clone();
        inputs.extend(files(&root.join("regressions").join(name)));
        // The server target goes through HTTP and SQLite: fewer rounds.
        let n = if *name == "server_push" { rounds / 5 } else { rounds };
        for i in 0..n {
            let a = &seeds[(i as usize) % seeds.len()];
            let b = &seeds[(i as usize / seeds.len()) % seeds.len()];
            let mut m = mutate(i, a, b);
            for round in 1..(i % 4) {
                m = mutate(i * 31 + round, &m, b);
            }
            inputs.push(m);
        }
        for (i, input) in inputs.iter().enumerate() {
            if std::panic::catch_unwind(|| target(input)).is_err() {
                let out = doorstep_tests::repo_root().join("tests/out/fuzz");
                std::fs::create_dir_all(&out).unwrap();
                let path = out.join(format!("{name}-{i}.bin"));
                std::fs::write(&path, input).unwrap();
                panic!("{name} panicked on input {i}, saved to {}", path.display());
            }
            ran += 1;
        }
    }
    println!("{ran} inputs through {} decoders", TARGETS.len());
}
