"""gbvstats: design-correct, anonymised, reproducible statistics on gender-based violence.

Public names are re-exported here and nowhere else (see ``__all__``). Submodules are imported
on first use, so ``gbvstats --version`` and ``import gbvstats`` stay fast.

Errors (see :mod:`gbvstats.errors`)::

    GbvstatsError
    ├── SpecError
    ├── DataError
    │   └── ReadError
    ├── DesignError
    ├── DisclosureError
    └── KeyMissingError

    GbvstatsWarning (a UserWarning)
    └── ExclusionWarning

Examples
--------
Every public name is an attribute of the package; its module is imported the first time the name
is used:

>>> import gbvstats as gs
>>> gs.Design
<class 'gbvstats.design.Design'>
>>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
>>> est = survey.proportion("gbv_any_12m")
>>> round(float(est.estimate[0]), 4)
0.1002
>>> "Table" in gs.__all__, "keys" in dir(gs)
(True, True)
>>> gs.estimate_everything
Traceback (most recent call last):
...
AttributeError: module 'gbvstats' has no attribute 'estimate_everything'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> "module" (the name is an attribute of it) or "module:" (the name is the module)
_EXPORTS: dict[str, str] = {
    # errors
    "GbvstatsError": "gbvstats.errors",
    "SpecError": "gbvstats.errors",
    "DataError": "gbvstats.errors",
    "ReadError": "gbvstats.errors",
    "DesignError": "gbvstats.errors",
    "DisclosureError": "gbvstats.errors",
    "KeyMissingError": "gbvstats.errors",
    "GbvstatsWarning": "gbvstats.errors",
    "ExclusionWarning": "gbvstats.errors",
    # reading surveys
    "read_survey": "gbvstats.readers",
    "Survey": "gbvstats.survey",
    "load_spec": "gbvstats.spec",
    # estimation
    "Design": "gbvstats.design",
    "Estimates": "gbvstats.estimate",
    # disclosure control
    "disclosure": "gbvstats.disclosure:",
    "rules": "gbvstats.disclosure.rules:",
    "keys": "gbvstats.keys:",
    # administrative case records
    "read_cases": "gbvstats.cases",
    # indicators, targets, publication
    "indicators": "gbvstats.indicators:",
    "targets": "gbvstats.targets:targets",
    "assess": "gbvstats.targets",
    "project": "gbvstats.targets",
    "next_target": "gbvstats.targets",
    "sample_size": "gbvstats.targets",
    "minimum_detectable_change": "gbvstats.targets",
    "publish": "gbvstats.publish",
    "load_plan": "gbvstats.publish",
    "check": "gbvstats.publish",
    "Table": "gbvstats.tables",
    "Column": "gbvstats.tables",
    "render": "gbvstats.render:",
    "figures": "gbvstats.figures:",
    "cases": "gbvstats.cases:",
    "Rule": "gbvstats.reliability",
    "RuleSet": "gbvstats.reliability",
    "reliability": "gbvstats.reliability:",
    "ReplicateWeights": "gbvstats.replicate",
    "SurveySpec": "gbvstats.spec",
    "SurveyDescription": "gbvstats.survey",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    try:
        target = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'gbvstats' has no attribute {name!r}") from None
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    if target.endswith(":"):
        value = module
    else:
        value = getattr(module, attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
