"""Disclosure control: anonymised microdata, protected tables, keyed pseudonyms.

- :func:`assess`, :func:`anonymise` — k-anonymity, l-diversity, local suppression, risk (microdata)
- :func:`inferable` — suppressed values that other released columns give back
- :func:`protect_table`, :func:`protect_tables` — primary + secondary cell suppression with an LP audit
- :mod:`gbvstats.disclosure.rules` — primary suppression rules (``gs.rules``)
- :mod:`gbvstats.disclosure.pseudonym` — HMAC-SHA256 pseudonyms under a run-time key
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
