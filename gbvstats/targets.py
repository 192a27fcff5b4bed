"""Targets from the plans: assess estimates against them, project trends, propose next targets, size surveys.

* :func:`targets` — the programme targets bundled from the plans (``gbvstats/data/targets.toml``),
  extendable by a user TOML file; a locality without its own target inherits its province's, then the
  national one (and says so).
* :func:`assess` — per locality: **met** (the whole confidence interval is on the right side of the
  target), **not met** (the whole interval on the wrong side), **cannot tell** (it straddles); the
  probability that the true value meets the target; the Open-SDG growth-ratio status since a baseline.
  Administrative indicators (no sampling interval) are met / not met on the value itself.
* :func:`project` — a trend over survey rounds by weighted least squares on the logit scale (weights
  1/SE² of the logit, by the delta method) and an interval for the target year.
* :func:`next_target` — a proposed next-year target on the path from the latest value to the plan's end.
* :func:`sample_size`, :func:`minimum_detectable_change` — for the next round.

Formulas are in ``docs/targets.md``. Everything here is plain arithmetic on small arrays: no files, no plots.

Examples
--------
>>> import gbvstats as gs
>>> t = gs.targets("help_seeking_formal", year=2024, locality="Cần Thơ")
>>> [(x.locality, x.year, x.value) for x in t]
[('Cần Thơ', 2024, 0.7)]
"""

from __future__ import annotations

import math
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Literal, Mapping, Sequence, get_args

import numpy as np
import pandas as pd
from scipy import stats

from .errors import ReadError, SpecError, close_matches

__all__ = [
    "Target",
    "TargetSet",
    "targets",
    "assess",
    "Assessment",
    "verdict",
    "probability_meets",
    "growth_ratio",
    "progress_status",
    "project",
    "Projection",
    "next_target",
    "NextTarget",
    "sample_size",
    "SampleSize",
    "minimum_detectable_change",
]

Direction = Literal["at_least", "at_most"]
Level = Literal["national", "province", "district"]
YearRule = Literal["exact", "next", "latest"]
Path_ = Literal["linear", "logit"]
Scale = Literal["known", "estimated"]
DIRECTIONS = get_args(Direction)
LEVELS = get_args(Level)
NATIONAL = "Việt Nam"

VERDICTS = ("met", "not met", "cannot tell")
VERDICT_LABELS = {
    "met": {"vi": "Đạt", "en": "met"},
    "not met": {"vi": "Chưa đạt", "en": "not met"},
    "cannot tell": {"vi": "Chưa kết luận được", "en": "cannot tell yet"},
    "no target": {"vi": "Không có chỉ tiêu", "en": "no target"},
    "no estimate": {"vi": "Không có ước lượng", "en": "no estimate"},
}


def _choice(name: str, value: object, options: Sequence[str]) -> None:
    if value not in options:
        raise SpecError(
            f"{name} = {value!r} is not one of {', '.join(map(repr, options))}{close_matches(str(value), options)}"
        )


def normalise_name(name: object) -> str:
    """Locality names compared without case, spacing or Unicode-composition differences."""
    text = unicodedata.normalize("NFC", str(name)).casefold().strip()
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """One target of one plan for one locality and year.

    Attributes
    ----------
    indicator : str
        Indicator id (see :mod:`gbvstats.indicators`).
    locality, level : str
        Where the target is set (``"Cần Thơ"``) and at which level (``"national"``,
        ``"province"`` or ``"district"``).
    year : int
        Target year.
    value : float
        The target as a proportion (70% is 0.7).
    direction : {"at_least", "at_most"}
        Met when the value is at least the target (e.g. help-seeking) or at most the target
        (e.g. prevalence of violence).
    province : str
        The province of a district target.
    code : int or None
        GSO code of the locality, when the plan's locality has one.
    baseline_year, baseline_value : int or None, float or None
        The plan's own baseline, if it states one.
    document, quote : str
        The plan the target comes from and the sentence that sets it.
    source : str
        ``"bundled"`` or the path of the user's targets file.
    applies_to, inherited : str, bool
        Set by a lookup (:meth:`TargetSet.for_locality`): the locality asked for, and whether
        the target was inherited because that locality has none of its own (a district
        inherits its province's target, then the national one).

    Examples
    --------
    >>> t = targets("help_seeking_formal", year=2024, locality="Cần Thơ")[0]
    >>> t
    Target(help_seeking_formal Cần Thơ 2024 ≥ 70%)
    >>> t.level, t.code, t.document
    ('province', 92, 'Plan 80/KH-UBND of Cần Thơ city (10 Apr 2024)')
    """

    indicator: str
    locality: str
    level: str
    year: int
    value: float
    direction: str = "at_least"
    province: str = ""
    code: int | None = None
    baseline_year: int | None = None
    baseline_value: float | None = None
    document: str = ""
    quote: str = ""
    source: str = "bundled"
    applies_to: str = ""
    inherited: bool = False

    def is_met_by(self, value: float) -> bool:
        """Whether a (true or point) value meets the target.

        This compares one number with the target; for an estimate with a confidence interval
        use :func:`assess` (met / not met / cannot tell).

        Parameters
        ----------
        value : float
            A proportion (70% is 0.7).

        Returns
        -------
        bool
            ``value >= target`` for ``at_least``, ``value <= target`` for ``at_most``.

        Examples
        --------
        >>> t = targets("help_seeking_formal", year=2024, locality="Cần Thơ")[0]
        >>> t.is_met_by(0.72), t.is_met_by(0.65)
        (True, False)
        """
        return value >= self.value if self.direction == "at_least" else value <= self.value

    def __repr__(self) -> str:
        sign = "≥" if self.direction == "at_least" else "≤"
        extra = f", for {self.applies_to}" if self.inherited else ""
        return f"Target({self.indicator} {self.locality} {self.year} {sign} {self.value:.0%}{extra})"


_TARGET_FIELDS = {
    "indicator", "locality", "level", "province", "code", "year", "value", "direction",
    "baseline_year", "baseline_value", "document", "quote",
}


def _parse_targets(data: dict, source: str) -> list[Target]:
    rows = data.get("target")
    if not isinstance(rows, list):
        raise SpecError(f"{source}: no [[target]] tables found; see gbvstats/data/targets.toml for the shape")
    out = []
    for i, raw in enumerate(rows, start=1):
        where = f"{source}: target #{i}"
        unknown = sorted(set(raw) - _TARGET_FIELDS)
        if unknown:
            raise SpecError(
                f"{where}: unknown field(s) {', '.join(map(repr, unknown))}{close_matches(unknown[0], sorted(_TARGET_FIELDS))}"
            )
        for need in ("indicator", "locality", "year", "value"):
            if need not in raw:
                raise SpecError(f"{where}: {need} is missing")
        level = raw.get("level", "national" if raw["locality"] == NATIONAL else "province")
        _choice(f"{where}: level", level, LEVELS)
        direction = raw.get("direction", "at_least")
        _choice(f"{where}: direction", direction, DIRECTIONS)
        value = raw["value"]
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise SpecError(f"{where}: value = {value!r} must be a proportion between 0 and 1 (50% is 0.5)")
        if level == "district" and not raw.get("province"):
            raise SpecError(f"{where}: a district target needs province = \"...\"")
        out.append(Target(
            indicator=str(raw["indicator"]), locality=str(raw["locality"]), level=level, year=int(raw["year"]),
            value=float(value), direction=direction, province=str(raw.get("province", "")),
            code=int(raw["code"]) if "code" in raw else None,
            baseline_year=int(raw["baseline_year"]) if "baseline_year" in raw else None,
            baseline_value=float(raw["baseline_value"]) if "baseline_value" in raw else None,
            document=str(raw.get("document", "")), quote=str(raw.get("quote", "")), source=source,
        ))
    return out


