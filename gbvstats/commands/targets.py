"""``gbvstats targets``: list the plans' targets, propose a next target, size the next survey round."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("targets", help="programme targets, next-year targets, sample size and MDC",
                              description="Look up the bundled programme targets (extendable with --extra), "
                                          "propose a next-year target, or size the next survey round.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="list targets (filter by indicator, year, locality)")
    ls.add_argument("--indicator", default=None)
    ls.add_argument("--year", type=int, default=None)
    ls.add_argument("--locality", default=None, help="name (Cần Thơ) or GSO province code (92)")
    ls.add_argument("--province", default=None, help="the province of a district --locality (for inheritance)")
    ls.add_argument("--year-rule", choices=("exact", "next", "latest"), default="exact")
    ls.add_argument("--extra", default=None, help="your own targets TOML")
    ls.set_defaults(func=_list)

    nx = sub.add_parser("next", help="propose the next-year target on the path to the plan's end target")
    nx.add_argument("--latest", type=float, required=True, help="latest value, as a proportion (0.15)")
    nx.add_argument("--latest-year", type=int, required=True)
    nx.add_argument("--end", type=float, required=True, help="the plan's end target (0.5)")
    nx.add_argument("--end-year", type=int, required=True)
    nx.add_argument("--year", type=int, default=None, help="year to propose for (default latest-year + 1)")
    nx.add_argument("--path", choices=("linear", "logit"), default="linear")
    nx.set_defaults(func=_next)

    ss = sub.add_parser("sample-size", help="women to sample so the CI tells met from not met at a margin")
    ss.add_argument("--p", type=float, required=True, help="expected proportion (0.15)")
    ss.add_argument("--margin", type=float, required=True, help="CI half-width (0.05)")
    ss.add_argument("--deff", type=float, default=1.5)
    ss.add_argument("--eligibility", type=float, default=1.0, help="share of interviews in the denominator (survivors)")
    ss.add_argument("--response-rate", type=float, default=1.0)
    ss.add_argument("--level", type=float, default=0.95)
    ss.add_argument("--power", type=float, default=None)
    ss.set_defaults(func=_sample_size)

    md = sub.add_parser("mdc", help="minimum detectable change between two rounds")
    md.add_argument("--p", type=float, required=True)
    md.add_argument("--n1", type=int, required=True, help="completed interviews, round 1")
    md.add_argument("--n2", type=int, default=None)
    md.add_argument("--deff", type=float, default=1.5)
    md.add_argument("--eligibility", type=float, default=1.0)
    md.add_argument("--level", type=float, default=0.95)
    md.add_argument("--power", type=float, default=0.8)
    md.set_defaults(func=_mdc)
    p.set_defaults(func=_list)


def _list(args) -> int:
    from ..targets import targets

    ts = targets(getattr(args, "indicator", None), year=getattr(args, "year", None),
                 locality=getattr(args, "locality", None), province=getattr(args, "province", None),
                 year_rule=getattr(args, "year_rule", "exact"), extra=getattr(args, "extra", None))
    for t in ts:
        sign = "≥" if t.direction == "at_least" else "≤"
        inherited = f"  (applies to {t.applies_to})" if t.inherited else ""
        print(f"{t.indicator:22} {t.locality:12} {t.year}  {sign} {100 * t.value:.0f}%  {t.document}{inherited}")
    if not len(ts):
        print("no targets match")
    return 0


def _next(args) -> int:
    from ..targets import next_target

    nt = next_target(args.latest, args.latest_year, args.end, args.end_year, year=args.year, path=args.path)
    print(f"{nt.year}: {100 * nt.value:.1f}%  ({nt.path} path from {100 * nt.latest:.1f}% in {nt.latest_year} "
          f"to {100 * nt.end_value:.0f}% in {nt.end_year}){'; ' + nt.note if nt.note else ''}")
    return 0


def _sample_size(args) -> int:
    from ..targets import sample_size

    s = sample_size(args.p, margin=args.margin, level=args.level, power=args.power, deff=args.deff,
                    eligibility=args.eligibility, response_rate=args.response_rate)
    print(f"effective sample size      {s.n_effective}\n"
          f"women in the denominator   {s.n_eligible}  (× deff {s.deff:g})\n"
          f"completed interviews       {s.n_interviews}  (÷ eligibility {s.eligibility:g})\n"
          f"women to select            {s.n_sampled}  (÷ response rate {s.response_rate:g})")
    return 0


def _mdc(args) -> int:
    from ..targets import minimum_detectable_change

    m = minimum_detectable_change(args.p, args.n1, args.n2, deff=args.deff, level=args.level, power=args.power,
                                  eligibility=args.eligibility)
    print(f"minimum detectable change: {100 * m:.1f} percentage points")
    return 0
