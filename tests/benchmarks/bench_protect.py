"""Benchmark: protect a 700-district (63 provinces) x 10-type case-count table with all totals.

Run: /work/venv/bin/python tests/benchmarks/bench_protect.py [--seed 1] [--method optimal|hypercube|both]

Synthetic Poisson counts (many small cells), MinFrequency(10) as for administrative case counts,
protection 30 %. Prints time, cells suppressed, the naive "suppress the whole row" count and the
audit result (independent of the protection run: the audit is re-solved from the published frame).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def make_table(seed: int = 1, n_prov: int = 63, n_dist: int = 700, n_types: int = 10):
    rng = np.random.default_rng(seed)
    # districts per province: 700 split over 63 provinces (8..14 each)
    sizes = np.full(n_prov, n_dist // n_prov)
    sizes[: n_dist - sizes.sum()] += 1
    prov = np.repeat(np.arange(n_prov), sizes)
    district_scale = rng.gamma(2.0, 1.0, n_dist)  # some districts report few cases
    type_mean = np.geomspace(40, 1.5, n_types)  # physical violence common, rarer types small
    lam = district_scale[:, None] * type_mean[None, :]
    counts = rng.poisson(lam)
    dnames = [f"P{p:02d}-D{i:03d}" for i, p in enumerate(prov)]
    pnames = [f"P{p:02d}" for p in range(n_prov)]
    hier = {"Country": pnames}
    for p in range(n_prov):
        hier[pnames[p]] = [dnames[i] for i in np.flatnonzero(prov == p)]
    types = [f"type{t:02d}" for t in range(n_types)]
    frame = pd.DataFrame({
        "district": np.repeat(dnames, n_types),
        "gbv_type": np.tile(types, n_dist),
        "value": counts.ravel(),
    })
    return frame, {"district": hier, "gbv_type": types}


def independent_audit(frame, dims):
    """Re-audit from the published frame only (fresh LPs through gbvstats.disclosure.audit)."""
    from gbvstats.disclosure.audit import feasible_intervals
    from gbvstats.disclosure.tables import _additivity, _parse_dim

    parsed = [_parse_dim(k, v) for k, v in dims.items()]
    A = _additivity(parsed)
    sup = frame["value"].isna().to_numpy()
    iv = feasible_intervals(A, frame["value"].fillna(0).to_numpy(), sup)
    return iv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--method", default="both")
    ap.add_argument("--threshold", type=int, default=10)
    args = ap.parse_args()
    import gbvstats as gs
    from gbvstats.disclosure.tables import protect_table

    counts, dims = make_table(args.seed)
    methods = ["optimal", "hypercube"] if args.method == "both" else [args.method]
    print(f"table: 700 districts in 63 provinces x 10 types; {len(counts)} detailed cells; "
          f"MinFrequency({args.threshold}), protection 0.3")
    print(f"{'method':<10} {'seconds':>8} {'cells':>6} {'primary':>8} {'secondary':>10} "
          f"{'suppressed':>11} {'naive rows':>11} {'rounds':>7} {'LPs':>6} {'audit':>7} {'re-audit':>9}")
    for method in methods:
        t0 = time.perf_counter()
        t = protect_table(counts, dims, primary=[gs.rules.MinFrequency(args.threshold)],
                          protection=0.3, method=method)
        secs = time.perf_counter() - t0
        f = t.frame
        # naive: every row (any level) with a primary cell is suppressed whole (incl. its total)
        prim_rows = f.loc[f["status"] == "primary", "district"].unique()
        naive = int(f["district"].isin(prim_rows).sum())
        # re-audit from the published frame alone (fresh constraint matrix and LPs)
        iv = independent_audit(f, dims)
        req = t.audit.set_index(["district", "gbv_type"])
        key = f.loc[f["value"].isna(), ["district", "gbv_type"]]
        r = req.loc[pd.MultiIndex.from_frame(key)]
        prim = (r["status"] == "primary").to_numpy()
        again = bool(np.all(iv.low[prim] <= r["required_low"].to_numpy()[prim] + 1e-6)
                     & np.all(iv.high[prim] >= r["required_high"].to_numpy()[prim] - 1e-6))
        print(f"{method:<10} {secs:8.2f} {len(f):6d} {t.n_primary:8d} {t.n_secondary:10d} "
              f"{t.n_primary + t.n_secondary:11d} {naive:11d} {t.rounds:7d} {t.n_lp:6d} "
              f"{'passed' if t.ok else 'FAILED':>7} {'passed' if again else 'FAILED':>9}")
    print("(naive rows = suppress every cell of each district/province row holding a primary cell;"
          " it is not even safe by itself, as column totals can still expose a lone row)")


if __name__ == "__main__":
    main()
