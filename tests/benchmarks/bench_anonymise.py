"""Benchmark: assess and anonymise 1,000,000 records x 7 quasi-identifiers.

Run: /work/venv/bin/python tests/benchmarks/bench_anonymise.py [n_records]
Targets (issue 4): assess <= 0.5 s; anonymise to k = 5 <= 30 s and <= 3 GB peak memory.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from surveys.localities import districts  # noqa: E402

ETHNICITY_P = [0.82, 0.07, 0.04, 0.02, 0.015, 0.01, 0.01, 0.005, 0.005, 0.005]
EDUCATION_P = [0.08, 0.22, 0.30, 0.22, 0.10, 0.08]
MARITAL_P = [0.20, 0.65, 0.06, 0.05, 0.04]


def generate(n: int, seed: int = 2024) -> pd.DataFrame:
    """A synthetic survey file: 7 quasi-identifiers, weights, two sensitive answers, an id."""
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(districts())
    size = rng.gamma(2.0, 1.0, len(d))
    di = rng.choice(len(d), size=n, p=size / size.sum())
    urban = (rng.random(n) < d["urban_share"].to_numpy()[di]).astype(np.int64)
    age = rng.integers(15, 65, n)
    ever = (rng.random(n) < 0.3).astype(np.int64)
    sought = np.where(ever == 1, (rng.random(n) < 0.1).astype(float), np.nan)
    return pd.DataFrame({
        "resp_id": np.char.add("R", np.arange(n).astype(str)),
        "province": d["province"].to_numpy()[di],
        "district": d["district"].to_numpy()[di],
        "urban": urban,
        "age_band": (age // 5) * 5,
        "ethnicity": rng.choice(len(ETHNICITY_P), n, p=ETHNICITY_P) + 1,
        "education": rng.choice(len(EDUCATION_P), n, p=EDUCATION_P) + 1,
        "marital": rng.choice(len(MARITAL_P), n, p=MARITAL_P) + 1,
        "w": rng.gamma(4.0, 50.0, n),
        "ever_gbv_12m": ever,
        "sought_help": sought,
    })


QIS = ["province", "district", "urban", "age_band", "ethnicity", "education", "marital"]


def main() -> None:
    import gbvstats.disclosure.microdata as md
    import gbvstats.disclosure.risk as risk

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    df = generate(n)
    rows = []
    t = time.perf_counter()
    rep = risk.assess(df, QIS, k=5, weights="w")
    rows.append(("assess (weights, k=5)", time.perf_counter() - t, f"{rep.summary.records_violating_k} violate k"))
    t = time.perf_counter()
    rep = risk.assess(df, QIS, k=5, weights="w", sensitive=["ever_gbv_12m"], l=2)
    rows.append(("assess (+ l=2 on 1 var)", time.perf_counter() - t, f"{rep.summary.records_violating_l} violate l"))
    t = time.perf_counter()
    out = md.anonymise(df, QIS, k=5, weights="w", importance=QIS, pseudonymise={"resp_id": "env:BENCH_KEY"})
    s = out.info_loss.suppression
    rows.append(("anonymise k=5 (" + s.method + ")", time.perf_counter() - t,
                 f"{s.suppressed_values} suppressed, bound {s.lower_bound:.0f}, gap {s.gap:.1%}"))
    t = time.perf_counter()
    out = md.anonymise(df, QIS, k=5, l=2, sensitive=["ever_gbv_12m"], weights="w", importance=QIS,
                       hierarchies={"district": "province"}, identifiers=["resp_id"])
    s = out.info_loss.suppression
    rows.append(("anonymise k=5 l=2 + recoding", time.perf_counter() - t,
                 f"{s.suppressed_values} suppressed, levels {out.parameters['recode_levels']}"))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"records: {n:,}  quasi-identifiers: {len(QIS)}")
    print(f"{'step':34s} {'seconds':>8s}  result")
    for name, sec, note in rows:
        print(f"{name:34s} {sec:8.2f}  {note}")
    print(f"{'peak memory (GB, whole process)':34s} {peak_gb:8.2f}")


if __name__ == "__main__":
    import os
    os.environ.setdefault("BENCH_KEY", "benchmark-only-key-0123456789abcdef")
    main()
