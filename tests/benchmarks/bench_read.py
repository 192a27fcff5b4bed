"""Benchmark: reading a large synthetic survey with its spec (missing-code counts, checks, 30 derived variables).

    /work/venv/bin/python tests/benchmarks/bench_read.py

Writes a .sav of the example's shape with N respondents (drawn from the example generator's population,
rows repeated with fresh ids) to a temporary folder, then times read_raw (pyreadstat) and the Survey build.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "surveys"))
_spec = importlib.util.spec_from_file_location("gbv_generate_bench", ROOT / "surveys" / "generate.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

import gbvstats as gs  # noqa: E402
from gbvstats.readers import read_raw  # noqa: E402
from gbvstats.survey import Survey  # noqa: E402


def main() -> None:
    pop = gen.make_population(seed=2024, year=2024)
    base = gen.draw_sample(pop, seed=1, n_per_psu=200, psus_per_province=60)
    spec = gs.load_spec(ROOT / "surveys" / "example" / "survey.toml")
    print(f"{'rows':>9} {'columns':>8} {'read_raw s':>11} {'build s':>8} {'rows/s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for reps in (1, 4, 16):
            sample = base.loc[np.tile(np.arange(len(base)), reps)].reset_index(drop=True)
            sample["resp_id"] = [f"B{i:08d}" for i in range(len(sample))]
            path = Path(tmp) / f"bench_{reps}.sav"
            gen.write_sav(sample, path, 2024)
            t0 = time.perf_counter()
            frame, meta = read_raw(path)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = Survey._build(frame, meta, spec)
            t2 = time.perf_counter()
            print(f"{len(s):>9} {frame.shape[1]:>8} {t1 - t0:>11.2f} {t2 - t1:>8.2f} {len(s) / (t2 - t0):>10.0f}")


if __name__ == "__main__":
    main()
