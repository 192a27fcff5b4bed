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

    frame, file_meta, disc, weights = _read(args)
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExclusionWarning)
        result = anonymise(
            frame, qis, k=k, l=l, sensitive=sensitive, hierarchies=hierarchies, importance=importance,
            identifiers=identifiers, pseudonymise={c: key_source for c in pseudo}, weights=weights,
            recode=args.recode, max_suppressed_share=args.max_suppressed_share, method=args.method,
            time_limit=args.time_limit)
    data = microdata_bytes(result, fmt, file_meta, suppressed_code=args.suppressed_code)
    from ..render import write_atomic

    write_atomic(out_path, data)
    if args.report:
        rp = Path(args.report)
        text = report_html(result) if rp.suffix.lower() == ".html" else report_markdown(result)
        write_atomic(rp, text)
    if args.log:
        write_atomic(Path(args.log), result.log.to_csv(index=False, lineterminator="\n"))
    s = result.risk_after.summary
    print(f"wrote {out_path}: {len(result.data)} records, k = {s.k}, l = {s.l}; "
          f"{result.info_loss.total_suppressed} values suppressed, {result.info_loss.total_recoded} recoded; "
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
        return frame, survey.meta.file, disc, weights
    frame, meta = read_raw(args.input)
    return frame, meta, None, None


# --------------------------------------------------------------------------------------------
# writers (bytes; the caller writes atomically)

_SAV_DATE = slice(92, 109)  # creation "dd Mmm yy" + "hh:mm:ss" in the SPSS header


def microdata_bytes(result, fmt: str, file_meta=None, *, suppressed_code: int = -7) -> bytes:
    """The anonymised file as bytes in ``fmt`` ("spss", "stata", "csv", "parquet")."""
    import pandas as pd

    from ..disclosure.microdata import export_frame

    frame, labels, missing = export_frame(result, suppressed_code=suppressed_code)
    frame = frame.reset_index(drop=True)
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    # labels: the file's, except for recoded columns (theirs no longer apply)
    recoded = {v for v, lv in result.parameters.get("recode_levels", {}).items() if lv}
    parents = result.parameters.get("recoded_from_column", {})
    value_labels: dict[str, dict] = {}
    var_labels: dict[str, str] = {}
    missing_codes: dict[str, list] = {}
    if file_meta is not None:
        for c in frame.columns:
            if c in file_meta.variable_labels:
                var_labels[c] = file_meta.variable_labels[c]
            if c in recoded:
                parent = parents.get(c)
                if parent and parent in file_meta.value_labels:
                    value_labels[c] = dict(file_meta.value_labels[parent])
            elif c in file_meta.value_labels:
                value_labels[c] = dict(file_meta.value_labels[c])
            codes = [x for x in file_meta.missing_codes.get(c, ()) if isinstance(x, (int, float))]
            if codes:
                missing_codes[c] = [float(x) for x in codes]
    for c, lab in labels.items():
        value_labels.setdefault(c, {}).update(lab)
    for c, codes in missing.items():
        missing_codes[c] = codes + [x for x in missing_codes.get(c, []) if x not in codes]
    for c in list(frame.columns):  # pyreadstat wants object/float columns, not pandas' str dtype
        if pd.api.types.is_string_dtype(frame[c].dtype) and not pd.api.types.is_object_dtype(frame[c].dtype):
            frame[c] = frame[c].astype(object)
    import pyreadstat

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("out.sav" if fmt == "spss" else "out.dta")
        if fmt == "spss":
            ranges = {c: v[:3] for c, v in missing_codes.items() if c in frame.columns}
            vl = {c: v for c, v in value_labels.items() if c in frame.columns}
            pyreadstat.write_sav(frame, str(path), column_labels=var_labels or None,
                                 variable_value_labels=vl or None, missing_ranges=ranges or None)
            data = bytearray(path.read_bytes())
            data[_SAV_DATE] = b"01 Jan 0000:00:00"
        else:
            vl = {}
            for c, lab in value_labels.items():
                if c in frame.columns and pd.api.types.is_numeric_dtype(frame[c].dtype) and all(
                        float(x).is_integer() for x in lab):
                    vl[c] = {int(x): v for x, v in lab.items()}
            pyreadstat.write_dta(frame, str(path), column_labels=var_labels or None,
                                 variable_value_labels=vl or None)
            data = bytearray(path.read_bytes())
            i = data.find(b"<timestamp>")
            if i >= 0:
                j = data.find(b"</timestamp>", i)
                stamp = b"01 Jan 2000 00:00"
                data[i + 12:j] = stamp[: j - i - 12].ljust(j - i - 12)
        return bytes(data)


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
