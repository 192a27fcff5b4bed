"""Benchmark: read + validate + link 2,000,000 case records from 8 agencies (target: <= 30 s).

Run: /work/venv/bin/python tests/benchmarks/bench_cases.py [n_records [keep_dir]]
(keep_dir: write the generated files there and reuse them on later runs)

Generates the agencies' CSV files in a temporary folder (not timed), each agency writing dates its own
way and names with its own spelling habits (diacritics dropped, upper case, extra spaces), then
times read_cases (read + validate), link (normalise + HMAC + link + possible matches) and one
indicator, and prints a table. The number of distinct survivors is checked against the generator.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import gbvstats as gs  # noqa: E402
from gbvstats.keys import Key  # noqa: E402

AGENCIES = ["SWC", "HOTLINE", "CHILD111", "POLICE", "HEALTH", "SAFEHOUSE", "LEGAL", "WU"]
FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y-%m-%d", "%d-%m-%Y", "%Y-%m-%d"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý"]
MIDDLE = ["Thị", "Thị Thu", "Thị Ngọc", "Thị Kim", "Thị Thanh", "Thị Minh", "Thị Hồng", "Thị Bích"]
SYLL = ["Lan", "Hoa", "Huệ", "Mai", "Đào", "Cúc", "Hương", "Thảo", "Ngọc", "Yến", "Trang", "Hằng", "Thủy", "Nga",
        "Hạnh", "Loan", "Liên", "Phượng", "Diệu", "Oanh", "Tuyết", "Nhung", "Vân", "Quỳnh"]
SERVICES = ["safe_house", "health", "psychosocial", "legal", "police", "livelihoods", "child_protection"]
STATUS = np.array(["", "", "", "", "provided", "referred", "pending", "declined", "unavailable"], dtype=object)
TYPES = np.array(["rape", "sexual_assault", "physical_assault", "forced_marriage", "denial_of_resources",
                  "psychological_abuse"], dtype=object)


def _strip(names: np.ndarray) -> np.ndarray:
    from gbvstats.cases import _FOLD_TABLE  # only to make a "no diacritics" spelling of the fake names

    return pd.Series(names, dtype=object).str.translate(_FOLD_TABLE).to_numpy(object)


def make_files(outdir: Path, n_records: int, seed: int = 7) -> int:
    """Write 8 agency CSVs holding about n_records rows; return the true number of survivors."""
    import sys as _s
    _s.path.insert(0, str(ROOT / "surveys"))
    from localities import districts

    rng = np.random.default_rng(seed)
    dist = pd.DataFrame(districts())
    per = rng.choice([1, 2, 3], size=n_records, p=[0.55, 0.3, 0.15])
    cum = np.cumsum(per)
    n_surv = int(np.searchsorted(cum, n_records) + 1)
    per = per[:n_surv]
    per[-1] -= int(cum[n_surv - 1] - n_records)
    per = per[per > 0]
    n_surv = len(per)
    # survivors: fake names from large enough lists that namesakes are realistic, not everywhere
    given = np.array([a + " " + b for a in SYLL for b in SYLL], dtype=object)
    name = (np.array(FAMILY, dtype=object)[rng.integers(0, len(FAMILY), n_surv)] + " "
            + np.array(MIDDLE, dtype=object)[rng.integers(0, len(MIDDLE), n_surv)] + " "
            + given[rng.integers(0, len(given), n_surv)] + " Giả")
    birth = np.datetime64("1960-01-01") + rng.integers(0, 45 * 365, n_surv).astype("timedelta64[D]")
    d_idx = rng.integers(0, len(dist), n_surv)
    district = dist["district"].to_numpy()[d_idx]
    commune = district * 100 + rng.integers(1, 31, n_surv)
    # records
    sid = np.repeat(np.arange(n_surv), per)
    n = len(sid)
    agency = rng.integers(0, 8, n)
    report = np.datetime64("2024-01-01") + rng.integers(0, 366, n).astype("timedelta64[D]")
    incident = report - rng.integers(0, 60, n).astype("timedelta64[D]")
    # same incident across agencies for records of one survivor: share the first record's incident date
    first = np.r_[0, np.cumsum(per)[:-1]]
    incident = incident[first][sid]
    report = np.maximum(report, incident)
    variant = rng.integers(0, 4, n)
    uniq_names, inv = np.unique(name, return_inverse=True)
    folded = _strip(uniq_names)
    spelled = np.where(variant == 0, uniq_names[inv[sid]],
                       np.where(variant == 1, folded[inv[sid]],
                                np.where(variant == 2, pd.Series(uniq_names).str.upper().to_numpy(object)[inv[sid]],
                                         pd.Series(uniq_names).str.replace(" ", "  ").to_numpy(object)[inv[sid]])))
    df = pd.DataFrame({
        "incident_id": "", "agency": np.array(AGENCIES, dtype=object)[agency],
        "report_date": report, "incident_date": incident, "name": spelled, "birth_date": birth[sid],
        "commune": commune[sid], "sex": "F", "age": "",
        "province": district[sid] // 100, "district": district[sid],
        "gbv_type": TYPES[rng.integers(0, 6, n)], "context": "ipv", "perpetrator": "husband",
        "referral_source": np.array(["self", "family", "police", "hotline"], dtype=object)[rng.integers(0, 4, n)],
        "consent": "yes",
    })
    for s in SERVICES:
        df[f"service_{s}"] = STATUS[rng.integers(0, len(STATUS), n)]
    for k, ag in enumerate(AGENCIES):
        part = df[agency == k].copy()
        part["incident_id"] = [f"{ag}-{i:07d}" for i in range(len(part))]
        for col in ("report_date", "incident_date", "birth_date"):
            part[col] = pd.DatetimeIndex(part[col].to_numpy()).strftime(FORMATS[k])
        part.to_csv(outdir / f"{ag.lower()}.csv", index=False)
    return n_surv


def main(n_records: int = 2_000_000, keep: str | None = None) -> None:
    """``keep``: a folder to write the generated files into and reuse on the next run (same n)."""
    key = Key(os.urandom(32), "benchmark")
    schema = ROOT / "surveys" / "example" / "cases.toml"
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = keep or tmp_dir
        marker = Path(tmp) / f"survivors_{n_records}.txt"
        t0 = time.perf_counter()
        if keep and marker.exists():
            true_survivors = int(marker.read_text())
        else:
            Path(tmp).mkdir(parents=True, exist_ok=True)
            true_survivors = make_files(Path(tmp), n_records)
            if keep:
                marker.write_text(str(true_survivors))
        t_gen = time.perf_counter() - t0
        files = sorted(Path(tmp).glob("*.csv"))
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cases = gs.read_cases(files, schema=schema)
        t_read, c_read = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        linked = cases.link(key=key)
        t_link, c_link = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        linked.indicator("help_received", by=["district", "gbv_type"], period="2024", ci="clopper-pearson")
        t_ind = time.perf_counter() - t0
    rows = [
        ("records read", f"{cases.report.rows_read:,}"),
        ("agencies (files)", f"{len(files)}"),
        ("records kept", f"{cases.report.rows_kept:,}"),
        ("distinct survivors (linked / true)", f"{linked.n_survivors:,} / {true_survivors:,}"),
        ("possible matches for review", f"{len(linked.possible_matches):,}"),
        ("generate files (not timed) s", f"{t_gen:.1f}"),
        ("read + validate s (wall / cpu)", f"{t_read:.1f} / {c_read:.1f}"),
        ("link s (wall / cpu)", f"{t_link:.1f} / {c_link:.1f}"),
        ("validate + link s, target <= 30 (wall / cpu)", f"{t_read + t_link:.1f} / {c_read + c_link:.1f}"),
        ("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}"),
        ("help_received by district x type s", f"{t_ind:.2f}"),
    ]
    w = max(len(a) for a, _ in rows)
    for a, b in rows:
        print(f"{a:<{w}}  {b:>14}")
    if linked.n_survivors != true_survivors:
        raise SystemExit("linkage did not recover the true number of survivors")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000, sys.argv[2] if len(sys.argv) > 2 else None)
