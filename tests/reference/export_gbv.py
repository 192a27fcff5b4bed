"""Export the example GBV survey (2024 round) as CSV for R: tests/reference/data/gbv_example.csv.

Reads ``surveys/example/community_2024.sav`` through the public reader with its spec (so the derived 0/1
indicators are the package's own), keeps the design columns and a few indicators, and writes them with
full precision (missing = ``NA``). Run from the repository root, then rerun the R script::

    /work/venv/bin/python tests/reference/export_gbv.py
    Rscript tests/reference/r_reference.R > tests/reference/r_output.txt 2>&1
"""

from __future__ import annotations

from pathlib import Path

import gbvstats as gs

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["resp_id", "province", "district", "commune", "stratum", "urban", "weight", "age_group",
           "gbv_any_12m", "ipv_12m", "sought_help_any", "sought_help_formal", "ge_knowledge"]


def main() -> Path:
    survey = gs.read_survey(ROOT / "surveys/example/community_2024.sav", spec=ROOT / "surveys/example/survey.toml")
    out = ROOT / "tests/reference/data/gbv_example.csv"
    survey.data[COLUMNS].to_csv(out, index=False, na_rep="NA")
    return out


if __name__ == "__main__":
    print("wrote", main())
