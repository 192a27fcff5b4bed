"""Benchmark: assess and anonymise 1,000,000 records x 7 quasi-identifiers.

Run: /work/venv/bin/python tests/benchmarks/bench_anonymise.py [n_records]
Targets (issue 4): assess <= 0.5 s; anonymise to k = 5 <= 30 s and <= 3 GB peak memory.
Wall-clock and CPU seconds are both printed: on a shared machine the wall clock includes waiting.

Comparison (docs/anonymisation.md):
    /work/venv/bin/python tests/benchmarks/bench_anonymise.py compare [PYTHON_WITH_ANONYPY_PYCANON]
runs gbvstats, a "suppress the whole key" baseline and, if a Python with ``anonypy`` and ``pycanon``
is given (a throwaway venv, never a gbvstats dependency), anonypy's Mondrian and pycanon's
independent k / l check, on a generated 100k-record file and on the example survey.
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

    def timed(name, fn, note):
        t, c = time.perf_counter(), time.process_time()
        res = fn()
        rows.append((name, time.perf_counter() - t, time.process_time() - c, note(res)))
        return res

    for _ in range(2):  # the first assess call also pays for imports and warm-up
        timed("assess (weights, k=5)", lambda: risk.assess(df, QIS, k=5, weights="w"),
              lambda r: f"{r.summary.records_violating_k} records violate k")
    del rows[0]
    timed("assess (+ l=2 on 1 variable)",
          lambda: risk.assess(df, QIS, k=5, weights="w", sensitive=["ever_gbv_12m"], l=2),
          lambda r: f"{r.summary.records_violating_l} records violate l")
    timed("anonymise k=5 + pseudonym",
          lambda: md.anonymise(df, QIS, k=5, weights="w", importance=QIS, recode="none",
                               pseudonymise={"resp_id": "env:BENCH_KEY"}),
          lambda o: (f"{o.info_loss.suppression.method}: {o.info_loss.total_suppressed} suppressed, bound "
                     f"{o.info_loss.suppression.lower_bound:.0f}, gap {o.info_loss.suppression.gap:.1%}"))
    timed("anonymise k=5 l=2 + recoding",
          lambda: md.anonymise(df, QIS, k=5, l=2, sensitive=["ever_gbv_12m"], weights="w", importance=QIS,
                               hierarchies={"district": "province"}, identifiers=["resp_id"]),
          lambda o: f"{o.info_loss.total_suppressed} suppressed, levels {o.parameters['recode_levels']}")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"records: {n:,}  quasi-identifiers: {len(QIS)}")
    print(f"{'step':34s} {'wall s':>7s} {'cpu s':>7s}  result")
    for name, sec, cpu, note in rows:
        print(f"{name:34s} {sec:7.2f} {cpu:7.2f}  {note}")
    print(f"{'peak memory (GB, whole process)':34s} {peak_gb:7.2f}")


# --------------------------------------------------------------------------------------------
# comparison

_HELPER = r"""
import json, sys, time
import pandas as pd
import anonypy
from pycanon import anonymity
task = json.load(open(sys.argv[1]))
out = {}
for name, path in task["check"].items():
    d = pd.read_csv(path, dtype=str).fillna("<blank>")
    r = {"k": int(anonymity.k_anonymity(d, task["qis"]))}
    if task["sens"]:
        r["l"] = int(anonymity.l_diversity(d, task["qis"], task["sens"]))
    out[name] = r
if task.get("mondrian"):
    d = pd.read_csv(task["mondrian"])
    for c in task["categorical"]:
        d[c] = d[c].astype(str).astype("category")
    t = time.perf_counter()
    rows = anonypy.Preserver(d, task["qis"], task["sens"][0]).anonymize_k_anonymity(k=task["k"])
    secs = time.perf_counter() - t
    parts = {}
    for r in rows:
        key = tuple(r[c][0] if isinstance(r[c], list) else r[c] for c in task["qis"])
        parts[key] = parts.get(key, 0) + r["count"]
    sizes = list(parts.values())
    import re
    rng = re.compile(r"^(-?[0-9.]+)-(-?[0-9.]+)$")

    def gen(v):
        v = str(v)
        m = rng.match(v)
        return "," in v or (m is not None and m.group(1) != m.group(2))

    generalised = sum(size for key, size in parts.items() if any(gen(v) for v in key))
    out["mondrian"] = {"seconds": secs, "classes": len(sizes), "min_class": min(sizes),
                       "dm": sum(s * s for s in sizes), "records": sum(sizes), "generalised": generalised}
