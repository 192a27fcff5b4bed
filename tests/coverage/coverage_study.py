"""Coverage study of gbvstats' confidence intervals for proportions (issue 3).

Repeated stratified two-stage samples are drawn from the example generator's population
(``surveys/generate.py``: ``make_population``, then ``draw_sample`` -- 8 strata (province x urban/rural),
PPS systematic selection of 176 communes, 20 households per commune, household non-response, weights
from the selection probabilities). Into that population the study plants what it needs to control:

* **domains** with expected sample sizes n = 10, 30, 100, 500: each woman belongs to at most one; her
  probability of belonging varies by commune (a lognormal commune factor, sd 0.5 on the log scale), so
  domain members cluster in communes the way real domains (districts, age groups in some places) do;
* **outcomes** with true domain proportions 0.02, 0.10, 0.50: ``y = 1{a_commune + e > threshold}`` with
  ``a ~ N(0, 0.33^2)``, ``e ~ N(0, 1)`` (intra-commune correlation about 0.1 on the latent scale) and the
  threshold set inside each domain so that the *population* proportion is the nominal one; the truth
  used is the exact population proportion of the domain.

Every replicate estimates the three proportions in all four domains at once (``Design.proportion(...,
by="domain")``) and asks each interval method for its 95% interval (``Estimates.confidence_interval``,
no re-estimation). A replicate whose sample has no member of a domain is counted as such, not used.

Run (from the repository root)::

    /work/venv/bin/python tests/coverage/coverage_study.py              # default --reps 2000 --jobs 2, ~4 min
    /work/venv/bin/python tests/coverage/coverage_study.py --reps 200 --jobs 2

It writes ``tests/coverage/coverage_results.csv`` (one row per domain size x true proportion x method)
and ``docs/coverage.md`` (the table, the command, and the Korn-Graubard n_eff >= 30 check).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "surveys"))
sys.path.insert(0, str(ROOT))

import gbvstats as gs  # noqa: E402
from generate import draw_sample, make_population  # noqa: E402

DOMAIN_SIZES = (10, 30, 100, 500)
TRUE_P = (0.02, 0.10, 0.50)
METHODS = ("logit", "xlogit", "korn-graubard", "korn-graubard-nchs", "wilson", "wald", "t", "clopper-pearson")
LEVEL = 0.95
EXPECTED_SAMPLE = 3450  # mean sample size of draw_sample(..., response_rate=1.0) on this population
SIGMA_COMMUNE = 0.33
POP_SEED = 2024


def outcome_name(p: float) -> str:
    return f"y_{round(p * 100):02d}"


def build_population(seed: int = POP_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generator population plus planted domains and outcomes; returns (population, truth).

    ``truth`` has one row per (domain size, nominal p): the exact population proportion and N.
    """
    pop = make_population(seed=seed, year=2024)
    rng = np.random.default_rng(seed + 1)
    communes, cidx = np.unique(pop["commune"].to_numpy(), return_inverse=True)
    factor = rng.lognormal(0.0, 0.5, len(communes))
    factor /= np.average(factor, weights=np.bincount(cidx))
    share = np.array(DOMAIN_SIZES, dtype=float) / EXPECTED_SAMPLE
    prob = np.minimum(share[None, :] * factor[cidx][:, None], 1.0)  # (N, 4)
    # at most one domain each: walk the cumulative probabilities
    cum = np.cumsum(prob, axis=1)
    cum = cum / np.maximum(cum[:, -1:], 1.0)
    u = rng.random(len(pop))
    dom = (u[:, None] >= cum).sum(axis=1)  # 0..3 in a domain, 4 = none
    labels = np.array([f"n{n}" for n in DOMAIN_SIZES] + ["rest"])
    pop["domain"] = labels[dom]
    latent = rng.normal(0.0, SIGMA_COMMUNE, len(communes))[cidx] + rng.normal(0.0, 1.0, len(pop))
    rows = []
    for p in TRUE_P:
        y = np.zeros(len(pop))
        for k, n in enumerate(DOMAIN_SIZES):
            members = dom == k
            thr = np.quantile(latent[members], 1.0 - p)
            y[members] = latent[members] > thr
            rows.append({"n": n, "p": p, "domain": f"n{n}", "N": int(members.sum()),
                         "true": float(y[members].mean())})
        rest = dom == len(DOMAIN_SIZES)
        y[rest] = latent[rest] > np.quantile(latent[rest], 1.0 - p)
        pop[outcome_name(p)] = y
    return pop, pd.DataFrame(rows)


_POP: pd.DataFrame | None = None
_TRUTH: pd.DataFrame | None = None


def _init(seed: int) -> None:
    global _POP, _TRUTH
    _POP, _TRUTH = build_population(seed)