def bundled_text() -> str:
    """Text of the bundled targets file (hashed into publication manifests)."""
    return resources.files("gbvstats").joinpath("data/targets.toml").read_text(encoding="utf-8")


def _all_targets(extra: str | Path | None) -> list[Target]:
    items = _parse_targets(tomllib.loads(bundled_text()), "gbvstats/data/targets.toml")
    if extra is not None:
        try:
            with open(extra, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ReadError(f"{extra}: no such targets file; give the path of a TOML file with [[target]] tables") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{extra}: not valid TOML ({exc})") from None
        user = _parse_targets(data, str(extra))
        keys = {(t.indicator, normalise_name(t.locality), t.year) for t in user}
        items = [t for t in items if (t.indicator, normalise_name(t.locality), t.year) not in keys] + user
    return items


@dataclass(frozen=True)
class TargetSet:
    """An immutable collection of :class:`Target` with lookups by locality.

    Made by :func:`targets`. Iterate it, index it, ``len()`` it, or read ``.frame``.

    Attributes
    ----------
    items : tuple of Target

    Examples
    --------
    >>> ts = targets("help_seeking_formal")
    >>> len(ts), ts[0]
    (6, Target(help_seeking_formal Việt Nam 2023 ≥ 40%))
    >>> ts.frame[["locality", "level", "year", "value"]]
        locality     level  year  value
    0   Việt Nam  national  2023    0.4
    1   Việt Nam  national  2025    0.5
    2  Hương Khê  district  2023    0.4
    3  Hương Khê  district  2025    0.5
    4    Cần Thơ  province  2024    0.7
    5  Quảng Nam  province  2025    0.5
    """

    items: tuple[Target, ...] = ()

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Target:
        return self.items[i]

    @property
    def frame(self) -> pd.DataFrame:
        """The targets as a table: one row per target, with its locality, level, year, value and document."""
        cols = ["indicator", "locality", "level", "province", "year", "value", "direction", "document", "applies_to"]
        return pd.DataFrame([{c: getattr(t, c) for c in cols} for t in self.items], columns=cols)

    def for_locality(self, locality: object = None, *, province: object = None, year: int | None = None,
                     year_rule: str = "exact", inherit: bool = True) -> Target | None:
        """The target that applies to ``locality`` (a name, a GSO province code, or None = national).

        With ``inherit``, a district falls back to its ``province``'s target, then to the national one;
        a province to the national one. ``year_rule``: ``"exact"`` (the target for ``year``), ``"next"``
        (the first target year at or after ``year``), ``"latest"`` (the last target year).

        Parameters
        ----------
        locality : str or int, optional
            A locality name (compared without case, spacing or Unicode-composition differences,
            but with its diacritics), a GSO province code, or None / ``"Việt Nam"`` for the nation.
        province : str or int, optional
            The province of a district ``locality`` (the first step of inheritance).
        year : int, optional
            The year asked for; see ``year_rule``. None picks the latest target year.
        year_rule : {"exact", "next", "latest"}
            How ``year`` picks among a locality's target years.
        inherit : bool, default True
            Fall back to the province's, then the national, target.

        Returns
        -------
        Target or None
            The target with ``applies_to`` set to ``locality`` and ``inherited`` telling whether
            it came from a higher level; None when no target applies.

        Raises
        ------
        SpecError
            If ``year_rule`` is not one of the three rules.

        Examples
        --------
        >>> ts = targets("help_seeking_formal")
        >>> ts.for_locality("Hương Khê", province="Hà Tĩnh", year=2024, year_rule="next")
        Target(help_seeking_formal Hương Khê 2025 ≥ 50%)

        A district without a plan of its own (and a province without one) inherits the
        national target, and says so:

        >>> t = ts.for_locality("Thạch Hà", province="Hà Tĩnh", year=2024, year_rule="next")
        >>> t, t.inherited
        (Target(help_seeking_formal Việt Nam 2025 ≥ 50%, for Thạch Hà), True)
        >>> ts.for_locality("Thạch Hà", year=2024, year_rule="next", inherit=False) is None
        True

        A GSO province code works as well as the name:

        >>> ts.for_locality(92, year=2024)
        Target(help_seeking_formal Cần Thơ 2024 ≥ 70%)
        """
        _choice("year_rule", year_rule, get_args(YearRule))
        chain: list[object] = []
        if locality is not None and not (isinstance(locality, str) and normalise_name(locality) in
                                         (normalise_name(NATIONAL), "national", "total", "")):
            chain.append(locality)
            if inherit and province is not None:
                chain.append(province)
        if inherit or not chain:
            chain.append(NATIONAL)
        for position, loc in enumerate(chain):
            hits = [t for t in self.items if _matches(t, loc)]
            hit = _pick_year(hits, year, year_rule)
            if hit is not None:
                applies = NATIONAL if locality is None else str(locality)
                return replace(hit, applies_to=applies, inherited=position > 0)
        return None

    def __repr__(self) -> str:
        return f"TargetSet({len(self)} targets)" + "".join(f"\n  {t!r}" for t in self.items[:12])


def _matches(t: Target, loc: object) -> bool:
    if isinstance(loc, (int, np.integer)) and not isinstance(loc, bool):
        return t.code is not None and int(loc) == t.code
    if isinstance(loc, float) and float(loc).is_integer():
        return t.code is not None and int(loc) == t.code
    if isinstance(loc, str) and loc.strip().isdigit():
        # GSO codes often arrive as text ("92", "01" from CSV or case records): match them as codes
        if t.code is not None and int(loc.strip()) == t.code:
            return True
    name = normalise_name(loc)
    return name == normalise_name(t.locality) or (name == "national" and t.level == "national")


def _pick_year(hits: list[Target], year: int | None, rule: str) -> Target | None:
    if not hits:
        return None
    if year is None or rule == "latest":
        return max(hits, key=lambda t: t.year)
    if rule == "exact":
        same = [t for t in hits if t.year == year]
        return same[0] if same else None
    later = [t for t in hits if t.year >= year]
    return min(later, key=lambda t: t.year) if later else None


def targets(indicator: str | None = None, year: int | None = None, locality: object = None, *,
            province: object = None, year_rule: str = "exact", inherit: bool = True,
            extra: str | Path | None = None) -> TargetSet:
    """The programme targets from the plans, filtered.

    Parameters
    ----------
    indicator : str, optional
        Indicator id (``"help_seeking_formal"``, ``"help_received"``, ...).
    year : int, optional
        Target year; see ``year_rule``.
    locality : str or int, optional
        A locality name (``"Cần Thơ"``), a GSO province code (``92``) or ``"Việt Nam"``. When given, the
        single target that applies is returned (inherited from the province / nation if the locality has
        none and ``inherit`` is true).
    province : str or int, optional
        The province of a district ``locality`` (for inheritance).
    year_rule : {"exact", "next", "latest"}
        ``"next"``: the first target year at or after ``year`` (what the locality is working toward).
    extra : path, optional
        A user TOML file with ``[[target]]`` tables; same indicator, locality and year replace bundled ones.

    Returns
    -------
    TargetSet

    Examples
    --------
    >>> import gbvstats as gs
    >>> t = gs.targets("help_seeking_formal", year=2025, locality="Kiên Giang")
    >>> t[0].locality, t[0].value, t[0].inherited
    ('Việt Nam', 0.5, True)
    >>> len(gs.targets("help_received"))
    6
    """
    _choice("year_rule", year_rule, get_args(YearRule))
    items = _all_targets(extra)
    if indicator is not None:
        known = sorted({t.indicator for t in items})
        items = [t for t in items if t.indicator == indicator]
        if not items:
            from .indicators import catalogue

            if indicator not in catalogue():
                raise SpecError(f"no targets for unknown indicator {indicator!r}{close_matches(indicator, known)}; "
                                f"indicators with targets: {', '.join(known)}")
    ts = TargetSet(tuple(items))
    if locality is not None:
        hit = ts.for_locality(locality, province=province, year=year, year_rule=year_rule, inherit=inherit)
        return TargetSet((hit,) if hit is not None else ())
    if year is not None:
        if year_rule == "exact":
            items = [t for t in items if t.year == year]
        elif year_rule == "next":
            best: dict = {}
            for t in items:
                if t.year >= year:
                    k = (t.indicator, normalise_name(t.locality))
                    if k not in best or t.year < best[k].year:
                        best[k] = t
            items = [t for t in items if best.get((t.indicator, normalise_name(t.locality))) is t]
    return TargetSet(tuple(items))


# ---------------------------------------------------------------------------------------------- verdicts


def verdict(ci_low, ci_high, target, direction: str = "at_least") -> np.ndarray:
    """Interval verdicts: ``"met"`` when the whole CI is on the target's side, ``"not met"`` when the whole
    CI is on the other side, else ``"cannot tell"``. Vectorised; a missing CI or target gives ``""``.

    An administrative value without sampling error is passed as ``ci_low == ci_high == value``.

    Parameters
    ----------
    ci_low, ci_high : array_like
        Interval bounds, one pair per row.
    target : float or array_like
        The target (broadcast against the bounds).
    direction : {"at_least", "at_most"}
        Which side of the target meets it.

    Returns
    -------
    numpy.ndarray of str
        ``"met"``, ``"not met"``, ``"cannot tell"`` or ``""`` per row.

    Examples
    --------
    >>> from gbvstats.targets import verdict
    >>> list(verdict([0.52, 0.30, 0.45], [0.60, 0.45, 0.55], 0.5))
    ['met', 'not met', 'cannot tell']
    >>> list(verdict([0.40], [0.48], 0.5, "at_most"))
    ['met']
    """
    _choice("direction", direction, DIRECTIONS)
    lo = np.asarray(ci_low, dtype=float)
    hi = np.asarray(ci_high, dtype=float)
    t = np.broadcast_to(np.asarray(target, dtype=float), lo.shape)
    if direction == "at_least":
        met, notmet = lo >= t, hi < t
    else:
        met, notmet = hi <= t, lo > t
    out = np.where(met, "met", np.where(notmet, "not met", "cannot tell")).astype(object)
    out[np.isnan(lo) | np.isnan(hi) | np.isnan(t)] = ""
    return out


def _logit(p):
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p) - np.log1p(-p)


