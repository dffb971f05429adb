//! The server's modules import each other without cycles (issue 16): records → storage →
//! services → HTTP, each layer using only those below it. Read from the source text: every
//! `crate::a::b` and `super::x` path outside comments and test modules is an edge from the file
//! that writes it to the module it names (a file, or a folder's `mod.rs`); `mod.rs` declaring its
//! children is not a use. Fails with the cycle spelled out when one comes back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module name of a source file: `store/ops` for `store/ops.rs`, `store` for `store/mod.rs`.
fn module_of(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let name = rel.to_string_lossy().replace('\\', "/");
    name.strip_suffix("/mod").map(str::to_string).unwrap_or(name)
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments and without the `#[cfg(test)]` module at the end.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// Every module path a file names, as written: `crate::store::ops`, `super::sql`, and each name
/// inside `use crate::{a, b::c}` groups.
fn paths(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut at = 0;
        while let Some(i) = code[at..].find(start) {
            let begin = at + i;
            at = begin + start.len();
            if begin > 0 && (bytes[begin - 1].is_ascii_alphanumeric() || bytes[begin - 1] == b'_') {
                continue;
            }
            let base = start.trim_end_matches("::").to_string();
            if code[at..].starts_with('{') {
                let end = code[at..].find('}').map_or(code.len(), |e| at + e);
                for item in code[at + 1..end].split(',') {
                    let segs: Vec<String> = item
                        .trim()
                        .split("::")
                        .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                        .collect();
                    out.push((base.clone(), segs));
                }
                continue;
            }
            let segs: Vec<String> = code[at..]
                .split("::")
                .map(|s| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>())
                .take_while(|s| !s.is_empty())
                .collect();
            out.push((base, segs));
        }
    }
    out
}

/// The module a path lands in: the longest prefix that is a module of the crate.
fn resolve(modules: &BTreeSet<String>, from: &str, base: &str, segs: &[String]) -> Option<String> {
    let mut prefix: Vec<String> = match base {
        "crate" => vec![],
        _ => {
            // `super` of `store/ops` is `store`; of a folder's `mod.rs` (`store`) the crate root.
            let mut p: Vec<String> = from.split('/').map(str::to_string).collect();
            p.pop();
            p
        }
    };
    let mut found = None;
    for s in segs {
        prefix.push(s.clone());
        let name = prefix.join("/");
        if modules.contains(&name) {
            found = Some(name);
        } else {
            break;
        }
    }
    found
        .or_else(|| {
            (!prefix.is_empty() && base == "super").then(|| prefix[..prefix.len().saturating_sub(segs.len())].join("/"))
        })
        .filter(|m| !m.is_empty() && modules.contains(m))
}

fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Tarjan's strongly connected components; any with two or more modules is a cycle.
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            if !t.index.contains_key(w.as_str()) {
                visit(t, w);
                let lw = t.low[w.as_str()];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w.as_str()) {
                let iw = t.index[w.as_str()];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t =
        T { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: vec![], on: BTreeSet::new(), out: vec![] };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(root, &mut all);
    let modules: BTreeSet<String> =
        all.iter().map(|f| module_of(root, f)).filter(|m| m != "lib" && m != "main").collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for f in &all {
        let from = module_of(root, f);
        if !modules.contains(&from) {
            continue;
        }
        for (base, segs) in paths(&code(&std::fs::read_to_string(f).unwrap())) {
            if let Some(to) = resolve(&modules, &from, &base, &segs)
                && to != from
            {
                edges.get_mut(&from).unwrap().insert(to);
            }
        }
    }
    edges
}

#[test]
fn the_server_modules_import_each_other_without_cycles() {
    // `DOORSTEP_STRUCTURE_ROOT` points the check at another tree (to see it fail on an old one).
    let root = std::env::var_os("DOORSTEP_STRUCTURE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| doorstep_tests::repo_root().join("sync-server/src"));
    let edges = graph(&root);
    assert!(edges.len() > 20, "the server's modules were found: {:?}", edges.keys().collect::<Vec<_>>());
    assert!(edges["service"].contains("store"), "the reader sees imports: {:?}", edges["service"]);
    let found = cycles(&edges);
    let explain: Vec<String> = found
        .iter()
        .map(|c| {
            let inside: Vec<String> = c
                .iter()
                .flat_map(|a| edges[a].iter().filter(|b| c.contains(b)).map(move |b| format!("{a} → {b}")))
                .collect();
            inside.join(", ")
        })
        .collect();
    assert!(found.is_empty(), "import cycles among the server's modules: {explain:#?}");
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let e = |pairs: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in pairs {
            m.entry(a.to_string()).or_default().insert(b.to_string());
            m.entry(b.to_string()).or_default();
        }
        m
    };
    assert!(cycles(&e(&[("a", "b"), ("b", "c")])).is_empty());
    assert_eq!(cycles(&e(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])), vec![vec!["a", "b", "c"]]);
    let modules: BTreeSet<String> = ["store", "store/ops", "service"].iter().map(|s| s.to_string()).collect();
    let p = paths(
        "use super::ops;\nuse crate::{service::Service, store};\n// crate::nothing\nlet x = crate::store::ops::f();",
    );
    let got: BTreeSet<String> = p.iter().filter_map(|(b, s)| resolve(&modules, "store/push", b, s)).collect();
    assert_eq!(got, ["service", "store", "store/ops"].iter().map(|s| s.to_string()).collect());
}

/// Every package `name` links in a normal build (not its tests), as `cargo tree` resolves it with
/// the workspace's features.
fn closure(name: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-q", "-e", "normal", "--prefix", "none", "-p", name])
        .current_dir(doorstep_tests::repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_server_does_not_link_the_phones_core() {
    let server = closure("doorstep-server");
    assert!(server.contains("doorstep-streets") && server.contains("axum"), "the reader sees dependencies: {server:?}");
    // The phone's core stays out of the server. (reqwest is shared since issue 19: the server
    // calls SMS providers' REST APIs with the client the phone already builds.)
    assert!(!server.contains("doorstep-core"), "doorstep-server depends on doorstep-core");
    // The shared geometry is pure: no store, no network, no runtime.
    let streets = closure("doorstep-streets");
    for heavy in ["doorstep-core", "rusqlite", "tokio", "axum"] {
        assert!(!streets.contains(heavy), "doorstep-streets depends on {heavy}");
    }
    // The demo is where the phone's core and the server meet.
    let demo = closure("doorstep-demo");
    assert!(demo.contains("doorstep-core") && demo.contains("doorstep-server"));
}

/// No server file that is not an algorithm passes about 600 lines (issue 16): a file that grows
/// past it is split by the job it does. The parsers and planners below are algorithms, kept whole.
#[test]
fn no_server_file_outgrows_its_job() {
    const ALGORITHMS: &[&str] = &["import", "targeting"];
    const LIMIT: usize = 650;
    let root = doorstep_tests::repo_root().join("sync-server/src");
    let mut all = Vec::new();
    files(&root, &mut all);
    let long: Vec<String> = all
        .iter()
        .filter(|f| !ALGORITHMS.contains(&module_of(&root, f).as_str()))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            // Test modules at the end do not count.
            let lines = text.split("#[cfg(test)]").next().unwrap_or("").lines().count();
            (lines > LIMIT).then(|| format!("{} ({lines} lines)", module_of(&root, f)))
        })
        .collect();
    assert!(long.is_empty(), "server files past {LIMIT} lines: {long:?}");
}
