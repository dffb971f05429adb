//! Many-to-many shortest distances on a small undirected graph through a contraction hierarchy
//! (Geisberger et al. 2008; buckets after Knopp et al. 2007): nodes are contracted one by one,
//! least important first, adding a shortcut between two neighbours wherever the path through the
//! contracted node may be the only shortest one; then each wanted node searches upwards only, and
//! the distance between two of them is the best meeting point of their two upward searches. Exact:
//! a witness search that gives up early only adds a shortcut that was not needed. Pure, no I/O.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Nodes settled by one witness search before it gives up (and the shortcut is added). Small:
/// on a turf's few thousand junctions a search that stops early (one more shortcut) costs less
/// than one that looks far (measured on Helsinki's 300 doors: 6 settles, 2.4 ms to contract; 60
/// settles, 15 ms).
const WITNESS_SETTLE_LIMIT: usize = 6;

/// Distances between nodes `0..wanted` of the undirected graph given as CSR (`start`, `to`, `len`
/// per directed arc, each edge stored both ways); row-major `wanted × wanted`, infinite where no
/// path joins two nodes.
pub(crate) fn many_to_many(start: &[u32], to: &[u32], len: &[f64], wanted: usize) -> Vec<f64> {
    let n = start.len() - 1;
    let up = contract(n, start, to, len);
    // Each wanted node's upward search space, then buckets: at each node, who reached it and how far.
    let mut search = Search::new(n);
    let spaces: Vec<Vec<(u32, f64)>> = (0..wanted).map(|s| search.upward(&up, s as u32)).collect();
    let mut bucket_start = vec![0u32; n + 1];
    for space in &spaces {
        for &(v, _) in space {
            bucket_start[v as usize + 1] += 1;
        }
    }
    for v in 0..n {
        bucket_start[v + 1] += bucket_start[v];
    }
    let mut fill = bucket_start.clone();
    let mut bucket = vec![(0u32, 0.0f64); bucket_start[n] as usize];
    for (s, space) in spaces.iter().enumerate() {
        for &(v, d) in space {
            bucket[fill[v as usize] as usize] = (s as u32, d);
            fill[v as usize] += 1;
        }
    }
    let mut out = vec![f64::INFINITY; wanted * wanted];
    for (t, space) in spaces.iter().enumerate() {
        let row = &mut out[t * wanted..(t + 1) * wanted];
        for &(v, dt) in space {
            for &(s, ds) in &bucket[bucket_start[v as usize] as usize..bucket_start[v as usize + 1] as usize] {
                let cell = &mut row[s as usize];
                if ds + dt < *cell {
                    *cell = ds + dt;
                }
            }
        }
    }
    out
}