def _expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def probability_meets(estimate, se, target, direction: str = "at_least", df=np.inf) -> np.ndarray:
    """Probability that the true value meets the target, on the logit scale.

    With :math:`\\hat\\theta = \\mathrm{logit}(\\hat p)` and :math:`s = \\mathrm{se}/(\\hat p(1-\\hat p))`
    (delta method), :math:`P = F_{t,df}((\\hat\\theta - \\mathrm{logit}(T))/s)` for ``at_least`` (one minus it
    for ``at_most``): the approximate confidence distribution of the proportion, consistent with logit
    intervals and never placing mass outside (0, 1). A target of 100% can never be shown met this way
    (probability 0). At :math:`\\hat p \\in \\{0, 1\\}` the logit is undefined and the normal approximation on
    the proportion scale is used; with ``se == 0`` (administrative data) the answer is 0 or 1.

    Parameters
    ----------
    estimate, se : array_like
        Point estimates (proportions) and their standard errors.
    target : float or array_like
        The target.
    direction : {"at_least", "at_most"}
        Which side of the target meets it.
    df : float or array_like, default inf
        Degrees of freedom of the estimates (design df); ``inf`` uses the normal distribution.

    Returns
    -------
    numpy.ndarray of float
        One probability per estimate (NaN where an input is missing).

    Examples
    --------
    >>> from gbvstats.targets import probability_meets
    >>> float(probability_meets(0.5, 0.05, 0.5)[0])
    0.5
    >>> float(probability_meets(0.6, 0.02, 0.5)[0]) > 0.99
    True
    """
    _choice("direction", direction, DIRECTIONS)
    p = np.atleast_1d(np.asarray(estimate, dtype=float))
    s = np.broadcast_to(np.asarray(se, dtype=float), p.shape)
    t = np.broadcast_to(np.asarray(target, dtype=float), p.shape)
    d = np.broadcast_to(np.asarray(df, dtype=float), p.shape)
    inner = (p > 0) & (p < 1) & (s > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_logit = (_logit(p) - _logit(t)) / (s / (p * (1 - p)))
        z_lin = (p - t) / s
    z = np.where(inner, z_logit, z_lin)
    # The same df rule as the intervals (gbvstats.intervals): df < 1 (a domain inside one PSU) or
    # uses 1, so 'met' agrees with 'the interval lies above the target'; unknown (NaN) or inf df is normal.
    dd = np.where(np.isnan(d), np.inf, np.where(d < 1, 1.0, d))
    prob = np.where(np.isinf(dd), stats.norm.cdf(z), stats.t.cdf(z, np.where(np.isinf(dd), 1.0, dd)))
    exact = s == 0
    prob = np.where(exact, (p >= t).astype(float), prob)
    if direction == "at_most":
        prob = np.where(exact, (p <= t).astype(float), 1.0 - prob)
    prob = np.where(np.isnan(p) | np.isnan(s) | np.isnan(t), np.nan, prob)
    return prob


def growth_ratio(baseline, baseline_year, current, current_year, target, target_year) -> np.ndarray:
    """Open SDG growth ratio: observed compound annual growth since the baseline over the growth needed.

    :math:`r = \\frac{(x_t/x_0)^{1/(t-t_0)} - 1}{(T/x_0)^{1/(t_T-t_0)} - 1}`. NaN when the baseline is 0,
    when no time has passed, or when the baseline already equals the target.

    Parameters
    ----------
    baseline, baseline_year : float or array_like
        The baseline value :math:`x_0` and its year :math:`t_0`.
    current, current_year : float or array_like
        The latest value :math:`x_t` and its year :math:`t`.
    target, target_year : float or array_like
        The target :math:`T` and the year :math:`t_T` it is due.

    Returns
    -------
    numpy.ndarray of float
        1 means on track; above 1 ahead, between 0 and 1 behind, below 0 moving away.

    Examples
    --------
    >>> from gbvstats.targets import growth_ratio
    >>> round(float(growth_ratio(0.2, 2020, 0.3, 2023, 0.5, 2025)[0]), 4)
    0.7195
    """
    x0 = np.atleast_1d(np.asarray(baseline, dtype=float))
    shape = x0.shape
    t0 = np.broadcast_to(np.asarray(baseline_year, dtype=float), shape)
    xt = np.broadcast_to(np.asarray(current, dtype=float), shape)
    t = np.broadcast_to(np.asarray(current_year, dtype=float), shape)
    tv = np.broadcast_to(np.asarray(target, dtype=float), shape)
    ty = np.broadcast_to(np.asarray(target_year, dtype=float), shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = (xt / x0) ** (1.0 / (t - t0)) - 1.0
        required = (tv / x0) ** (1.0 / (ty - t0)) - 1.0
        ratio = observed / required
    bad = (x0 <= 0) | (t <= t0) | (ty <= t0) | (required == 0) | ~np.isfinite(ratio)
    return np.where(bad, np.nan, ratio)


def progress_status(ratio, current=None, target=None, direction: str = "at_least") -> np.ndarray:
    """Open SDG status from the growth ratio: ``achieved`` when the current value already meets the
    target, else ``substantial`` (≥ 0.95), ``moderate`` (0.6–0.95), ``limited`` (0–0.6),
    ``deterioration`` (< 0), ``""`` when the ratio is missing.

    Parameters
    ----------
    ratio : array_like
        Growth ratios from :func:`growth_ratio`.
    current, target : array_like, optional
        With both given, rows whose current value already meets the target are ``achieved``.
    direction : {"at_least", "at_most"}
        Which side of the target meets it.

    Returns
    -------
    numpy.ndarray of str

    Examples
    --------
    >>> from gbvstats.targets import progress_status
    >>> list(progress_status([1.2, 0.7, 0.1, -0.3, float("nan")]))
    ['substantial', 'moderate', 'limited', 'deterioration', '']
    """
    r = np.atleast_1d(np.asarray(ratio, dtype=float))
    out = np.select([r >= 0.95, r >= 0.6, r >= 0, r < 0], ["substantial", "moderate", "limited", "deterioration"],
                    default="").astype(object)
    if current is not None and target is not None:
        c = np.broadcast_to(np.asarray(current, dtype=float), r.shape)
        tv = np.broadcast_to(np.asarray(target, dtype=float), r.shape)
        done = c >= tv if direction == "at_least" else c <= tv
        out = np.where(done, "achieved", out).astype(object)
    return out


@dataclass(frozen=True)
class Assessment:
    """Verdicts against targets, one row per locality (``.frame``), returned by :func:`assess`.

    Attributes
    ----------
    frame : DataFrame
        The locality column, ``estimate``, ``ci_low``, ``ci_high``, ``target``, ``target_year``,
        ``target_locality`` (where the target was set; differs from the locality when inherited),
        ``direction``, ``verdict`` (``met``, ``not met``, ``cannot tell``, ``no target`` or
        ``no estimate``), ``p_meets``, ``baseline``, ``baseline_year``, ``growth_ratio``, ``progress``,
        ``document``.
    indicator : str
        The indicator assessed.
    level : float
        Confidence level of the intervals.

    Examples
    --------
    Formal help-seeking among women ever subjected to violence, by province (GSO codes), in the
    2024 round of the example survey, against the targets being worked toward:

    >>> import gbvstats as gs
    >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
    >>> est = survey.proportion("sought_help_formal", where="gbv_any_ever == 1", by="province",
    ...                         ci="korn-graubard")
    >>> a = assess(est, targets("help_seeking_formal"), year=2024)
    >>> a
    Assessment(help_seeking_formal: 4 not met)
    >>> a.frame[["province", "estimate", "ci_high", "target", "target_locality", "verdict"]].round(3)
       province  estimate  ci_high  target target_locality  verdict
    0        42     0.149    0.197     0.5        Việt Nam  not met
    1        49     0.111    0.172     0.5       Quảng Nam  not met
    2        91     0.145    0.188     0.5        Việt Nam  not met
    3        92     0.216    0.276     0.7         Cần Thơ  not met
    """

    frame: pd.DataFrame
    indicator: str = ""
    level: float = 0.95

    def __repr__(self) -> str:
        counts = self.frame["verdict"].value_counts().to_dict() if len(self.frame) else {}
        return f"Assessment({self.indicator or 'indicator'}: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ")"

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False)

    def plot(self, title: str = ""):
        """Progress toward the targets: each locality's estimate and CI against its target, coloured by
        verdict (a matplotlib ``Figure``; see :func:`gbvstats.figures.progress_figure`).

        Parameters
        ----------
        title : str, optional
            Figure title; default the indicator id.

        Returns
        -------
        matplotlib.figure.Figure
            Not attached to pyplot: save it with ``fig.savefig(path)``.

        Examples
        --------
        >>> import pandas as pd
        >>> est = pd.DataFrame({"province": ["Cần Thơ", "Quảng Nam"], "estimate": [0.12, 0.55],
        ...                     "se": [0.02, 0.02], "ci_low": [0.08, 0.51], "ci_high": [0.16, 0.59]})
        >>> fig = assess(est, targets("help_seeking_formal"), year=2024).plot(title="Formal help-seeking")
        >>> type(fig).__name__, [t.get_text() for t in fig.axes[0].get_yticklabels()]
        ('Figure', ['Cần Thơ', 'Quảng Nam'])
        """
        from .figures import progress_figure  # plotting lives in figures.py, imported only when asked

        f = self.frame
        label = next((c for c in _LOCALITY_COLUMNS if c in f.columns), None)
        if label is None:
            f = f.assign(locality="all")
            label = "locality"
        return progress_figure(f.assign(**{label: f[label].astype(str)}), label=label, title=title or self.indicator)