json.dump(out, sys.stdout)
"""


def _published(data: pd.DataFrame, suppressed: pd.DataFrame, qis) -> pd.DataFrame:
    return pd.DataFrame({v: np.where(suppressed[v], "*", data[v].astype(str)) for v in qis})


def _metrics(pub: pd.DataFrame, n_supp: int, touched: int, seconds: float) -> dict:
    sizes = pub.groupby(list(pub.columns), dropna=False).size()
    return {"suppressed": n_supp, "records touched": touched, "classes": len(sizes),
            "min class": int(sizes.min()), "DM": int((sizes.astype(np.int64) ** 2).sum()), "seconds": seconds}


def _whole_key_baseline(df, qis, k, hierarchy_values=None):
    t = time.perf_counter()
    work = df[qis].copy() if hierarchy_values is None else hierarchy_values
    fk = work.groupby(qis, dropna=False)[qis[0]].transform("size").to_numpy()
    bad = fk < k
    supp = pd.DataFrame({v: bad for v in qis}, index=df.index)
    return work, supp, time.perf_counter() - t


def compare(helper_python: str | None) -> None:
    import json
    import subprocess
    import tempfile
    import warnings

    import gbvstats as gs
    import gbvstats.disclosure.microdata as md

    root = Path(__file__).resolve().parents[2]
    sets = []
    gen = generate(100_000, seed=7)
    sets.append(("generated 100k", gen, QIS, ["ever_gbv_12m"], 5, 2, None, "w",
                 ["province", "district", "urban", "ethnicity", "education", "marital"]))
    ex = root / "surveys/example/community_2024.sav"
    if ex.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sv = gs.read_survey(ex, spec=root / "surveys/example/survey.toml")
        disc = sv.spec.disclosure
        frame = sv.raw.copy()
        for c in disc.sensitive:
            if c not in frame.columns:
                frame[c] = sv.data[c].to_numpy()
        cat = [c for c in disc.quasi_identifiers if c != "age"]
        sets.append(("example survey 2024", frame, list(disc.quasi_identifiers), list(disc.sensitive),
                     disc.k, disc.l, (disc.hierarchies, list(disc.importance)), sv.spec.design.weights, cat))
    for name, df, qis, sens, k, l, extra, w, categorical in sets:
        hier, importance = extra if extra else ({"district": "province"}, qis)
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            t = time.perf_counter()
            a = md.anonymise(df, qis, k=k, weights=w, importance=importance, recode="none")
            results["gbvstats k, no recoding"] = _metrics(_published(a.data, a.suppressed, qis),
                                                        a.info_loss.total_suppressed, a.info_loss.records_touched,
                                                        time.perf_counter() - t)
            results["gbvstats k, no recoding"]["method"] = (f"{a.info_loss.suppression.method}, gap "
                                                            f"{a.info_loss.suppression.gap:.0%}")
            pa = _published(a.data, a.suppressed, qis)
            pa.assign(**{s: df[s].to_numpy() for s in sens}).to_csv(tmp / "a.csv", index=False)
            work, supp, secs = _whole_key_baseline(df, qis, k)
            pb = _published(work, supp, qis)
            results["whole-key baseline, no recoding"] = _metrics(pb, int(supp.to_numpy().sum()),
                                                                 int(supp.iloc[:, 0].sum()), secs)
            pb.assign(**{s: df[s].to_numpy() for s in sens}).to_csv(tmp / "b.csv", index=False)
            t = time.perf_counter()
            c = md.anonymise(df, qis, k=k, l=l, sensitive=sens, weights=w, importance=importance,
                             hierarchies=hier)
            results[f"gbvstats k, l={l}, recoding"] = _metrics(_published(c.data, c.suppressed, qis),
                                                              c.info_loss.total_suppressed,
                                                              c.info_loss.records_touched, time.perf_counter() - t)
            results[f"gbvstats k, l={l}, recoding"]["method"] = f"levels {c.parameters['recode_levels']}"
            pc = _published(c.data, c.suppressed, qis)
            pc.assign(**{s: df[s].to_numpy() for s in sens}).to_csv(tmp / "c.csv", index=False)
            checks = {}
            if helper_python:
                df[qis + sens[:1]].dropna(subset=sens[:1]).to_csv(tmp / "m.csv", index=False)
                task = {"qis": qis, "sens": sens, "k": k, "categorical": categorical,
                        "check": {"gbvstats k": str(tmp / "a.csv"), "baseline": str(tmp / "b.csv"),
                                  "gbvstats k+l": str(tmp / "c.csv")},
                        "mondrian": str(tmp / "m.csv")}
                (tmp / "task.json").write_text(json.dumps(task))
                (tmp / "helper.py").write_text(_HELPER)
                try:
                    res = subprocess.run([helper_python, str(tmp / "helper.py"), str(tmp / "task.json")],
                                         capture_output=True, text=True, timeout=900)
                    checks = json.loads(res.stdout) if res.returncode == 0 else {"error": res.stderr[-500:]}
                except subprocess.TimeoutExpired:
                    checks = {"error": "helper did not finish in 900 s"}
        print(f"\n## {name}: {len(df):,} records, {len(qis)} quasi-identifiers, k = {k}, l = {l} on {sens}")
        print(f"{'method':34s} {'suppressed':>10s} {'touched':>8s} {'classes':>8s} {'min':>5s} {'DM':>14s} {'sec':>6s}  note")
        for m, r in results.items():
            print(f"{m:34s} {r['suppressed']:10d} {r['records touched']:8d} {r['classes']:8d} {r['min class']:5d} "
                  f"{r['DM']:14d} {r['seconds']:6.1f}  {r.get('method', '')}")
        if "mondrian" in checks:
            r = checks["mondrian"]
            print(f"{'anonypy Mondrian (generalises)':34s} {'-':>10s} {r['generalised']:8d} {r['classes']:8d} "
                  f"{r['min_class']:5d} {r['dm']:14d} {r['seconds']:6.1f}  records {r['records']} "
                  "(rows with a missing sensitive value dropped: anonypy needs one)")
        for m in ("gbvstats k", "baseline", "gbvstats k+l"):
            if m in checks:
                print(f"pycanon on {m:24s}: k = {checks[m]['k']}" + (f", l = {checks[m]['l']}" if 'l' in checks[m] else ""))
        if "error" in checks:
            print("helper error:", checks["error"])


if __name__ == "__main__":
    import os
    os.environ.setdefault("BENCH_KEY", "benchmark-only-key-0123456789abcdef")
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        compare(sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        main()