/// Contracts every node; returns each node's upward arcs (to the neighbours it still had when it
/// was contracted, shortcuts included).
fn contract(n: usize, start: &[u32], to: &[u32], len: &[f64]) -> Vec<Vec<(u32, f64)>> {
    let mut adj: Vec<Vec<(u32, f64)>> = (0..n)
        .map(|u| {
            let mut es: Vec<(u32, f64)> = (start[u] as usize..start[u + 1] as usize)
                .filter(|&e| to[e] as usize != u)
                .map(|e| (to[e], len[e]))
                .collect();
            // Parallel edges: keep the shortest.
            es.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            es.dedup_by_key(|e| e.0);
            es
        })
        .collect();
    let mut done = vec![false; n];
    let mut deleted_neighbours = vec![0i32; n];
    let mut witness = Search::new(n);
    let mut shortcuts = Vec::new();
    let mut up: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    let mut queue: BinaryHeap<Reverse<(i32, u32)>> = BinaryHeap::with_capacity(n);
    // Order: least important first, judged without searching — the edge difference if every pair
    // of neighbours needed a shortcut, plus the neighbours already contracted (spreads contraction
    // evenly). Updated lazily when a node comes up.
    let priority = |adj: &[Vec<(u32, f64)>], deleted: &[i32], v: usize| {
        let d = adj[v].len() as i32;
        d * (d - 1) / 2 - d + deleted[v]
    };
    for v in 0..n {
        queue.push(Reverse((priority(&adj, &deleted_neighbours, v), v as u32)));
    }
    while let Some(Reverse((_, v))) = queue.pop() {
        let v = v as usize;
        if done[v] {
            continue;
        }
        // Lazy update: if another node is now cheaper, contract that one first.
        let p = priority(&adj, &deleted_neighbours, v);
        if let Some(&Reverse((next, _))) = queue.peek()
            && p > next
        {
            queue.push(Reverse((p, v as u32)));
            continue;
        }
        witness.shortcuts(&adj, v, &mut shortcuts);
        done[v] = true;
        let neighbours = std::mem::take(&mut adj[v]);
        for &(u, _) in &neighbours {
            let list = &mut adj[u as usize];
            list.retain(|&(x, _)| x as usize != v);
            deleted_neighbours[u as usize] += 1;
        }
        for &(a, b, l) in &shortcuts {
            for (x, y) in [(a, b), (b, a)] {
                let list = &mut adj[x as usize];
                match list.iter_mut().find(|e| e.0 == y) {
                    Some(e) => e.1 = e.1.min(l),
                    None => list.push((y, l)),
                }
            }
        }
        up[v] = neighbours;
    }
    up
}

/// Dijkstra over a graph given as adjacency lists; marks valid for the current generation only, so
/// nothing is cleared between searches. Heap keys are the distances' bits: for non-negative floats
/// they order as the numbers do.
struct Search {
    best: Vec<f64>,
    seen: Vec<u32>,
    generation: u32,
    heap: BinaryHeap<Reverse<(u64, u32)>>,
}

impl Search {
    fn new(n: usize) -> Self {
        Self { best: vec![0.0; n], seen: vec![0; n], generation: 0, heap: BinaryHeap::new() }
    }

    /// From `from`, never through `avoid`, until the next node is farther than `limit` or
    /// `settle_limit` nodes are settled; `settled` hears each settled node and its distance. Leaves
    /// upper bounds in `best` for the nodes seen in this generation.
    fn run(
        &mut self,
        adj: &[Vec<(u32, f64)>],
        from: u32,
        avoid: Option<u32>,
        limit: f64,
        settle_limit: usize,
        mut settled: impl FnMut(u32, f64),
    ) {
        self.generation += 1;
        let generation = self.generation;
        self.heap.clear();
        self.seen[from as usize] = generation;
        self.best[from as usize] = 0.0;
        self.heap.push(Reverse((0f64.to_bits(), from)));
        let mut count = 0;
        while let Some(Reverse((bits, u))) = self.heap.pop() {
            let d = f64::from_bits(bits);
            if d > self.best[u as usize] {
                continue;
            }
            if d > limit || count >= settle_limit {
                break;
            }
            count += 1;
            settled(u, d);
            for &(x, l) in &adj[u as usize] {
                if Some(x) == avoid {
                    continue;
                }
                let nd = d + l;
                if self.seen[x as usize] != generation || nd < self.best[x as usize] {
                    self.seen[x as usize] = generation;
                    self.best[x as usize] = nd;
                    self.heap.push(Reverse((nd.to_bits(), x)));
                }
            }
        }
    }

    /// The distance found to `v` in this generation, infinite if never seen.
    fn found(&self, v: u32) -> f64 {
        if self.seen[v as usize] == self.generation { self.best[v as usize] } else { f64::INFINITY }
    }