def one_replicate(rep: int, base_seed: int = POP_SEED) -> list[dict]:
    """Draw one sample and return one record per (domain, p, method)."""
    assert _POP is not None and _TRUTH is not None
    sample = draw_sample(_POP, seed=base_seed * 100_003 + rep, response_rate=1.0,
                         item_nonresponse=False, identifiers=False)
    design = gs.Design.from_frame(sample, weights="weight", strata="stratum", psu="commune")
    truth = _TRUTH.set_index(["domain", "p"])["true"]
    present = set(sample["domain"].unique())
    out = []
    for p in TRUE_P:
        est = design.proportion(outcome_name(p), by="domain", ci="logit", level=LEVEL)
        doms = est.labels["domain"].astype(str).to_numpy()
        keep = np.isin(doms, [f"n{n}" for n in DOMAIN_SIZES])
        true = np.array([truth.get((d, p), np.nan) for d in doms])
        for method in METHODS:
            ci = est.confidence_interval(level=LEVEL, method=method)
            lo, hi = np.asarray(ci.ci_low), np.asarray(ci.ci_high)
            for i in np.flatnonzero(keep):
                out.append({
                    "rep": rep, "domain": doms[i], "p": p, "method": method,
                    "estimate": float(est.estimate[i]), "n": int(est.n[i]), "n_eff": float(est.n_eff[i]),
                    "df": float(est.df[i]),
                    "covered": bool(lo[i] <= true[i] <= hi[i]), "width": float(hi[i] - lo[i]),
                    "valid": bool(np.isfinite(lo[i]) and np.isfinite(hi[i])),
                })
        for n in DOMAIN_SIZES:
            if f"n{n}" not in present:
                out.append({"rep": rep, "domain": f"n{n}", "p": p, "method": "(empty domain)", "n": 0})
    return out


