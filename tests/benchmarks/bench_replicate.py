"""Benchmark: replicate weights and calibration on a large synthetic design.

Run: /work/venv/bin/python tests/benchmarks/bench_replicate.py [N]

N respondents (default 1,000,000), 126 strata, ~10,000 PSUs, ~700 district domains. Prints the
seconds of each step and the peak resident memory.
"""

from __future__ import annotations

import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

import gbvstats as gs
from gbvstats.calibrate import adjust_scores_lowrank


def make(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_strata, n_psu, n_dist = 126, 10_000, 700
    psu = rng.integers(0, n_psu, n)
    stratum = psu % n_strata
    district = psu % n_dist
    return pd.DataFrame(
        {
            "stratum": stratum,
            "psu": psu,
            "district": district,
            "sex": np.where(rng.random(n) < 0.5, "f", "m"),
            "age_band": rng.integers(0, 5, n),
            "age": rng.uniform(15, 65, n),
            "w": rng.uniform(50, 150, n),
            "y": (rng.random(n) < 0.2).astype(float),
        }
    )


def timed(label, fn, rows):
    t = time.perf_counter()
    out = fn()
    rows.append((label, time.perf_counter() - t))
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    df = make(n)
    rows: list[tuple[str, float]] = []
    d = timed("Design.from_frame (126 strata, 10,000 PSUs)", lambda: gs.Design.from_frame(
        df, weights="w", strata="stratum", psu="psu"), rows)
    W = df["w"].to_numpy()
    sex_age = (
        df.assign(Freq=W * 1.1).groupby(["sex", "age_band"], as_index=False)["Freq"].sum()
    )
    by_sex = df.assign(Freq=W * 1.1).groupby("sex", as_index=False)["Freq"].sum()
    by_age = df.assign(Freq=W * 1.1).groupby("age_band", as_index=False)["Freq"].sum()
    ps = timed("poststratify (sex × age band, 10 cells)", lambda: d.poststratify(["sex", "age_band"], sex_age), rows)
    timed("rake (sex; age band)", lambda: d.rake([("sex", by_sex), ("age_band", by_age)]), rows)
    totals = {"(Intercept)": W.sum() * 1.1, "sexm": W[df.sex == "m"].sum() * 1.1, "age": (W * df.age).sum() * 1.12}
    cal = timed("calibrate linear (~ sex + age)", lambda: d.calibrate("~ sex + age", totals), rows)
    timed("calibrate raking (~ sex + age)", lambda: d.calibrate("~ sex + age", totals, calfun="raking"), rows)
    timed("calibrate logit bounds (0.5, 2)", lambda: d.calibrate("~ sex + age", totals, calfun="logit", bounds=(0.5, 2)), rows)
    dist = df["district"].to_numpy()
    Z = sp.csr_matrix((df["y"].to_numpy() * cal.weights, (np.arange(n), dist)), shape=(n, 700))
    A, B = timed("adjust_scores_lowrank, 700 domains (sparse)", lambda: adjust_scores_lowrank(Z, cal), rows)
    P = sp.csr_matrix((np.ones(n), (d.clusters[0], np.arange(n))), shape=(d.n_psu, n))
    timed("  -> PSU totals for 700 domains: P'z - (P'A)B", lambda: np.asarray((P @ Z).todense()) - (P @ A) @ B, rows)
    timed("adjust_scores_lowrank after poststratify", lambda: adjust_scores_lowrank(Z, ps), rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = timed("to_replicate bootstrap, 50 replicates", lambda: d.to_replicate("bootstrap", replicates=50, seed=1), rows)
    timed("  replicate poststratify (10 cells × 50)", lambda: rep.poststratify(["sex", "age_band"], sex_age), rows)
    timed("  replicate calibrate linear (× 50)", lambda: rep.calibrate("~ sex + age", totals), rows)
    small = df[df["stratum"] < 10].reset_index(drop=True)
    dj = gs.Design.from_frame(small, weights="w", strata="stratum", psu="psu")
    timed(f"to_replicate JKn ({dj.n_psu} PSUs, {len(small):,} rows)", lambda: dj.to_replicate("JKn"), rows)
    del rep

    print(f"\nreplicate weights and calibration, N = {n:,}")
    print(f"{'step':<52}{'seconds':>10}")
    for label, sec in rows:
        print(f"{label:<52}{sec:>10.3f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory (MB)':<52}{peak:>10.0f}")


if __name__ == "__main__":
    main()
