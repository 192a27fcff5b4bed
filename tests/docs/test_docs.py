"""The documentation builds without a warning, and the CLI reference matches the parser."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_build_strict(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert (tmp_path / "site" / "getting-started" / "index.html").exists()


def test_cli_reference_is_current():
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "scripts" / "gen_cli_reference.py"), "--check"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