_LOCALITY_COLUMNS = ("district", "province", "locality")


def _as_frame(estimates) -> pd.DataFrame:
    frame = getattr(estimates, "frame", estimates)
    if not isinstance(frame, pd.DataFrame):
        raise SpecError(f"estimates must be an Estimates object or a DataFrame, got {type(estimates).__name__}")
    if "estimate" not in frame.columns and "value" in frame.columns:
        # a case indicator (gbvstats.cases.CaseIndicator) names its proportion ``value``
        frame = frame.rename(columns={"value": "estimate"})
    if "estimate" not in frame.columns:
        raise SpecError(f"estimates have no 'estimate' column (columns: {', '.join(map(str, frame.columns))})")
    return frame


def assess(estimates, targets, *, by: str | None = None, province: str | None = None, year: int | None = None,
           year_rule: str = "next", baseline=None, baseline_year: int | None = None,
           indicator: str | None = None, administrative: bool | None = None) -> Assessment:
    """Judge estimates against targets, per locality.

    Parameters
    ----------
    estimates : Estimates, CaseIndicator or DataFrame
        Columns ``estimate`` (or a case indicator's ``value``) and, for survey indicators, ``se``, ``ci_low``, ``ci_high`` (``df`` if any);
        one row per locality in column ``by``.
    targets : TargetSet, Target or float
        Targets to look up per locality (with inheritance), or one value for every row.
    by : str, optional
        The locality column; default the first of ``district``, ``province``, ``locality`` present, or
        none (a single national row).
    province : str, optional
        Column with each district's province (for inheritance of targets).
    year : int, optional
        The year of the estimates (survey round); targets picked by ``year_rule`` (default ``"next"``:
        the target being worked toward).
    baseline : Estimates, DataFrame, mapping or float, optional
        Baseline values per locality (same ``by`` column), for the growth-ratio status; with
        ``baseline_year``. A target's own ``baseline_value`` is used when this is not given.
    administrative : bool, optional
        Treat the values as administrative (no sampling interval): met / not met on the value.
        Default: true when the frame has no ``ci_low``/``ci_high``.

    Returns
    -------
    Assessment
        ``.frame`` columns: the locality column, ``estimate``, ``ci_low``, ``ci_high``, ``target``,
        ``target_year``, ``target_locality``, ``direction``, ``verdict``, ``p_meets``, ``baseline``,
        ``baseline_year``, ``growth_ratio``, ``progress``, ``document``.

    Examples
    --------
    >>> import pandas as pd, gbvstats as gs
    >>> est = pd.DataFrame({"province": ["Cần Thơ", "Quảng Nam"], "estimate": [0.12, 0.55],
    ...                     "se": [0.02, 0.02], "ci_low": [0.08, 0.51], "ci_high": [0.16, 0.59]})
    >>> a = gs.assess(est, gs.targets("help_seeking_formal"), year=2024)
    >>> list(a.frame["verdict"]), list(a.frame["target"])
    (['not met', 'met'], [0.7, 0.5])
    """
    _choice("year_rule", year_rule, get_args(YearRule))
    frame = _as_frame(estimates).reset_index(drop=True)
    if by is None:
        by = next((c for c in _LOCALITY_COLUMNS if c in frame.columns), None)
    elif by not in frame.columns:
        raise SpecError(f"by = {by!r} is not a column of the estimates{close_matches(by, list(map(str, frame.columns)))}")
    n = len(frame)
    localities = list(frame[by]) if by else [None] * n
    provinces = list(frame[province]) if province and province in frame.columns else [None] * n
    if administrative is None:
        administrative = not {"ci_low", "ci_high"} <= set(frame.columns)

    # one target per row
    if isinstance(targets, (int, float)):
        row_targets = [Target(indicator or "", NATIONAL, "national", year or 0, float(targets)) for _ in range(n)]
    elif isinstance(targets, Target):
        row_targets = [targets] * n
    elif isinstance(targets, TargetSet):
        ts = targets
        if indicator is None:
            inds = sorted({t.indicator for t in ts})
            if len(inds) > 1:
                raise SpecError(f"the targets cover several indicators ({', '.join(inds)}); pass indicator=")
            indicator = inds[0] if inds else ""
        ts = TargetSet(tuple(t for t in ts if t.indicator == indicator)) if indicator else ts
        row_targets = [ts.for_locality(loc, province=prov, year=year, year_rule=year_rule)
                       for loc, prov in zip(localities, provinces)]
    else:
        raise SpecError(f"targets must be a TargetSet (gs.targets(...)), a Target or a number, got {type(targets).__name__}")

    est = frame["estimate"].to_numpy(dtype=float)
    if administrative:
        lo = hi = est
        se = np.zeros(n)
    else:
        lo = frame["ci_low"].to_numpy(dtype=float)
        hi = frame["ci_high"].to_numpy(dtype=float)
        se = frame["se"].to_numpy(dtype=float) if "se" in frame.columns else (hi - lo) / (2 * 1.959963984540054)
    dfree = frame["df"].to_numpy(dtype=float) if "df" in frame.columns else np.full(n, np.inf)
    tval = np.array([t.value if t else np.nan for t in row_targets])
    direction = np.array([t.direction if t else "at_least" for t in row_targets], dtype=object)
    verdicts = np.empty(n, dtype=object)
    p_meets = np.full(n, np.nan)
    for d in DIRECTIONS:  # two vectorised passes, one per direction
        m = direction == d
        if m.any():
            verdicts[m] = verdict(lo[m], hi[m], tval[m], d)
            p_meets[m] = probability_meets(est[m], se[m], tval[m], d, dfree[m])
    verdicts[np.isnan(tval)] = "no target"
    verdicts[np.isnan(est)] = "no estimate"
    if administrative:
        p_meets[:] = np.nan

    # baseline per row
    base = np.full(n, np.nan)
    base_year = np.full(n, np.nan)
    if baseline is not None:
        if isinstance(baseline, (int, float)):
            base[:] = float(baseline)
        else:
            if isinstance(baseline, Mapping):
                lookup = {normalise_name(k): float(v) for k, v in baseline.items()}
            else:
                bframe = _as_frame(baseline)
                if by and by in bframe.columns:
                    lookup = {normalise_name(k): float(v) for k, v in zip(bframe[by], bframe["estimate"])}
                else:
                    lookup = {normalise_name(None): float(bframe["estimate"].iloc[0])}
            base = np.array([lookup.get(normalise_name(loc), np.nan) for loc in localities])
        if baseline_year is None:
            raise SpecError("baseline given without baseline_year; pass baseline_year=<year of the baseline>")
        base_year[:] = baseline_year
    else:
        for i, t in enumerate(row_targets):
            if t is not None and t.baseline_value is not None:
                base[i], base_year[i] = t.baseline_value, t.baseline_year
    tyear = np.array([t.year if t else np.nan for t in row_targets], dtype=float)
    ratio = growth_ratio(base, base_year, est, np.full(n, np.nan if year is None else year), tval, tyear)
    status = np.empty(n, dtype=object)
    for d in DIRECTIONS:
        m = direction == d
        if m.any():
            status[m] = progress_status(ratio[m] if d == "at_least" else ratio[m], est[m], tval[m], d)
    status[np.isnan(tval)] = ""

    out = pd.DataFrame({
        **({by: frame[by].to_numpy()} if by else {}),
        "estimate": est,
        "ci_low": np.where(administrative, np.nan, lo),
        "ci_high": np.where(administrative, np.nan, hi),
        "target": tval,
        "target_year": pd.array([t.year if t else None for t in row_targets], dtype="Int64"),
        "target_locality": [t.locality if t else "" for t in row_targets],
        "direction": direction,
        "verdict": verdicts,
        "p_meets": p_meets,
        "baseline": base,
        "baseline_year": pd.array([None if np.isnan(b) else int(b) for b in base_year], dtype="Int64"),
        "growth_ratio": ratio,
        "progress": status,
        "document": [t.document if t else "" for t in row_targets],
    })
    return Assessment(out, indicator=indicator or "")