    /// The shortcuts contracting `v` needs: `(u, w, length)` for neighbours `u < w` whose path
    /// through `v` no witness search (avoiding `v`, a few nodes deep) could match.
    fn shortcuts(&mut self, adj: &[Vec<(u32, f64)>], v: usize, out: &mut Vec<(u32, u32, f64)>) {
        out.clear();
        let ns = &adj[v];
        for (i, &(u, du)) in ns.iter().enumerate() {
            if i + 1 == ns.len() {
                break;
            }
            let limit = ns[i + 1..].iter().map(|&(_, dw)| du + dw).fold(0.0, f64::max);
            self.run(adj, u, Some(v as u32), limit, WITNESS_SETTLE_LIMIT, |_, _| {});
            for &(w, dw) in &ns[i + 1..] {
                let through = du + dw;
                if self.found(w) > through {
                    out.push((u.min(w), u.max(w), through));
                }
            }
        }
    }

    /// Every node reachable upwards from `from`, with its distance, in settling order.
    fn upward(&mut self, up: &[Vec<(u32, f64)>], from: u32) -> Vec<(u32, f64)> {
        let mut out = Vec::new();
        self.run(up, from, None, f64::INFINITY, usize::MAX, |u, d| out.push((u, d)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain Dijkstra from every wanted node, the reference.
    fn reference(start: &[u32], to: &[u32], len: &[f64], wanted: usize) -> Vec<f64> {
        let n = start.len() - 1;
        let mut out = vec![f64::INFINITY; wanted * wanted];
        for s in 0..wanted {
            let mut best = vec![f64::INFINITY; n];
            let mut heap = BinaryHeap::new();
            best[s] = 0.0;
            heap.push(Reverse((0f64.to_bits(), s as u32)));
            while let Some(Reverse((bits, u))) = heap.pop() {
                let d = f64::from_bits(bits);
                if d > best[u as usize] {
                    continue;
                }
                for e in start[u as usize] as usize..start[u as usize + 1] as usize {
                    let nd = d + len[e];
                    if nd < best[to[e] as usize] {
                        best[to[e] as usize] = nd;
                        heap.push(Reverse((nd.to_bits(), to[e])));
                    }
                }
            }
            out[s * wanted..(s + 1) * wanted].copy_from_slice(&best[..wanted]);
        }
        out
    }

    /// Random graphs: grids with holes, diagonals, parallel edges and separate pieces.
    #[test]
    fn equals_plain_searches_on_random_graphs() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..40 {
            let side = 3 + (rnd() % 12) as usize;
            let n = side * side + (case % 3);
            let mut edges: Vec<(u32, u32, f64)> = Vec::new();
            for y in 0..side {
                for x in 0..side {
                    let u = (y * side + x) as u32;
                    let diagonal = rnd() % 4 == 0;
                    let mut add = |v: usize| {
                        if rnd() % 5 != 0 {
                            edges.push((u, v as u32, 1.0 + (rnd() % 1000) as f64 / 10.0));
                        }
                    };
                    if x + 1 < side {
                        add(y * side + x + 1);
                    }
                    if y + 1 < side {
                        add((y + 1) * side + x);
                    }
                    if x + 1 < side && y + 1 < side && diagonal {
                        add((y + 1) * side + x + 1);
                    }
                }
            }
            if let Some(&(a, b, l)) = edges.first() {
                edges.push((a, b, l / 2.0)); // a shorter parallel edge
            }
            let mut adj: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
            for &(a, b, l) in &edges {
                adj[a as usize].push((b, l));
                adj[b as usize].push((a, l));
            }
            let mut start = vec![0u32];
            let (mut to, mut len) = (Vec::new(), Vec::new());
            for es in &adj {
                for &(v, l) in es {
                    to.push(v);
                    len.push(l);
                }
                start.push(to.len() as u32);
            }
            let wanted = 1 + (rnd() as usize % n);
            let got = many_to_many(&start, &to, &len, wanted);
            let want = reference(&start, &to, &len, wanted);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 1e-9 || (g.is_infinite() && w.is_infinite()),
                    "case {case}, cell {i}: {g} vs {w}"
                );
            }
        }
    }
}
