"""``gbvstats publish PLAN --out DIR`` and ``gbvstats publish PLAN --check DIR``."""

from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "publish",
        help="write the tables, figures and manifest of a table plan; or check a published folder",
        description="Build every table and figure of a table plan (TOML) into --out DIR with a manifest.json "
                    "(SHA-256 of inputs, specs, plan and outputs; versions; parameters). Same inputs give "
                    "byte-identical outputs. With --check DIR, regenerate in a temporary folder and exit 1 "
                    "listing the files that differ from DIR.",
    )
    p.add_argument("plan", help="table plan TOML, e.g. surveys/example/plan.toml")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", metavar="DIR", help="folder to write (replaced atomically when the run succeeds)")
    mode.add_argument("--check", metavar="DIR", help="compare a fresh run with this published folder; exit 1 if any file differs")
    p.add_argument("--key", metavar="SOURCE", default=None,
                   help="pseudonymisation key for case linkage: env:NAME or file:PATH (outputs do not depend on it; "
                        "default: $GBVSTATS_KEY, else a one-run ephemeral key)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..publish import check, publish

    progress = not args.quiet and sys.stderr.isatty()
    if args.check:
        res = check(args.plan, args.check, progress=progress, key=args.key)
        print(res.report())
        return 0 if res.ok else 1
    if not args.quiet:
        print(f"gbvstats publish: building {args.plan} …", file=sys.stderr)
    res = publish(args.plan, out=args.out, progress=progress, key=args.key)
    print(f"wrote {len(res.files)} files to {res.out} (manifest: {res.out / 'manifest.json'})")
    return 0