# ---------------------------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Projection:
    """A logit-scale weighted trend over survey rounds and its value in the target year.

    Returned by :func:`project`. ``intercept`` is the logit at ``centre`` (the weighted mean year);
    ``slope`` is per year on the logit scale. ``projected``, ``pi_low``, ``pi_high`` are on the
    proportion scale.

    Attributes
    ----------
    years, estimates, se : tuple of float
        The rounds fitted.
    intercept, slope, centre : float
        The fitted line on the logit scale.
    cov : tuple
        2 × 2 covariance of (intercept, slope).
    target_year : int
    projected, pi_low, pi_high : float
        The trend's value in the target year and its interval.
    level : float
        Confidence level of the interval.
    scale : {"known", "estimated"}
        How the coefficient covariance was obtained.
    df : float
        Degrees of freedom of the quantiles (``inf`` with ``scale="known"``).

    Examples
    --------
    >>> pr = project([2022, 2023, 2024], [0.10, 0.12, 0.14], [0.01, 0.01, 0.01], target_year=2025)
    >>> pr
    Projection(3 rounds, +0.190 logit/year → 2025: 16.5% [13.2%, 20.5%] at 95%)
    >>> round(pr.slope, 4), round(pr.projected, 4), pr.df
    (0.1896, 0.1649, inf)
    """

    years: tuple[float, ...]
    estimates: tuple[float, ...]
    se: tuple[float, ...]
    intercept: float
    slope: float
    centre: float
    cov: tuple[tuple[float, float], tuple[float, float]]
    target_year: int
    projected: float
    pi_low: float
    pi_high: float
    level: float
    scale: str
    df: float

    def _quantile(self, level: float) -> float:
        q = 0.5 + level / 2
        return float(stats.norm.ppf(q) if math.isinf(self.df) else stats.t.ppf(q, self.df))

    def curve(self, years) -> pd.DataFrame:
        """Fitted trend and interval (proportion scale) at ``years``: columns year, fit, low, high.

        Parameters
        ----------
        years : array_like
            Years at which to evaluate the trend (inside or beyond the rounds).

        Returns
        -------
        DataFrame
            ``year``, ``fit`` and the interval ``low``/``high`` at the projection's ``level``.

        Examples
        --------
        >>> pr = project([2022, 2023, 2024], [0.10, 0.12, 0.14], [0.01, 0.01, 0.01], target_year=2025)
        >>> pr.curve([2022, 2024, 2025]).round(4)
             year     fit     low    high
        0  2022.0  0.1006  0.0845  0.1193
        1  2024.0  0.1404  0.1230  0.1598
        2  2025.0  0.1649  0.1316  0.2047
        """
        x = np.asarray(years, dtype=float) - self.centre
        eta = self.intercept + self.slope * x
        c = np.asarray(self.cov)
        var = c[0, 0] + 2 * x * c[0, 1] + x * x * c[1, 1]
        q = self._quantile(self.level)
        half = q * np.sqrt(var)
        return pd.DataFrame({"year": np.asarray(years, dtype=float), "fit": _expit(eta),
                             "low": _expit(eta - half), "high": _expit(eta + half)})

    def probability_meets(self, target: float, direction: str = "at_least") -> float:
        """Probability, under the trend model, that the target-year value meets ``target``.

        Parameters
        ----------
        target : float
            The target as a proportion.
        direction : {"at_least", "at_most"}
            Which side of the target meets it.

        Returns
        -------
        float

        Notes
        -----
        :math:`P = F((\\hat\\eta_T - \\mathrm{logit}(\\text{target})) / \\mathrm{sd}(\\hat\\eta_T))`,
        with :math:`\\hat\\eta_T` the trend's logit in the target year and :math:`F` the normal
        (``scale="known"``) or t distribution function (one minus it for ``at_most``).

        Examples
        --------
        >>> pr = project([2022, 2023, 2024], [0.10, 0.12, 0.14], [0.01, 0.01, 0.01], target_year=2025)
        >>> round(pr.probability_meets(0.15), 3), round(pr.probability_meets(0.20), 3)
        (0.797, 0.041)
        >>> round(pr.probability_meets(0.15, "at_most"), 3)
        0.203
        """
        x = self.target_year - self.centre
        c = np.asarray(self.cov)
        sd = math.sqrt(c[0, 0] + 2 * x * c[0, 1] + x * x * c[1, 1])
        eta = self.intercept + self.slope * x
        z = (eta - float(_logit(target))) / sd if 0 < target < 1 else (math.inf if target <= 0 else -math.inf)
        p = float(stats.norm.cdf(z) if math.isinf(self.df) else stats.t.cdf(z, self.df))
        return p if direction == "at_least" else 1 - p

    def __repr__(self) -> str:
        return (f"Projection({len(self.years)} rounds, {self.slope:+.3f} logit/year → {self.target_year}: "
                f"{self.projected:.1%} [{self.pi_low:.1%}, {self.pi_high:.1%}] at {self.level:.0%})")


