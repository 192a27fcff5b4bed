"""``gbvstats anonymise IN --spec S --k 5 --out OUT.sav|.dta|.csv|.parquet [--report R.md|.html]``.

Reads a survey file (with its spec: quasi-identifiers, sensitive variables, identifiers, hierarchies,
importance, k and l from ``[disclosure]``; options override the spec), makes it k-anonymous and
l-diverse with :func:`gbvstats.disclosure.microdata.anonymise` and writes the file atomically.
Suppressed values are written as a code (default -7) labelled "suppressed for confidentiality" and
declared user-missing in SPSS; the key is read from ``--key-env`` / ``--key-file`` (default: the
``GBVSTATS_KEY`` environment variable) and never written anywhere.

Writing is deterministic: the creation timestamps that SPSS and Stata headers carry are fixed, so
the same input, spec, options and key give the same bytes.
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

from . import add_file_options, file_options

OUT_FORMATS = {".sav": "spss", ".dta": "stata", ".csv": "csv", ".parquet": "parquet"}
REPORT_FORMATS = (".md", ".html")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "anonymise",
        help="make a survey file k-anonymous and l-diverse for release to researchers",
        description="Drop direct identifiers, pseudonymise kept ids with a run-time key, recode along the "
                    "spec's hierarchies, suppress values until every published key occurs at least k "
                    "times (a suppressed value counts as its own symbol) and every class is l-diverse; "
                    "re-check and write the file. The change log holds original values: --log writes it "
                    "for the data producer only, never release it.",
    )
    p.add_argument("input", help="survey file: .sav .zsav .dta .sas7bdat .xpt .csv .xlsx .parquet")
    p.add_argument("--spec", help="survey spec (TOML) with a [disclosure] section")
    p.add_argument("--out", required=True, help="output file: .sav, .dta, .csv or .parquet")
    p.add_argument("--k", type=int, help="minimum records per published key (default: the spec's, else 5)")
    p.add_argument("--l", type=int, help="minimum distinct sensitive values per class (default: the spec's, else 2)")
    p.add_argument("--report", help="risk and information-loss report: .md or .html (no record-level values)")
    p.add_argument("--log", help="CSV of every change, with ORIGINAL values: confidential, for the producer only")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--key-env", metavar="NAME", help="environment variable holding the pseudonymisation key")
    keys.add_argument("--key-file", metavar="PATH", help="file holding the pseudonymisation key")
    p.add_argument("--quasi-identifiers", help="comma-separated (overrides the spec)")
    p.add_argument("--sensitive", help="comma-separated (overrides the spec)")
    p.add_argument("--identifiers", help="comma-separated columns to drop (overrides the spec)")
    p.add_argument("--pseudonymise", help="comma-separated id columns to pseudonymise (overrides the spec)")
    p.add_argument("--importance", help="comma-separated, most important first (overrides the spec)")
    p.add_argument("--weights", help="weight column (default: the spec's design weights)")
    p.add_argument("--method", choices=("auto", "milp", "heuristic"), default="auto")
    p.add_argument("--recode", choices=("auto", "none", "max"), default="auto")
    p.add_argument("--max-suppressed-share", type=float, default=0.05)
    p.add_argument("--time-limit", type=float, default=30.0, help="seconds for the integer programme")
    p.add_argument("--suppressed-code", type=int, default=-7)
    p.add_argument("--never-suppress", help="comma-separated quasi-identifiers local suppression must not blank "
                                            "(overrides the spec)")
    p.add_argument("--drop", help="comma-separated columns not to release (overrides the spec)")
    p.add_argument("--on-inference", choices=("suppress", "error", "ignore"),
                   help="when a released column gives a suppressed value back: blank it in those records "
                        "(suppress, the default), stop (error), or keep it and only report it (ignore)")
    add_file_options(p)
    p.set_defaults(func=run)


def _list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def run(args: argparse.Namespace) -> int:
    import warnings

    from ..disclosure.microdata import anonymise
    from ..errors import ExclusionWarning, SpecError

    out_path = Path(args.out)
    fmt = OUT_FORMATS.get(out_path.suffix.lower())
    if fmt is None:
        raise SpecError(f"--out {args.out!r}: the extension must be one of {', '.join(OUT_FORMATS)}")
    if args.report and Path(args.report).suffix.lower() not in REPORT_FORMATS:
        raise SpecError(f"--report {args.report!r}: the extension must be .md or .html")
    key_source = f"env:{args.key_env}" if args.key_env else (f"file:{args.key_file}" if args.key_file else None)

    frame, file_meta, disc, weights, design_columns = _read(args)
    qis = _list(args.quasi_identifiers) or list(disc.quasi_identifiers if disc else [])
    if not qis:
        raise SpecError("no quasi-identifiers: give --spec with [disclosure] quasi_identifiers, or "
                        "--quasi-identifiers a,b,c")
    sensitive = _list(args.sensitive) if args.sensitive is not None else list(disc.sensitive if disc else [])
    identifiers = _list(args.identifiers) if args.identifiers is not None else list(disc.identifiers if disc else [])
    pseudo = _list(args.pseudonymise) if args.pseudonymise is not None else list(disc.pseudonymise if disc else [])
    importance = _list(args.importance) or (
        [v for v in disc.importance if v in qis] if disc and disc.importance else None)
    hierarchies = dict(disc.hierarchies) if disc else {}
    hierarchies = {v: h for v, h in hierarchies.items() if v in qis}
    k = args.k if args.k is not None else (disc.k if disc else 5)
    l = args.l if args.l is not None else (disc.l if disc else 2)
    weights = args.weights or weights
    never = (_list(args.never_suppress) if args.never_suppress is not None
             else list(disc.never_suppress if disc else []))
    drop = _list(args.drop) if args.drop is not None else list(disc.drop if disc else [])
    on_inference = args.on_inference or (disc.on_inference if disc else "suppress")
    released = set(frame.columns) - set(identifiers) - set(drop)
    design = [c for c in design_columns if c in released and c not in qis]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        result = anonymise(
            frame, qis, k=k, l=l, sensitive=sensitive, hierarchies=hierarchies, importance=importance,
            identifiers=identifiers, pseudonymise={c: key_source for c in pseudo}, weights=weights,
            recode=args.recode, max_suppressed_share=args.max_suppressed_share, method=args.method,
            time_limit=args.time_limit, never_suppress=never, drop=drop, design_columns=design,
            on_inference=on_inference)
    result.write(out_path, meta=file_meta, suppressed_code=args.suppressed_code)
    from ..render import write_atomic

    if args.report:
        rp = Path(args.report)
        text = report_html(result) if rp.suffix.lower() == ".html" else report_markdown(result)
        write_atomic(rp, text)
    if args.log:
        write_atomic(Path(args.log), result.log.to_csv(index=False, lineterminator="\n"))
    s = result.risk_after.summary
    blanked = result.parameters.get("inference_suppressed", {})
    inf = result.inference
    ignored = inf[inf["action"] == "ignored"] if len(inf) else inf
    print(f"wrote {out_path}: {len(result.data)} records, k = {s.k}, l = {s.l}; "
          f"{result.info_loss.total_suppressed} values suppressed, {result.info_loss.total_recoded} recoded; "
          f"{sum(blanked.values())} values of other columns blanked because they gave suppressed values back"
          + (f"; WARNING: {int(ignored['rows_affected'].sum())} suppressed values can be read back from other "
             f"columns ({', '.join(sorted(set(ignored['column'])))}; --on-inference ignore)" if len(ignored) else "")
          + "; "
          f"expected re-identifications {result.risk_before.summary.expected_reidentifications:.2f} -> "
          f"{s.expected_reidentifications:.2f}")
    return 0


def _read(args):
    """The frame to protect, the file's metadata, the spec's disclosure section and design weights."""
    import warnings

    from ..errors import ExclusionWarning
    from ..readers import read_raw, read_survey

    if args.spec:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExclusionWarning)
            survey = read_survey(args.input, spec=args.spec, **file_options(args))
        frame = survey.raw.copy()
        disc = survey.spec.disclosure
        sens = _list(args.sensitive) if args.sensitive is not None else list(disc.sensitive)
        for s in sens:  # derived sensitive variables are released with the file (and checked for l)
            if s not in frame.columns and s in survey.data.columns:
                frame[s] = survey.data[s].to_numpy()
        weights = survey.spec.design.weights if survey.spec.design else None
        design = list(survey.spec.design.columns()) if survey.spec.design else []
        return frame, survey.meta.file, disc, weights, design
    frame, meta = read_raw(args.input)
    return frame, meta, None, None, []



def report_markdown(result) -> str:
    """Risk before/after, information loss and how suppression went; no record-level values."""
    import pandas as pd

    b, a = result.risk_before.summary.as_dict(), result.risk_after.summary.as_dict()
    risk = pd.DataFrame({"before": b, "after": a})
    s = result.info_loss.suppression
    p = result.parameters
    rules = result.log["rule"].astype(str).value_counts().sort_index()
    lines = [
        "# Anonymisation report",
        "",
        f"k = {p['k']}, l = {p['l']} (safe count: a suppressed value is a symbol of its own).",
        f"Quasi-identifiers: {', '.join(p['quasi_identifiers'])}.",
        f"Sensitive variables: {', '.join(p['sensitive']) or 'none'}.",
        f"Identifiers dropped: {', '.join(p['identifiers_dropped']) or 'none'}; pseudonymised: "
        f"{', '.join(p['pseudonymised']) or 'none'} (HMAC-SHA256, key supplied at run time, not stored).",
        f"Recoding levels: {p['recode_levels'] or 'none'}.",
        "",
        "## Risk",
        "",
        risk.to_markdown() if _has_tabulate() else "```\n" + risk.to_string() + "\n```",
        "",
        "## Information loss",
        "",
        "```",
        result.info_loss.frame.to_string(),
        "```",
        "",
        f"Local suppression: {s.method}; {s.suppressed_values} values suppressed, cost {s.cost:g}, "
        f"lower bound {s.lower_bound:g}, gap {s.gap:.1%}; optimal: {'yes' if s.optimal else 'not proven'}; "
        f"patterns up to {s.max_pattern_size} variables{' (all)' if s.complete_patterns else ''}; {s.status}.",
        "",
        "## Values other released columns gave back",
        "",
        (f"Policy: {p.get('on_inference', 'suppress')}; never suppressed: "
         f"{', '.join(p.get('never_suppress', [])) or 'none'}; not released: {', '.join(p.get('dropped', [])) or 'none'}."),
        "",
        "```",
        result.inference.to_string(index=False) if len(result.inference) else "none",
        "```",
        "",
        "## Changes by rule",
        "",
        "```",
        rules.to_string(),
        "```",
        "",
    ]
    return "\n".join(lines)


def report_html(result) -> str:
    import html

    md = report_markdown(result)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Anonymisation report</title></head>"
            f"<body><pre>{html.escape(md)}</pre></body></html>\n")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
