"""``gbvstats cases``: validate, link and summarise administrative case records.

    gbvstats cases validate FILES --schema S [--report FILE] [--json] [--strict]
    gbvstats cases link FILES --schema S [--key-env NAME | --key-file PATH] --out DIR
    gbvstats cases indicator NAME FILES --schema S [--by a,b] [--period 2024] [--ci clopper-pearson] [--out FILE]

The pseudonymisation key is read at run time (``--key-env``, default ``GBVSTATS_KEY``, or
``--key-file``) and never written. Outputs are written atomically; identifying fields never reach them.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cases",
        help="administrative case records: validate, link across agencies, indicators",
        description="Validate agencies' case files against a case schema, link the records of the same "
                    "survivor across agencies with a keyed hash (the identifying fields are dropped right "
                    "after), and compute administrative indicators, protected by cell suppression.",
    )
    sub = p.add_subparsers(dest="cases_command", metavar="ACTION")

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("files", nargs="+", help="agency case files (.csv UTF-8, .xlsx, .parquet) or folders of them")
        q.add_argument("--schema", required=True, help="case schema (TOML), e.g. surveys/example/cases.toml")
        q.add_argument("--sheet", help="Excel sheet holding the records (default: the schema's `sheet`)")

    def keyed(q: argparse.ArgumentParser) -> None:
        g = q.add_mutually_exclusive_group()
        g.add_argument("--key-env", default="GBVSTATS_KEY", metavar="NAME",
                       help="environment variable holding the HMAC key (default GBVSTATS_KEY)")
        g.add_argument("--key-file", metavar="PATH", help="file holding the HMAC key")
        q.add_argument("--key-fields", default="name,birth_date,commune",
                       help="identifying fields to link on, comma-separated (default name,birth_date,commune)")

    v = sub.add_parser("validate", help="check the files; print the validation report",
                       description="Read and check every row; print what was kept, what was excluded and why "
                                   "(file, column, rows, fix). Identifying values are never echoed.")
    common(v)
    v.add_argument("--report", metavar="FILE", help="write the report to FILE instead of stdout")
    v.add_argument("--json", action="store_true", help="the report as JSON")
    v.add_argument("--strict", action="store_true",
                   help="exit 1 if any row was excluded for an error (rows without consent do not count)")
    v.set_defaults(func=run_validate)

    k = sub.add_parser("link", help="link records across agencies; write pseudonymous survivors and overlap",
                       description="Write to DIR: survivors.csv, incidents.csv, possible_matches.csv, "
                                   "overlap.csv and linkage.txt (validation report and linkage summary). "
                                   "No identifying field and no key is written.")
    common(k)
    keyed(k)
    k.add_argument("--out", required=True, metavar="DIR", help="output folder")
    k.add_argument("--records", action="store_true", help="also write records.csv (one row per record)")
    k.set_defaults(func=run_link)

    i = sub.add_parser("indicator", help="an administrative indicator, protected for publication",
                       description="Compute an indicator on linked incidents and protect it (primary and "
                                   "secondary suppression, audited) unless --no-protect is given.")
    i.add_argument("name", help="cases_new, cases_by_type, help_received, service_status, time_to_report, "
                                "self_referred, survivors_unique, victims_supported")
    common(i)
    keyed(i)
    i.add_argument("--by", default="", help="comma-separated columns, e.g. province,gbv_type or district,month")
    i.add_argument("--period", help="2024, 2024-Q3 or 2024-03 (first report date)")
    i.add_argument("--ci", choices=("clopper-pearson", "poisson-exact"), help="exact interval")
    i.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    i.add_argument("--min-frequency", type=int, help="suppression threshold (default: the schema's, 10)")
    i.add_argument("--no-protect", action="store_true",
                   help="skip cell suppression (for checking only: the output is NOT safe to publish)")
    i.add_argument("--out", metavar="FILE", help="write the table as CSV to FILE instead of stdout")
    i.set_defaults(func=run_indicator)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _read(args):
    import warnings

    from ..cases import read_cases
    from ..errors import ExclusionWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)  # the report lists them
        return read_cases(args.files, schema=args.schema, sheet=args.sheet)


def _key(args):
    from ..keys import from_env, from_file

    return from_file(args.key_file) if args.key_file else from_env(args.key_env)


def _fields(args) -> list[str]:
    return [f.strip() for f in args.key_fields.split(",") if f.strip()]


def run_validate(args: argparse.Namespace) -> int:
    from ..render import write_atomic

    cases = _read(args)
    rep = cases.report
    text = json.dumps(rep.to_dict(), indent=2, ensure_ascii=False) + "\n" if args.json else rep.to_text() + "\n"
    if args.report:
        write_atomic(args.report, text)
        print(f"validation report written to {args.report}: {rep.rows_kept} of {rep.rows_read} rows kept")
    else:
        sys.stdout.write(text)
    errors = sum(n for reason, n in rep.excluded if reason != "no_consent")
    return 1 if args.strict and errors else 0


def _csv(frame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def run_link(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..render import write_atomic

    key = _key(args)  # before reading: fail fast without a key
    cases = _read(args)
    linked = cases.link(key_fields=_fields(args), key=key)
    out = Path(args.out)
    files = {
        "survivors.csv": _csv(linked.survivors),
        "incidents.csv": _csv(linked.incidents),
        "possible_matches.csv": _csv(linked.possible_matches),
        "overlap.csv": linked.overlap.to_csv(lineterminator="\n"),
        "linkage.txt": cases.report.to_text() + "\n\n" + linked.summary() + "\n",
    }
    if args.records:
        files["records.csv"] = _csv(linked.records)
    for name, text in files.items():
        write_atomic(out / name, text)
    print(linked.summary())
    print(f"written to {out}: {', '.join(files)}")
    return 0


def run_indicator(args: argparse.Namespace) -> int:
    from ..render import write_atomic

    key = _key(args)
    cases = _read(args)
    linked = cases.link(key_fields=_fields(args), key=key)
    by = [b.strip() for b in args.by.split(",") if b.strip()]
    ind = linked.indicator(args.name, by=by, period=args.period, ci=args.ci, level=args.level)
    if not args.no_protect:
        ind = ind.protected(min_frequency=args.min_frequency)
    text = _csv(ind.frame)
    if args.out:
        write_atomic(args.out, text)
        print(f"{args.name} written to {args.out} ({len(ind.frame)} rows"
              f"{'' if args.no_protect else ', protected'})")
    else:
        sys.stdout.write(text)
    if args.no_protect:
        print("warning: --no-protect: small cells are shown; do not publish this table", file=sys.stderr)
    if ind.note:
        print(f"note: {ind.note}", file=sys.stderr)
    return 0