def project(years, estimates, se, *, target_year: int, level: float = 0.95, scale: str = "known") -> Projection:
    """Trend over survey rounds and its projection to the target year.

    Weighted least squares of :math:`\\mathrm{logit}(\\hat p_r)` on the year, with weights
    :math:`1/v_r`, :math:`v_r = \\mathrm{se}_r^2 / (\\hat p_r(1-\\hat p_r))^2` (delta method). With
    ``scale="known"`` (default) the sampling variances are taken as known: the coefficient covariance is
    :math:`(X^\\top W X)^{-1}` and intervals use normal quantiles (a fixed-effect meta-regression). With
    ``scale="estimated"`` the covariance is multiplied by the weighted residual variance (statsmodels
    ``WLS`` default) and t quantiles on ``rounds − 2`` df are used: wider when the rounds scatter more
    than their SEs explain. The interval at the target year is for the trend's value there.

    Parameters
    ----------
    years, estimates, se : array-like
        One value per round; estimates strictly between 0 and 1, se > 0.
    target_year : int
        The year to project to (the plan's target year).
    level : float, default 0.95
        Confidence level of the interval.
    scale : {"known", "estimated"}
        Take the sampling variances as known, or scale them by the residual variance.

    Returns
    -------
    Projection

    Raises
    ------
    SpecError
        Fewer than two distinct years, an estimate outside (0, 1) or a non-positive SE, inputs
        of unequal length, ``level`` outside (0, 1), or ``scale="estimated"`` with two rounds.

    Examples
    --------
    >>> from gbvstats.targets import project
    >>> pr = project([2022, 2023, 2024], [0.10, 0.12, 0.14], [0.01, 0.01, 0.01], target_year=2025)
    >>> round(pr.projected, 3)
    0.165
    """
    _choice("scale", scale, get_args(Scale))
    if not 0 < level < 1:
        raise SpecError(f"level = {level!r} must be between 0 and 1, e.g. 0.95")
    y_ = np.asarray(years, dtype=float)
    p = np.asarray(estimates, dtype=float)
    s = np.asarray(se, dtype=float)
    if not (y_.shape == p.shape == s.shape) or y_.ndim != 1:
        raise SpecError("years, estimates and se must be 1-D and of equal length")
    if len(y_) < 2 or len(np.unique(y_)) < 2:
        raise SpecError(f"a trend needs at least two survey rounds in different years; got {len(np.unique(y_))}")
    bad = np.flatnonzero(~((p > 0) & (p < 1) & (s > 0)))
    if bad.size:
        raise SpecError(f"rounds {', '.join(str(int(y_[i])) for i in bad)}: the logit trend needs estimates "
                        "strictly between 0 and 1 and se > 0")
    eta = _logit(p)
    v = (s / (p * (1 - p))) ** 2
    w = 1 / v
    centre = float(np.sum(w * y_) / np.sum(w))
    x = y_ - centre
    sw, sxx = np.sum(w), np.sum(w * x * x)
    intercept = float(np.sum(w * eta) / sw)
    slope = float(np.sum(w * x * eta) / sxx)
    cov = np.array([[1 / sw, 0.0], [0.0, 1 / sxx]])
    dfree = math.inf
    if scale == "estimated":
        k = len(y_)
        if k <= 2:
            raise SpecError("scale='estimated' needs at least three rounds (residual df = rounds − 2); use scale='known'")
        resid = eta - intercept - slope * x
        cov = cov * float(np.sum(w * resid ** 2) / (k - 2))
        dfree = float(k - 2)
    xt = target_year - centre
    eta_t = intercept + slope * xt
    sd_t = math.sqrt(cov[0, 0] + xt * xt * cov[1, 1])
    q = float(stats.norm.ppf(0.5 + level / 2) if math.isinf(dfree) else stats.t.ppf(0.5 + level / 2, dfree))
    return Projection(
        years=tuple(y_.tolist()), estimates=tuple(p.tolist()), se=tuple(s.tolist()),
        intercept=intercept, slope=slope, centre=centre,
        cov=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        target_year=int(target_year), projected=float(_expit(eta_t)),
        pi_low=float(_expit(eta_t - q * sd_t)), pi_high=float(_expit(eta_t + q * sd_t)),
        level=level, scale=scale, df=dfree,
    )