def run(reps: int, jobs: int = 1, seed: int = POP_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All replicates; returns (per-replicate records, truth)."""
    if jobs > 1:
        with ProcessPoolExecutor(jobs, initializer=_init, initargs=(seed,)) as ex:
            chunks = list(ex.map(one_replicate, range(reps), [seed] * reps, chunksize=max(1, reps // (8 * jobs))))
    else:
        _init(seed)
        chunks = [one_replicate(r, seed) for r in range(reps)]
    if _TRUTH is None:  # worker processes built their own copies; the truth table is needed here too
        _init(seed)
    return pd.DataFrame([r for c in chunks for r in c]), _TRUTH


def summarise(records: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per (n, p, method): coverage and its Monte Carlo SE, width, n, n_eff, and the
    coverage among replicates whose n_eff >= 30."""
    rec = records[records["method"] != "(empty domain)"].copy()
    rec["n_target"] = rec["domain"].str[1:].astype(int)
    empty = (records[records["method"] == "(empty domain)"].assign(n_target=lambda d: d["domain"].str[1:].astype(int))
             .groupby(["n_target", "p"]).size())
    big = rec["n_eff"] >= 30
    rec["covered_neff30"] = np.where(big, rec["covered"], np.nan)
    g = rec.groupby(["n_target", "p", "method"], sort=False)
    out = g.agg(reps=("covered", "size"), coverage=("covered", "mean"), mean_width=("width", "mean"),
                mean_n=("n", "mean"), median_n_eff=("n_eff", "median"),
                reps_neff30=("covered_neff30", "count"), coverage_neff30=("covered_neff30", "mean"),
                share_p_hat_0_or_1=("estimate", lambda e: float(np.mean((e <= 0) | (e >= 1)))),
                invalid=("valid", lambda v: int((~v.astype(bool)).sum()))).reset_index()
    out["mc_se"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["reps"])
    out["empty_domain_reps"] = [int(empty.get((n, p), 0)) for n, p in zip(out["n_target"], out["p"])]
    out = out.merge(truth.rename(columns={"n": "n_target", "true": "true_p", "N": "domain_N"})[
        ["n_target", "p", "true_p", "domain_N"]], on=["n_target", "p"])
    order = {m: i for i, m in enumerate(METHODS)}
    out = out.sort_values(["n_target", "p", "method"], key=lambda s: s.map(order) if s.name == "method" else s)
    cols = ["n_target", "p", "true_p", "domain_N", "method", "reps", "coverage", "mc_se", "mean_width", "mean_n",
            "median_n_eff", "share_p_hat_0_or_1", "reps_neff30", "coverage_neff30", "empty_domain_reps", "invalid"]
    return out[cols].reset_index(drop=True)


def kg_check(summary: pd.DataFrame, records: pd.DataFrame) -> tuple[str, bool]:
    """Does Korn-Graubard reach >= 94% wherever n_eff >= 30 (per cell with >= 30 such replicates, and pooled)?"""
    kg = summary[summary["method"] == "korn-graubard"]
    cells = kg[kg["reps_neff30"] >= 30]
    worst = cells.loc[cells["coverage_neff30"].idxmin()] if len(cells) else None
    rec = records[(records["method"] == "korn-graubard") & (records["n_eff"] >= 30)]
    pooled = float(rec["covered"].mean()) if len(rec) else float("nan")
    ok = bool(len(cells)) and bool((cells["coverage_neff30"] >= 0.94).all())
    lines = [f"Korn-Graubard, replicates with n_eff >= 30: pooled coverage {pooled:.3f} over {len(rec)} intervals;"]
    if worst is not None:
        c, r = float(worst["coverage_neff30"]), int(worst["reps_neff30"])
        mcse = float(np.sqrt(max(c * (1 - c), 1e-12) / r))
        lines.append(f"lowest cell (n = {int(worst['n_target'])}, p = {worst['p']:g}): {c:.3f} "
                     f"(Monte Carlo SE {mcse:.3f}) over {r} replicates; "
                     + ("every cell with >= 30 such replicates reaches 94%." if ok else
                        f"not every cell with >= 30 such replicates reaches 94%: the lowest is "
                        f"{(0.94 - c) / mcse:.1f} Monte Carlo SEs below it."))
    return " ".join(lines), ok


def markdown(summary: pd.DataFrame, check: str, reps: int, jobs: int, seconds: float, seed: int) -> str:
    cov = summary.pivot_table(index="method", columns=["n_target", "p"], values="coverage", sort=False)
    cov = cov.reindex(list(METHODS))
    head = "| method | " + " | ".join(f"n={n}, p={p:g}" for n, p in cov.columns) + " |"
    sep = "|---|" + "---:|" * len(cov.columns)
    body = ["| " + m + " | " + " | ".join(f"{v:.3f}" if np.isfinite(v) else "–" for v in cov.loc[m]) + " |"
            for m in cov.index]
    info = summary[summary["method"] == "korn-graubard"]
    meta_head = "| n | p | true p | domain N | mean n | median n_eff | share p̂ = 0 or 1 | reps with n_eff ≥ 30 | KG coverage there | empty-domain reps |"
    meta_sep = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    meta = [f"| {int(r.n_target)} | {r.p:g} | {r.true_p:.4f} | {int(r.domain_N)} | {r.mean_n:.1f} | "
            f"{r.median_n_eff:.1f} | {r.share_p_hat_0_or_1:.3f} | {int(r.reps_neff30)} | "
            + (f"{r.coverage_neff30:.3f}" if r.reps_neff30 else "–") + f" | {int(r.empty_domain_reps)} |"
            for r in info.itertuples()]
    mcse = float(np.sqrt(0.95 * 0.05 / reps))
    cmd = f"/work/venv/bin/python tests/coverage/coverage_study.py --reps {reps} --jobs {jobs} --seed {seed}"
    return "\n".join([
        "# Coverage of the confidence intervals for proportions",
        "",
        "<!-- generated by tests/coverage/coverage_study.py; do not edit by hand -->",
        "",
        f"Generated by `{cmd}` ({reps} replicate samples, {seconds:.0f} s). Numbers per cell are also in",
        "`tests/coverage/coverage_results.csv`.",
        "",
        "Each replicate is a stratified two-stage sample from the example generator's population",
        "(`surveys/generate.py`: 8 strata, PPS communes, 20 households each, ~3,450 women), with planted",
        "domains of expected sample size n (members clustered by commune) and 0/1 outcomes whose true",
        "population proportion in the domain is p (intra-commune correlation ~0.1 on the latent scale). All",
        "intervals are nominal 95%, design-based (df = PSUs − strata with domain members), from one",
        "`Design.proportion(..., by=\"domain\")` per outcome and `Estimates.confidence_interval(method=...)`.",
        "`clopper-pearson` uses the unweighted n and ignores the design: it is meant for census counts and",
        "is shown only for comparison.",
        "",
        f"## Empirical coverage (Monte Carlo SE at 95%: about {mcse:.3f})",
        "",
        head, sep, *body,
        "",
        "## Korn–Graubard: does it reach 94% where n_eff ≥ 30?",
        "",
        check,
        "",
        meta_head, meta_sep, *meta,
        "",
        "n_eff is gbvstats' `Estimates.n_eff`: p̂(1 − p̂)/var(p̂), and the unweighted n when p̂ is 0 or 1",
        "(var = 0). Conditioning on n_eff selects samples, so read that column as a check, not as an",
        "unconditional coverage.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=2000, help="replicate samples (default 2000, ~4 min on 2 cores)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--seed", type=int, default=POP_SEED, help="population and sampling seed")
    ap.add_argument("--csv", type=Path, default=ROOT / "tests/coverage/coverage_results.csv")
    ap.add_argument("--md", type=Path, default=ROOT / "docs/coverage.md")
    a = ap.parse_args(argv)
    if a.reps < 1 or a.jobs < 1:
        ap.error("--reps and --jobs must be >= 1")
    t0 = time.perf_counter()
    records, truth = run(a.reps, a.jobs, a.seed)
    summary = summarise(records, truth)
    seconds = time.perf_counter() - t0
    check, _ = kg_check(summary, records)
    a.csv.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(a.csv, index=False, float_format="%.6g")
    a.md.parent.mkdir(parents=True, exist_ok=True)
    a.md.write_text(markdown(summary, check, a.reps, a.jobs, seconds, a.seed), encoding="utf-8")
    print(summary.pivot_table(index="method", columns=["n_target", "p"], values="coverage", sort=False)
          .reindex(list(METHODS)).round(3).to_string())
    print(check)
    print(f"{a.reps} replicates in {seconds:.1f} s; wrote {a.csv} and {a.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
