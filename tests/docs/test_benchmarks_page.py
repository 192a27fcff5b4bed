"""docs/benchmarks.md is generated from the stored benchmark results, and every benchmark has a successful run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_page_is_generated_from_the_stored_results():
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "scripts" / "gen_benchmarks.py"), "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr


def test_every_benchmark_script_has_a_successful_stored_run():
    stored = json.loads((ROOT / "tests" / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    scripts = {p.stem for p in (ROOT / "tests" / "benchmarks").glob("bench_*.py")}
    runs = stored["benchmarks"]
    assert scripts <= set(runs), f"never run: {sorted(scripts - set(runs))}"
    failed = {name: r["stderr_tail"] for name, r in runs.items() if r["exit"] != 0}
    assert not failed, failed
    assert all(r["stdout"].strip() for r in runs.values())