# ---------------------------------------------------------------------------------------------- next target


@dataclass(frozen=True)
class NextTarget:
    """A proposed target for ``year`` on the path from the latest value to the plan's end target.

    Returned by :func:`next_target`.

    Attributes
    ----------
    year : int
        The year the proposal is for.
    value : float
        The proposed target.
    latest, latest_year : float, int
        The latest value and its year.
    end_value, end_year : float, int
        The plan's end target.
    path : {"linear", "logit"}
        The path the proposal lies on.
    note : str
        Why the proposal departs from the path (e.g. the end target is already met), or ``""``.

    Examples
    --------
    >>> nt = next_target(0.10, 2024, 0.50, 2028, path="logit")
    >>> nt
    NextTarget(2025: 16.1% on the logit path from 10.0% (2024) to 50% (2028))
    >>> next_target(0.60, 2024, 0.50, 2028).note
    "the latest value already meets the plan's end target; keep at least the latest value"
    """

    year: int
    value: float
    latest: float
    latest_year: int
    end_value: float
    end_year: int
    path: str
    note: str = ""

    def __repr__(self) -> str:
        return (f"NextTarget({self.year}: {self.value:.1%} on the {self.path} path from {self.latest:.1%} "
                f"({self.latest_year}) to {self.end_value:.0%} ({self.end_year}))")


def next_target(latest: float, latest_year: int, end_value: float, end_year: int, *, year: int | None = None,
                path: str = "linear", direction: str = "at_least") -> NextTarget:
    """Propose the target for ``year`` (default the year after ``latest_year``).

    ``path="linear"``: equal yearly steps on the proportion scale,
    :math:`x_{y} = x_l + (T - x_l)(y - y_l)/(y_T - y_l)`; ``path="logit"``: equal steps on the logit
    scale (slower near 0% and 100%; needs both ends strictly inside (0, 1)). When the latest value
    already meets the end target, the proposal keeps the latest value (no backsliding).

    Parameters
    ----------
    latest, latest_year : float, int
        The latest value (a proportion) and its year.
    end_value, end_year : float, int
        The plan's end target and its year.
    year : int, optional
        The year to propose a target for; default ``latest_year + 1``.
    path : {"linear", "logit"}
        Equal yearly steps on the proportion or on the logit scale.
    direction : {"at_least", "at_most"}
        Which side of the target meets it.

    Returns
    -------
    NextTarget

    Raises
    ------
    SpecError
        ``end_year`` not after ``latest_year``, ``year`` outside ``(latest_year, end_year]``, or
        ``path="logit"`` with a value of 0 or 1.

    Examples
    --------
    >>> from gbvstats.targets import next_target
    >>> nt = next_target(0.10, 2024, 0.50, 2028)
    >>> nt.year, round(nt.value, 3)
    (2025, 0.2)
    """
    _choice("path", path, get_args(Path_))
    _choice("direction", direction, DIRECTIONS)
    year = latest_year + 1 if year is None else int(year)
    if end_year <= latest_year:
        raise SpecError(f"end_year = {end_year} must be after latest_year = {latest_year}; "
                        "the plan's end target must lie in the future of the latest value")
    if not latest_year < year <= end_year:
        raise SpecError(f"year = {year} must be after {latest_year} and not after the plan's end {end_year}")
    for name, value in (("latest", latest), ("end_value", end_value)):
        if not 0.0 <= float(value) <= 1.0:
            raise SpecError(f"{name} = {value} must be a proportion in [0, 1] (write 15% as 0.15)")
    already = latest >= end_value if direction == "at_least" else latest <= end_value
    frac = (year - latest_year) / (end_year - latest_year)
    if already:
        return NextTarget(year, float(latest), float(latest), int(latest_year), float(end_value), int(end_year), path,
                          "the latest value already meets the plan's end target; keep at least the latest value")
    if path == "linear":
        value = latest + (end_value - latest) * frac
    else:
        if not (0 < latest < 1 and 0 < end_value < 1):
            raise SpecError("path='logit' needs the latest value and the end target strictly between 0 and 1; use path='linear'")
        value = float(_expit(_logit(latest) + (_logit(end_value) - _logit(latest)) * frac))
    return NextTarget(year, float(value), float(latest), int(latest_year), float(end_value), int(end_year), path)


# ---------------------------------------------------------------------------------------------- sample size


