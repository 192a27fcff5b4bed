"""``gbvstats describe FILE [--spec S]``: variables, labels, missing codes, design summary, exclusions."""

from __future__ import annotations

import argparse

from . import add_file_options, file_options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "describe",
        help="describe a survey file: variables, labels, missing codes, design, exclusions",
        description="Read a survey file (with its spec, if given) and print its variables and labels, the "
                    "user-missing codes seen per variable, the design summary (strata, PSUs per stratum, "
                    "singleton strata, weight range and sum) and every exclusion with its reason.",
    )
    p.add_argument("file", help="survey file: .sav .zsav .dta .sas7bdat .xpt .csv .xlsx .parquet")
    p.add_argument("--spec", help="survey spec (TOML): design variables, derived variables, checks, labels")
    p.add_argument("--lang", choices=("en", "vi"), default="en", help="language of the labels (default en)")
    p.add_argument("--value-labels", action="store_true", help="also list every labelled code with its count")
    p.add_argument("--user-missing", choices=("missing", "keep"), default="missing",
                   help="treat user-missing codes as missing (default) or keep them as values")
    p.add_argument("--report", action="append", default=[], metavar="CHECK",
                   choices=("codes_outside_labels", "duplicate_ids", "skip_pattern"),
                   help="report this check's failures instead of stopping (repeatable): "
                        "codes_outside_labels, duplicate_ids, skip_pattern")
    add_file_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..errors import ExclusionWarning
    from ..readers import read_survey

    checks = {name: "report" for name in args.report} or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)  # the report lists them
        survey = read_survey(args.file, spec=args.spec, user_missing=args.user_missing, checks=checks,
                             **file_options(args))
    print(survey.describe().text(lang=args.lang, value_labels=args.value_labels))
    return 0
