#!/usr/bin/env python3
"""The size sweep of issue 22: our route's length over the better of fast-tsp and LKH (elkai) on
the very same street distance matrix, for turfs of 50 to 5,000 addresses in small steps, so a
cliff shows. Prints a Markdown table and writes an SVG plot (length / reference against doors).

    bash bench/route_sweep.sh [SECONDS for fast-tsp, default 10] [CITY, default nantes]

Reads `doorstep-route-matrix`'s JSON on stdin (open paths from the start; fast-tsp takes
distances up to 65,535, so the dummy node's constant is 60,000 m: far more than what any other
end of the path could save, and `path_from_tour` checks the start is next to the dummy). LKH runs 10 times up
to 1,000 addresses and once above (`DOORSTEP_LKH_RUNS_LARGE`), to keep the sweep under an hour.
"""

import json
import os
import sys
import time

from route_reference import length, open_path_matrix, path_from_tour


def svg(points, path):
    """points: (n, ratio); a plain SVG line chart, no plotting library."""
    w, h, left, bottom, top, right = 760, 360, 60, 40, 20, 20
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_max = max(xs) * 1.02
    y_lo = min(0.98, min(ys) - 0.01)
    y_hi = max(1.10, max(ys) + 0.02)
    fx = lambda x: left + (w - left - right) * x / x_max
    fy = lambda y: top + (h - top - bottom) * (1 - (y - y_lo) / (y_hi - y_lo))
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (w, h),
           '<rect width="100%" height="100%" fill="white"/>']
    y = 1.0
    while y <= y_hi + 1e-9:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (left, w - right, fy(y), fy(y)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.2f</text>' % (left - 6, fy(y) + 4, y))
        y += 0.02
    for target, colour in ((1.02, "#2a7"), (1.05, "#c70")):
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>'
                   % (left, w - right, fy(target), fy(target), colour))
        out.append('<text x="%d" y="%.1f" fill="%s">%.2f ×</text>' % (left + 6, fy(target) - 4, colour, target))
    step = 500 if x_max > 2000 else 100
    x = 0
    while x <= x_max:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (fx(x), h - bottom + 16, "{:,}".format(x).replace(",", " ")))
        x += step
    out.append('<text x="%d" y="%d" text-anchor="middle">adresses (portes) du secteur</text>' % ((left + w) // 2, h - 6))
    out.append('<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">longueur / meilleure référence</text>' % (h // 2, h // 2))
    pts = " ".join("%.1f,%.1f" % (fx(n), fy(r)) for n, r in points)
    out.append('<polyline points="%s" fill="none" stroke="#1f5fbf" stroke-width="2"/>' % pts)
    for n, r in points:
        out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="#1f5fbf"/>' % (fx(n), fy(r)))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out))


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    plot = sys.argv[2] if len(sys.argv) > 2 else "docs/img/route-sweep.svg"
    large_runs = int(os.environ.get("DOORSTEP_LKH_RUNS_LARGE", "1"))
    import elkai
    import fast_tsp

    data = json.load(sys.stdin)
    print("| city | addresses | ours m | ours ms | fast-tsp m (%gs) | LKH m (runs) | ours / best |" % seconds)
    print("|---|---:|---:|---:|---:|---:|---:|")
    points = []
    for case in data:
        m = case["matrix"]
        n = len(m)
        mm = open_path_matrix(m, 60_000)
        ft = path_from_tour(fast_tsp.find_tour(mm, seconds), n)
        runs = 10 if n <= 1001 else large_runs
        t = time.time()
        lk = path_from_tour(list(elkai.DistanceMatrix(mm).solve_tsp(runs=runs))[:-1], n)
        lk_s = time.time() - t
        assert sorted(ft) == list(range(1, n)) and sorted(lk) == list(range(1, n))
        best = min(length(m, ft), length(m, lk))
        ours = length(m, case["ours"]["order"])
        points.append((n - 1, ours / best))
        print("| %s | %d | %.0f | %.1f | %.0f | %.0f (%d, %.0f s) | %.3f |"
              % (case["city"], n - 1, ours, case["ours"]["ms"], length(m, ft), length(m, lk), runs, lk_s, ours / best),
              flush=True)
    svg(points, plot)
    print("\nplot: %s" % plot)


if __name__ == "__main__":
    main()