@dataclass(frozen=True)
class SampleSize:
    """Sample sizes for the next round, from the effective sample size up to women to select.

    ``n_effective`` — as if simple random sampling of eligible women; ``n_eligible`` = ``n_effective × deff``
    (women who answer the question, e.g. survivors for help-seeking); ``n_interviews`` = ``n_eligible /
    eligibility``; ``n_sampled`` = ``n_interviews / response_rate``.

    Returned by :func:`sample_size`; the other attributes (``p``, ``margin``, ``level``,
    ``power``, ``deff``, ``eligibility``, ``response_rate``) are the inputs.

    Examples
    --------
    Help-seeking is asked of survivors only (here 35% of interviewed women), so the sample must
    be much larger than the effective sample size:

    >>> ss = sample_size(0.15, margin=0.05, power=0.8, deff=1.8, eligibility=0.35, response_rate=0.9)
    >>> ss
    SampleSize(select 2288 women → 2059 interviews → 721 eligible; effective 401; p=15%, margin
    ±5.0%)
    >>> ss.n_eligible
    721
    """

    n_effective: int
    n_eligible: int
    n_interviews: int
    n_sampled: int
    p: float
    margin: float
    level: float
    power: float | None
    deff: float
    eligibility: float
    response_rate: float

    def __repr__(self) -> str:
        return (f"SampleSize(select {self.n_sampled} women → {self.n_interviews} interviews → {self.n_eligible} "
                f"eligible; effective {self.n_effective}; p={self.p:.0%}, margin ±{self.margin:.1%})")


def _check_fraction(name: str, value: float, allow_one: bool = True) -> None:
    ok = 0 < value <= 1 if allow_one else 0 < value < 1
    if not ok:
        raise SpecError(f"{name} = {value!r} must be in (0, 1{']' if allow_one else ')'}")


def sample_size(p: float, *, margin: float, level: float = 0.95, power: float | None = None, deff: float = 1.5,
                eligibility: float = 1.0, response_rate: float = 1.0) -> SampleSize:
    """Women to sample in the next round so the CI can tell met from not met at ``margin`` from the target.

    Without ``power``: the CI half-width is at most ``margin``,
    :math:`n_{eff} = z_{1-\\alpha/2}^2\\, p(1-p)/m^2` (the classical precision formula; equals
    ``statsmodels.stats.proportion.samplesize_confint_proportion``). With ``power``: a true value
    ``margin`` away from the target is declared met / not met with that probability,
    :math:`n_{eff} = (z_{1-\\alpha/2} + z_{power})^2 p(1-p)/m^2`. Then × ``deff`` (design effect),
    ÷ ``eligibility`` (share of interviewed women in the indicator's universe — only survivors answer
    help-seeking), ÷ ``response_rate``; each step rounded up.

    Parameters
    ----------
    p : float
        The expected proportion (e.g. the latest estimate, or the target), in (0, 1).
    margin : float
        The CI half-width wanted (without ``power``), or the distance from the target to detect
        (with ``power``).
    level : float, default 0.95
        Confidence level.
    power : float, optional
        Probability of a clear verdict when the true value is ``margin`` from the target.
    deff : float, default 1.5
        Design effect of the indicator (from the last round: ``Estimates.frame["deff"]``).
    eligibility : float, default 1.0
        Share of interviewed women in the indicator's universe.
    response_rate : float, default 1.0
        Share of selected women who complete the interview.

    Returns
    -------
    SampleSize

    Raises
    ------
    SpecError
        A proportion outside its range or a non-positive ``deff``.

    Examples
    --------
    >>> from gbvstats.targets import sample_size
    >>> ss = sample_size(0.5, margin=0.05, deff=2.0, eligibility=0.4, response_rate=0.8)
    >>> ss.n_effective, ss.n_eligible, ss.n_interviews, ss.n_sampled
    (385, 769, 1921, 2401)
    """
    _check_fraction("p", p, allow_one=False)
    _check_fraction("margin", margin, allow_one=False)
    _check_fraction("level", level, allow_one=False)
    _check_fraction("eligibility", eligibility)
    _check_fraction("response_rate", response_rate)
    if deff <= 0:
        raise SpecError(f"deff = {deff!r} must be positive (1 for simple random sampling; 1.5–3 is typical)")
    z = stats.norm.ppf(0.5 + level / 2)
    if power is not None:
        _check_fraction("power", power, allow_one=False)
        z = z + stats.norm.ppf(power)
    n_raw = z * z * p * (1 - p) / margin ** 2
    n_eff = math.ceil(n_raw - 1e-9)
    n_elig = math.ceil(n_raw * deff - 1e-9)
    n_int = math.ceil(n_raw * deff / eligibility - 1e-9)
    n_samp = math.ceil(n_raw * deff / eligibility / response_rate - 1e-9)
    return SampleSize(n_eff, n_elig, n_int, n_samp, p, margin, level, power, deff, eligibility, response_rate)


def minimum_detectable_change(p: float, n1: int, n2: int | None = None, *, deff: float = 1.5, level: float = 0.95,
                              power: float = 0.8, eligibility: float = 1.0, p2: float | None = None) -> float:
    """Smallest change in a proportion between two independent rounds detectable with ``power``.

    :math:`\\mathrm{MDC} = (z_{1-\\alpha/2} + z_{power})\\sqrt{\\mathrm{deff}\\,(p_1(1-p_1)/m_1 + p_2(1-p_2)/m_2)}`,
    with :math:`m_i = n_i \\times` ``eligibility`` the women in the indicator's universe among ``n_i``
    completed interviews (``p2`` defaults to ``p``).

    Parameters
    ----------
    p : float
        The proportion in the first round.
    n1, n2 : int
        Completed interviews in each round (``n2`` defaults to ``n1``).
    deff : float, default 1.5
        Design effect.
    level, power : float
        Confidence level of the two-sided test and its power.
    eligibility : float, default 1.0
        Share of interviewed women in the indicator's universe.
    p2 : float, optional
        The proportion in the second round (default ``p``).

    Returns
    -------
    float
        The smallest detectable difference, on the proportion scale (0.05 is 5 points).

    Examples
    --------
    >>> from gbvstats.targets import minimum_detectable_change
    >>> round(minimum_detectable_change(0.2, 1000, deff=2.0, eligibility=0.5), 4)
    0.1002
    """
    _check_fraction("p", p, allow_one=False)
    _check_fraction("level", level, allow_one=False)
    _check_fraction("power", power, allow_one=False)
    _check_fraction("eligibility", eligibility)
    n2 = n1 if n2 is None else n2
    p2 = p if p2 is None else p2
    _check_fraction("p2", p2, allow_one=False)
    if n1 <= 0 or n2 <= 0:
        raise SpecError(f"n1 = {n1!r} and n2 = {n2!r} must be positive numbers of completed interviews")
    if deff <= 0:
        raise SpecError(f"deff = {deff!r} must be positive")
    m1, m2 = n1 * eligibility, n2 * eligibility
    z = stats.norm.ppf(0.5 + level / 2) + stats.norm.ppf(power)
    return float(z * math.sqrt(deff * (p * (1 - p) / m1 + p2 * (1 - p2) / m2)))


# ``gbvstats.targets`` is both this module and the public function ``gs.targets(...)``: importing the
# submodule sets the package attribute to the module, so the module itself is made callable.
import sys as _sys
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return targets(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
