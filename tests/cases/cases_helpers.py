"""Shared helpers for the case-record tests: the example schema, a test key, tiny agency files.

Imported by the test modules (their folder is put on sys.path; pytest runs with importlib mode)."""

from __future__ import annotations

import csv
from pathlib import Path

from gbvstats.keys import Key

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "surveys" / "example" / "cases.toml"
EXAMPLE = ROOT / "surveys" / "example"

HEADER = ["incident_id", "agency", "report_date", "incident_date", "name", "birth_date", "commune", "sex", "age",
          "province", "district", "gbv_type", "context", "perpetrator", "referral_source", "consent",
          "service_safe_house", "service_health", "service_psychosocial", "service_legal", "service_police",
          "service_livelihoods", "service_child_protection"]

SECRET = b"test-key-not-a-real-secret-0123456789"


def row(**kw) -> dict:
    """One valid record; override any field."""
    base = {"incident_id": "X-1", "agency": "POLICE", "report_date": "2024-03-10", "incident_date": "2024-03-08",
            "name": "Lê Thị Mẫu Giả", "birth_date": "1990-05-17", "commune": "920101", "sex": "F", "age": "",
            "province": "92", "district": "9201", "gbv_type": "physical_assault", "context": "ipv",
            "perpetrator": "husband", "referral_source": "self", "consent": "yes"}
    base.update({h: "" for h in HEADER if h.startswith("service_")})
    base.update(kw)
    return base


def write_csv(path: Path, rows: list[dict], header: list[str] | None = None) -> Path:
    header = header or HEADER
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])
    return path


def test_key() -> Key:
    return Key(SECRET, "test")


test_key.__test__ = False  # a helper, not a test
