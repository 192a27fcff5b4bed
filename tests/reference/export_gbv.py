"""Export the example GBV survey (2024 round) as CSV for R: tests/reference/data/gbv_example.csv.

Reads ``surveys/example/community_2024.sav`` through the public reader with its spec (so the derived 0/1
indicators are the package's own), keeps the design columns and a few indicators, and writes them with
full precision (missing = ``NA``). Run from the repository root, then rerun the R script::

    /work/venv/bin/python tests/reference/export_gbv.py
    Rscript tests/reference/r_reference.R > tests/reference/r_output.txt 2>&1
"""

from __future__ import annotations

import sys
from pathlib import Path

import gbvstats as gs

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["resp_id", "province", "district", "commune", "stratum", "urban", "weight", "commune_households",
           "communes_in_stratum", "age_group",
           "gbv_any_12m", "ipv_12m", "sought_help_any", "sought_help_formal", "ge_knowledge"]


def main() -> Path:
    survey = gs.read_survey(ROOT / "surveys/example/community_2024.sav", spec=ROOT / "surveys/example/survey.toml")
    data = survey.data.copy()
    # stage-1 population size for a two-stage check with fpc at both stages: the communes of the
    # generator's population in each stratum (stage 2: the commune's households, already in the file)
    sys.path.insert(0, str(ROOT / "surveys"))
    from generate import make_population

    pop = make_population(seed=2024, year=2024)
    per_stratum = pop.groupby("stratum")["commune"].nunique()
    data["communes_in_stratum"] = data["stratum"].map(per_stratum).astype("int64")
    out = ROOT / "tests/reference/data/gbv_example.csv"
    data[COLUMNS].to_csv(out, index=False, na_rep="NA")
    return out


if __name__ == "__main__":
    print("wrote", main())
