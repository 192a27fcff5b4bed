"""Disclosure control: anonymised microdata, protected tables, keyed pseudonyms.

- :func:`assess`, :func:`anonymise` — k-anonymity, l-diversity, local suppression, risk (microdata)
- :func:`inferable` — suppressed values that other released columns give back
- :func:`protect_table`, :func:`protect_tables` — primary + secondary cell suppression with an LP audit
- :mod:`gbvstats.disclosure.rules` — primary suppression rules (``gs.rules``)
- :mod:`gbvstats.disclosure.pseudonym` — HMAC-SHA256 pseudonyms under a run-time key

Examples
--------
Eight respondents; the one in district 3 is unique on (district, age band):

>>> import pandas as pd
>>> from gbvstats import disclosure
>>> d = pd.DataFrame({"district": [1, 1, 1, 1, 2, 2, 2, 3], "age_band": [2, 2, 3, 3, 2, 2, 2, 3],
...                   "ipv_12m": [0, 1, 1, 0, 0, 1, 0, 1]})
>>> disclosure.assess(d, ["district", "age_band"], k=2).summary.records_violating_k
1
>>> safe = disclosure.anonymise(d, ["district", "age_band"], k=2)
>>> safe.risk_after.summary.records_violating_k, safe.info_loss.total_suppressed
(0, 3)
>>> safe.data["district"].tolist()
[1.0, 1.0, nan, nan, 2.0, 2.0, 2.0, nan]
"""

from .audit import feasible_intervals
from .inference import inferable
from .microdata import (
    SUPPRESSED_LABEL,
    AnonymisedData,
    InformationLoss,
    SuppressionResult,
    anonymise,
    export_frame,
)
from .risk import RiskReport, RiskSummary, assess, individual_risk
from .tables import ProtectedTable, ProtectedTables, TableSpec, protect_table, protect_tables

__all__ = [
    "AnonymisedData",
    "InformationLoss",
    "ProtectedTable",
    "ProtectedTables",
    "RiskReport",
    "RiskSummary",
    "SUPPRESSED_LABEL",
    "SuppressionResult",
    "TableSpec",
    "anonymise",
    "assess",
    "export_frame",
    "feasible_intervals",
    "individual_risk",
    "inferable",
    "protect_table",
    "protect_tables",
]
