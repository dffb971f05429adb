//! CPU time of processes, read from `/proc` (Linux), for the benchmarks' figures.

/// CPU seconds (user + system) used so far by these processes; with `children`, also by their
/// children that have ended (PostgreSQL's backends end when a pool closes a connection).
pub fn cpu_seconds(pids: &[u32], children: bool) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .map(|s| {
            let after = &s[s.rfind(')').map(|i| i + 2).unwrap_or(0)..];
            let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
            (f[11] + f[12] + if children { f[13] + f[14] } else { 0.0 }) / tick
        })
        .sum()
}

/// PostgreSQL's CPU so far: its postmaster with the backends that ended, and the live ones.
pub fn postgres_cpu() -> f64 {
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "postgres"))
                .collect()
        })
        .unwrap_or_default();
    let parent = |p: &u32| {
        std::fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|s| s[s.rfind(')')? + 2..].split_whitespace().nth(1)?.parse::<u32>().ok())
    };
    let (roots, backends): (Vec<u32>, Vec<u32>) =
        pids.iter().partition(|p| parent(p).is_none_or(|pp| !pids.contains(&pp)));
    cpu_seconds(&roots, true) + cpu_seconds(&backends, false)
}
