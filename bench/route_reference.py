#!/usr/bin/env python3
"""Scores Doorstep's walking route against near-optimal reference solvers on the same street
distance matrix (made by `doorstep-route-matrix`): fast-tsp (PyPI, MIT) and LKH through elkai
(PyPI; non-commercial licence: a test-time reference only, never shipped or imported by Doorstep).

    bash bench/route_reference.sh          # makes a venv in ~/.cache/doorstep, runs everything

The problem is an open path from the start (index 0) through every address, ending anywhere. Both
solvers solve closed tours, so a dummy node is added: 0 from the start, a constant C from every
address. Every tour through the dummy then costs (path from the start) + C, whatever address it
ends at, and starting elsewhere costs 2C, so the best tour is the best open path from the start.
fast-tsp needs integer distances (metres, rounded; C = 30000). Our route keeps each side of a
street segment together (what volunteers expect); the references visit addresses freely.
"""

import json
import sys
import time


def open_path_matrix(m, c):
    n = len(m)
    out = [[int(round(x)) for x in row] + [0 if i == 0 else c] for i, row in enumerate(m)]
    out.append([0] + [c] * (n - 1) + [0])
    return out


def path_from_tour(tour, dummy):
    k = tour.index(dummy)
    t = tour[k + 1 :] + tour[:k]
    if t[0] != 0:
        t.reverse()
    assert t[0] == 0, t
    return t[1:]


def length(m, order):
    here, total = 0, 0.0
    for i in order:
        total += m[here][i]
        here = i
    return total


def main():
    data = json.load(sys.stdin)
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    import elkai
    import fast_tsp

    print("| city | addresses | ours m | ours ms | fast-tsp m (%gs) | LKH (elkai) m | best reference m | ours / best | conventional m | saved |" % seconds)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    loops = []
    for case in data:
        m = case["matrix"]
        n = len(m)
        c = 30000
        mm = open_path_matrix(m, c)
        t = time.time()
        ft = path_from_tour(fast_tsp.find_tour(mm, seconds), n)
        ft_len = length(m, ft)
        t = time.time()
        lk = path_from_tour(list(elkai.DistanceMatrix(mm).solve_tsp(runs=10))[:-1], n)
        lk_len = length(m, lk)
        assert sorted(ft) == list(range(1, n)) and sorted(lk) == list(range(1, n))
        best = min(ft_len, lk_len)
        ours = case["ours"]["length_m"]
        conv = case["conventional"]["length_m"]
        print(
            "| %s | %d | %.0f | %.1f | %.0f | %.0f | %.0f | %.3f | %.0f | %.0f %% |"
            % (case.get("city", "nantes"), case["n"], ours, case["ours"]["ms"], ft_len, lk_len, best, ours / best,
               conv, 100 * (1 - ours / conv))
        )
        if case.get("ours_round_trip"):
            # Round trip back to the start: plain closed tours for both references.
            closed = [[int(round(x)) for x in row] for row in m]
            ft_tour = fast_tsp.find_tour(closed, seconds)
            lk_tour = list(elkai.DistanceMatrix(closed).solve_tsp(runs=10))[:-1]
            tour_len = lambda t: sum(m[t[i]][t[(i + 1) % len(t)]] for i in range(len(t)))
            best_loop = min(tour_len(ft_tour), tour_len(lk_tour))
            r = case["ours_round_trip"]
            loops.append((case.get("city", "nantes"), case["n"], r["length_m"], r["ms"], best_loop,
                          case["conventional"]["round_trip_m"]))
    if loops:
        print()
        print("| city | addresses | ours round trip m | ms | best reference tour m | ours / best | conventional round trip m |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for city, n, ours, ms, best, conv in loops:
            print("| %s | %d | %.0f | %.1f | %.0f | %.3f | %.0f |" % (city, n, ours, ms, best, ours / best, conv))


if __name__ == "__main__":
    main()
