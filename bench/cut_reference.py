"""Reference turf cuts on the data `doorstep-cut-bench prepare` wrote to DIR: plain k-means of the
buildings (Lloyd's iterations from random buildings, door-weighted centroids, a k-d tree for the
assignment) and METIS (pymetis, contiguous partitions) of the same street-side unit graph Doorstep
cuts, into the same number of turfs. Writes DIR/kmeans.u32 and DIR/metis.u32 (a turf per building)
and their times into DIR/meta.json. Usage: python cut_reference.py DIR [KMEANS_ITERATIONS]"""
import json
import sys
import time

import numpy as np
import pymetis
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

d = sys.argv[1]
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 50
meta = json.load(open(f"{d}/meta.json"))
k = meta["turfs"]
xy = np.fromfile(f"{d}/bxy.f64", dtype="<f8").reshape(-1, 2)
bdoors = np.fromfile(f"{d}/bdoors.u32", dtype="<u4").astype(np.float64)
xadj = np.fromfile(f"{d}/xadj.u32", dtype="<u4").astype(np.int64)
adj = np.fromfile(f"{d}/adj.u32", dtype="<u4").astype(np.int64)
w = np.fromfile(f"{d}/w.u32", dtype="<u4").astype(np.int64)
unit_of = np.fromfile(f"{d}/unit_of.u32", dtype="<u4").astype(np.int64)

# k-means (Lloyd), given its iterations in full.
t = time.perf_counter()
rng = np.random.default_rng(1)
centers = xy[rng.choice(len(xy), size=k, replace=False)].copy()
for it in range(iterations):
    _, label = cKDTree(centers).query(xy, workers=-1)
    sw = np.bincount(label, weights=bdoors, minlength=k)
    cx = np.bincount(label, weights=bdoors * xy[:, 0], minlength=k)
    cy = np.bincount(label, weights=bdoors * xy[:, 1], minlength=k)
    keep = sw > 0
    new = centers.copy()
    new[keep, 0] = cx[keep] / sw[keep]
    new[keep, 1] = cy[keep] / sw[keep]
    moved = np.abs(new - centers).max()
    centers = new
    if moved < 0.01:
        break
_, label = cKDTree(centers).query(xy, workers=-1)
kmeans_s = time.perf_counter() - t
# Renumber to 0..turfs-1 (empty clusters dropped).
_, label = np.unique(label, return_inverse=True)
label.astype("<u4").tofile(f"{d}/kmeans.u32")
print(f"k-means: {it + 1} iterations, {kmeans_s:.2f} s", file=sys.stderr)

# METIS on the unit graph, contiguous parts, door weights; like Doorstep, each connected part of
# the graph gets round(doors / target) turfs (METIS's contiguity needs a connected input).
t = time.perf_counter()
n = len(w)
g = csr_matrix((np.ones(len(adj)), adj, xadj), shape=(n, n))
ncomp, comp = connected_components(g, directed=False)
parts = np.zeros(n, dtype=np.int64)
next_part = 0
opts = pymetis.Options(contig=1)
order = np.argsort(comp, kind="stable")
bounds = np.searchsorted(comp[order], np.arange(ncomp + 1))
for c in range(ncomp):
    members = order[bounds[c]:bounds[c + 1]]
    kc = max(1, round(w[members].sum() / meta["target"]))
    if kc == 1 or len(members) < 2:
        parts[members] = next_part
        next_part += 1
        continue
    sub = g[members][:, members].tocsr()
    _, p = pymetis.part_graph(kc, xadj=sub.indptr, adjncy=sub.indices, vweights=np.maximum(w[members], 1),
                              options=opts)
    parts[members] = next_part + np.asarray(p)
    next_part += kc
metis_s = time.perf_counter() - t
_, parts = np.unique(parts, return_inverse=True)
parts[unit_of].astype("<u4").tofile(f"{d}/metis.u32")
print(f"METIS: {metis_s:.2f} s", file=sys.stderr)

meta["kmeans"] = kmeans_s
meta["metis"] = metis_s
json.dump(meta, open(f"{d}/meta.json", "w"))
