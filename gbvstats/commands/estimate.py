"""``gbvstats estimate FILE --spec S --var V [--where Q] [--by COLS] [--ci METHOD] [--level L] [--out CSV]``.

Reads a survey (``gs.read_survey``), builds its design (from the spec, or from ``--weights``,
``--strata``, ``--psu``, ``--fpc`` which override the spec), estimates for every domain in one pass
and prints the tidy table (or writes it, atomically, as CSV with ``--out``).
"""

from __future__ import annotations

import argparse

from ..design import LONELY_PSU_POLICIES
from ..intervals import CI_METHODS

from . import add_file_options, file_options


def _list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="design-based proportion / mean / total / ratio for every domain",
        description="Estimate a proportion (default), mean, total or ratio with design-based standard errors, "
                    "confidence intervals, design effects and reliability flags, for every domain at once. "
                    "Domains (--where, --by) are zero weights: no row or PSU leaves the variance.",
    )
    p.add_argument("file", help="survey file: .sav .zsav .dta .sas7bdat .xpt .csv .xlsx .parquet")
    p.add_argument("--spec", help="survey spec (TOML) naming the design variables")
    p.add_argument("--var", required=True, help="variable to estimate (numerator for --stat ratio)")
    p.add_argument("--stat", choices=("proportion", "mean", "total", "ratio"), default="proportion",
                   help="statistic (default proportion; the variable must be 0/1)")
    p.add_argument("--denominator", help="denominator variable for --stat ratio")
    p.add_argument("--where", help="domain condition, e.g. 'ever_gbv_12m == 1'")
    p.add_argument("--by", help="comma-separated domain columns, e.g. province,district")
    p.add_argument("--ci", choices=CI_METHODS, default=None,
                   help="interval method (default logit for proportions, t otherwise)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--rules", default=None, help="reliability rules: nchs, dhs or rse (default nchs for "
                                                 "proportions, rse otherwise)")
    p.add_argument("--weights", help="weight column (overrides the spec)")
    p.add_argument("--strata", help="stratum column(s), comma-separated by stage (overrides the spec)")
    p.add_argument("--nest", action="store_true", default=None,
                   help="PSU numbers restart within each stratum (DHS v021 within v022), as R's nest=TRUE")
    p.add_argument("--category", help="with --stat proportion: the share in this category (code or label) "
                                      "of --var, as R's svymean(~factor(var))")
    p.add_argument("--psu", help="cluster column(s), comma-separated by stage (overrides the spec)")
    p.add_argument("--fpc", help="fpc column(s), comma-separated by stage (overrides the spec)")
    p.add_argument("--lonely-psu", choices=LONELY_PSU_POLICIES, default=None,
                   help="strata with one PSU: fail (default), remove, certainty, adjust, average")
    p.add_argument("--out", help="write the table as CSV here (atomically) instead of printing it")
    add_file_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..design import Design
    from ..errors import ExclusionWarning, SpecError
    from ..readers import read_survey

    if args.stat == "ratio" and not args.denominator:
        raise SpecError("--stat ratio needs --denominator COLUMN")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)  # counted in the notes printed below
        survey = read_survey(args.file, spec=args.spec, **file_options(args))
    overrides = any(v is not None for v in (args.weights, args.strata, args.psu, args.fpc, args.lonely_psu,
                                            args.nest))
    if overrides or args.spec is None:
        d = getattr(getattr(survey, "spec", None), "design", None)
        weights = args.weights or (d.weights if d is not None else None)
        if not weights:
            raise SpecError(f"{args.file}: no design weights; pass --spec SPEC or --weights COLUMN")
        psu = _list(args.psu) or (list(d.psu) if d is not None and d.psu else None)
        fpc = _list(args.fpc) or (list(d.fpc) if d is not None and d.fpc else None)
        strata = _list(args.strata) or (d.strata if d is not None else None)
        design = Design.from_frame(
            survey.data,
            weights=weights,
            strata=strata[0] if isinstance(strata, list) and len(strata) == 1 else strata,
            psu=psu[0] if psu and len(psu) == 1 else psu,
            fpc=fpc[0] if fpc and len(fpc) == 1 else fpc,
            lonely_psu=args.lonely_psu or (d.lonely_psu if d is not None and d.lonely_psu else "fail"),
            nest=bool(args.nest) or bool(getattr(d, "nest", False)),
        )
    else:
        design = survey.design
    kw = dict(where=args.where, by=_list(args.by), level=args.level, rules=args.rules)
    if args.ci:
        kw["ci"] = args.ci
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        if args.stat == "ratio":
            est = design.ratio(args.var, args.denominator, **kw)
        else:
            if args.category is not None:
                if args.stat != "proportion":
                    raise SpecError("--category goes with --stat proportion")
                category = args.category
                try:
                    category = float(category) if "." in category else int(category)
                except ValueError:
                    pass  # a value label
                kw["category"] = category
            est = getattr(design, args.stat)(args.var, **kw)
    if args.out:
        from ..render import write_atomic

        write_atomic(args.out, est.frame.to_csv(index=False, lineterminator="\n"))
        print(f"wrote {len(est)} domain(s) to {args.out}")
        for note in est.notes:
            print(f"note: {note}")
    else:
        print(repr(est))
    return 0
