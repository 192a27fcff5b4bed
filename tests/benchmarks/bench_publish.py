"""Benchmark: target verdicts over many localities, writers on a large table, the example publication.

Run: /work/venv/bin/python tests/benchmarks/bench_publish.py
"""

from __future__ import annotations

import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    from gbvstats import render
    from gbvstats.publish import build, check, publish
    from gbvstats.tables import Column, Table
    from gbvstats.targets import assess, probability_meets, verdict

    rows = []
    rng = np.random.default_rng(1)
    for k in (1_000, 100_000, 1_000_000):
        p = rng.uniform(0.02, 0.98, k)
        se = rng.uniform(0.005, 0.05, k)
        lo, hi = p - 2 * se, p + 2 * se
        t = timed(lambda: (verdict(lo, hi, 0.5), probability_meets(p, se, 0.5, df=30)))
        rows.append(("verdict + probability (vectorised)", f"{k:,} localities", f"{t * 1e3:.1f} ms"))
    frame = pd.DataFrame({"province": [f"P{i}" for i in range(10_000)], "estimate": rng.uniform(0.1, 0.6, 10_000),
                          "se": 0.02})
    frame["ci_low"], frame["ci_high"] = frame["estimate"] - 0.04, frame["estimate"] + 0.04
    t = timed(lambda: assess(frame, 0.5))
    rows.append(("assess against one target", "10,000 localities", f"{t * 1e3:.1f} ms"))

    n = 5_000
    f = pd.DataFrame({"loc": [f"L{i}" for i in range(n)], "estimate": rng.uniform(0, 1, n), "n": rng.integers(0, 200, n)})
    f["ci_low"], f["ci_high"] = f["estimate"] * 0.9, np.minimum(f["estimate"] * 1.1, 1)
    tab = Table("big", {"vi": "Bảng", "en": "Table"}, f, (
        Column("loc", {"vi": "Tỉnh", "en": "Province"}), Column("estimate", {"vi": "%", "en": "%"}, "percent"),
        Column("ci", {"vi": "KTC", "en": "CI"}, "ci"), Column("n", {"vi": "n", "en": "n"}, "count")))
    for name, fn in (("csv", lambda: render.to_csv(tab)), ("markdown", lambda: render.to_markdown(tab)),
                     ("html", lambda: render.to_html([tab])), ("xlsx", lambda: render.to_xlsx([tab]))):
        rows.append((f"render {name}", f"{n:,} rows", f"{timed(fn, 1):.2f} s"))

    plan = ROOT / "surveys" / "example" / "plan.toml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        build(plan)
        rows.append(("build example plan (first, imports incl.)", "11 tables, 3 figures", f"{time.perf_counter() - t:.1f} s"))
        rows.append(("build example plan (warm)", "11 tables, 3 figures", f"{timed(lambda: build(plan), 1):.1f} s"))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "published"
            rows.append(("publish (build + atomic write)", "32 files", f"{timed(lambda: publish(plan, out=out), 1):.1f} s"))
            res = {}
            rows.append(("check (rebuild + compare)", "32 files", f"{timed(lambda: res.setdefault('r', check(plan, out)), 1):.1f} s"))
            rows.append(("check result", "", "identical" if res["r"].ok else "DIFFERS"))

    w = max(len(r[0]) for r in rows)
    print(f"{'step':<{w}}  {'size':<22}  time")
    for a, b, c in rows:
        print(f"{a:<{w}}  {b:<22}  {c}")


if __name__ == "__main__":
    main()
