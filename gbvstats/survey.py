"""``Survey``: survey microdata + its spec + its design.

A survey is built by :func:`gbvstats.read_survey` (from a file and a spec) or by
:meth:`Survey.from_frame` (from a DataFrame and the names of the design variables). Building it

1. counts the user-missing codes of every variable (8 refused, 9 don't know, 0 not asked ...),
2. checks the data: spec columns present, design variables complete, weights finite and positive,
   codes inside the value labels, unique respondent ids, skip patterns respected,
3. derives the analysis variables the spec defines (yes/no flags, "any of" flags, categories),
4. records every value set to missing, and why, so ``describe()`` can count every exclusion.

``survey.data`` is the analysis frame: raw columns with user-missing codes set to missing, plus the
derived variables (a derived variable may replace the raw column of the same name, e.g. ``src_police``
coded 1/2/0 becomes a 0/1 flag; ``survey.raw`` keeps the codes). ``survey.design`` is a
:class:`gbvstats.design.Design` built on first use; ``proportion``/``mean``/``total``/``ratio``
delegate to it.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import warn as _warn
from .errors import DataError, DesignError, ExclusionWarning, SpecError, close_matches, format_rows
from .readers import FileMeta, is_numeric_like, numeric_codes
from .spec import ChecksSpec, DerivedSpec, DesignSpec, SurveySpec

__all__ = ["Survey", "SurveyMeta", "SurveyDescription"]


@dataclass(frozen=True)
class SurveyMeta:
    """Labels and missing-code information of a survey (file metadata merged with the spec).

    Attributes
    ----------
    file : FileMeta
        What the file itself declared.
    spec : SurveySpec
        The spec the survey was read with.
    missing_codes : dict
        variable -> codes treated as user-missing.
    missing_counts : DataFrame
        One row per (variable, code) seen: ``variable, code, label, count``.

    Examples
    --------
    ``survey.meta`` of a survey built from a frame. A file that declares no missing values gets
    the spec's ``[missing] codes`` on its coded variables (labelled ones, sources of derived
    variables, skip-pattern questions):

    >>> import pandas as pd
    >>> from gbvstats.spec import parse_spec
    >>> spec = parse_spec({"design": {"weights": "weight"}, "missing": {"codes": {"8": "refused"}},
    ...                    "derived": {"violence": {"type": "yes_no", "source": "q_violence"}}})
    >>> df = pd.DataFrame({"weight": [100.0, 120, 80], "q_violence": [1, 8, 2]})
    >>> meta = Survey.from_frame(df, spec=spec).meta
    >>> meta.file.format, meta.missing_codes["q_violence"]
    ('frame', (8.0,))
    >>> meta.missing_counts
         variable code    label  count
    0  q_violence    8  refused      1
    """

    file: FileMeta
    spec: SurveySpec
    missing_codes: Mapping[str, tuple] = field(default_factory=dict)
    missing_counts: pd.DataFrame = field(default_factory=pd.DataFrame)

    def label(self, name: str, lang: str = "vi") -> str:
        """A variable's label: the spec's in ``lang``, else the file's.

        Parameters
        ----------
        name : str
            A raw or derived variable.
        lang : {"vi", "en"}, default "vi"

        Returns
        -------
        str
            ``""`` if neither the spec nor the file labels the variable.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> survey.meta.label("urban"), survey.meta.label("urban", "en")
        ('Thành thị/nông thôn', 'Urban/rural')
        >>> survey.meta.label("stratum")
        ''
        """
        return self.spec.label(name, lang) or self.file.variable_labels.get(name, "")

    def value_labels(self, name: str, lang: str = "vi") -> dict:
        """A variable's value labels: the spec's in ``lang`` where given, else the file's.

        A derived variable has only the spec's labels (the file's codes do not apply to it).

        Parameters
        ----------
        name : str
        lang : {"vi", "en"}, default "vi"

        Returns
        -------
        dict
            code (float) -> label.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> survey.meta.value_labels("urban", "en")
        {1.0: 'Urban', 2.0: 'Rural'}
        >>> survey.meta.value_labels("violence")
        {1.0: 'Có', 0.0: 'Không'}
        """
        out = dict(self.file.value_labels.get(name, {})) if name not in self.spec.derived else {}
        out.update({k: v for k, v in self.spec.value_labels(name, lang).items() if v})
        return out


@dataclass(frozen=True)
class SurveyDescription:
    """What ``Survey.describe()`` returns: frames plus a text rendering (``str()`` / ``.text()``).

    Attributes
    ----------
    variables : one row per column: name, kind, label_vi, label_en, n_valid, n_system_missing,
        n_user_missing, n_value_labels
    missing : user-missing codes seen: variable, code, label, count
    strata : one row per stratum: stratum, n, psus, weight_sum, singleton
    design : one-row summary: weights, strata, psu, n, n_strata, n_psu, singleton_strata,
        weight_min, weight_max, weight_sum
    exclusions : variable, reason, count — every value set to missing and why
    issues : checks that were reported rather than raised: check, column, count, rows
    value_labels : variable, code, label_vi, label_en, count (rows with that code in the raw file)

    Examples
    --------
    >>> import gbvstats as gs
    >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
    >>> report = survey.describe()
    >>> report
    SurveyDescription('surveys/example/community_2024.sav', rows=3136, variables=49, exclusions=42146)
    >>> report.strata.head(3)
       stratum    n  psus  weight_sum  singleton
    0      421  232    13  19181.0028      False
    1      422  545    31  45473.9951      False
    2      491  210    12  28313.9963      False
    >>> report.exclusions.head(2)
            variable                               reason  count
    0  ipv_phys_ever  ipv_phys_ever = 8 (Từ chối trả lời)     32
    1  ipv_phys_ever       ipv_phys_ever = 9 (Không biết)     11
    >>> len(report.issues)
    0
    """

    source: str
    n_rows: int
    variables: pd.DataFrame
    missing: pd.DataFrame
    strata: pd.DataFrame
    design: pd.DataFrame
    exclusions: pd.DataFrame
    issues: pd.DataFrame
    value_labels: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _repr_html_(self) -> str:
        from html import escape

        parts = [f"<h4>Survey {escape(self.source)}: {self.n_rows} rows</h4>"]
        for title, frame in (("Design", self.design), ("Strata", self.strata), ("Variables", self.variables),
                             ("User-missing codes seen", self.missing), ("Exclusions", self.exclusions),
                             ("Reported check failures", self.issues)):
            if len(frame):
                parts.append(f"<h5>{title}</h5>" + frame.to_html(index=False, escape=True))
        return "\n".join(parts)

    def text(self, lang: str = "en", value_labels: bool = False) -> str:
        """The report as text; ``value_labels=True`` adds every labelled code with its count.

        ``str(description)`` is ``description.text()``.

        Parameters
        ----------
        lang : {"en", "vi"}, default "en"
            Language of the variable and value labels (falling back to the other language).
        value_labels : bool, default False
            Add a section listing every labelled code and how many rows hold it.

        Returns
        -------
        str

        Raises
        ------
        SpecError
            If ``lang`` is not ``"vi"`` or ``"en"``.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> print(survey.describe().text())
        Survey: <DataFrame>
        Rows: 8
        <BLANKLINE>
        Design
          weights weight, strata stratum, PSU commune
          2 strata, 4 PSUs, singleton strata: none
          weights from 80 to 120, sum 780
          stratum  n  psus  weight_sum  singleton
                 1  4     2       440.0      False
                 2  4     2       340.0      False
        <BLANKLINE>
        Variables
                name    kind                label  n_valid  n_system_missing  n_user_missing
             stratum numeric                             8                 0               0
             commune numeric                             8                 0               0
              weight numeric                             8                 0               0
               urban numeric          Urban/rural        8                 0               0
          q_violence numeric                             7                 0               1
            violence derived Experienced violence        7                 1               0
        <BLANKLINE>
        User-missing codes seen
            variable code   label  count
          q_violence    8 refused      1
        <BLANKLINE>
        Exclusions (values set to missing, with the reason)
          variable                   reason  count
          violence q_violence = 8 (refused)      1
        """
        if lang not in ("vi", "en"):
            raise SpecError(f"lang={lang!r} is not one of 'vi', 'en'")
        lab = "label_vi" if lang == "vi" else "label_en"
        lines = [f"Survey: {self.source}", f"Rows: {self.n_rows}", ""]
        if len(self.design):
            d = self.design.iloc[0]
            lines.append("Design")
            lines.append(f"  weights {d['weights']}, strata {d['strata'] or '(none)'}, PSU {d['psu'] or '(each row)'}")
            lines.append(f"  {d['n_strata']} strata, {d['n_psu']} PSUs, singleton strata: {d['singleton_strata']}")
            lines.append(f"  weights from {d['weight_min']:.4g} to {d['weight_max']:.4g}, sum {d['weight_sum']:.6g}")
            if len(self.strata):
                lines.append("  " + _frame_text(self.strata, indent="  ").lstrip())
            lines.append("")
        lines.append("Variables")
        v = self.variables.copy()
        v["label"] = v[lab].where(v[lab] != "", v["label_vi"] if lang != "vi" else v["label_en"])
        lines.append(_frame_text(v[["name", "kind", "label", "n_valid", "n_system_missing", "n_user_missing"]],
                                 indent="  "))
        lines.append("")
        if value_labels and len(self.value_labels):
            lines.append("Value labels (count of rows with each code)")
            lines.append(_frame_text(self.value_labels[["variable", "code", lab, "count"]], indent="  "))
            lines.append("")
        lines.append("User-missing codes seen")
        lines.append(_frame_text(self.missing, indent="  ") if len(self.missing) else "  (none)")
        lines.append("")
        lines.append("Exclusions (values set to missing, with the reason)")
        lines.append(_frame_text(self.exclusions, indent="  ") if len(self.exclusions) else "  (none)")
        if len(self.issues):
            lines.append("")
            lines.append("Reported check failures")
            lines.append(_frame_text(self.issues, indent="  "))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return (f"SurveyDescription({self.source!r}, rows={self.n_rows}, variables={len(self.variables)}, "
                f"exclusions={int(self.exclusions['count'].sum()) if len(self.exclusions) else 0})")


def _frame_text(df: pd.DataFrame, indent: str = "") -> str:
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200,
                           "display.max_colwidth", 60):
        text = df.to_string(index=False)
    return "\n".join(indent + line for line in text.splitlines())


class Survey:
    """Survey microdata with its spec, metadata and (lazily) its design.

    Use :func:`gbvstats.read_survey` or :meth:`Survey.from_frame` to make one.

    Attributes
    ----------
    data : DataFrame — the analysis frame (raw columns, user-missing set to missing, derived variables)
    raw : DataFrame — the file's values, codes as stored
    spec : SurveySpec
    meta : SurveyMeta — labels and missing-code counts
    exclusions : DataFrame — variable, reason, count
    issues : DataFrame — checks reported instead of raised

    See Also
    --------
    gbvstats.read_survey : read a survey file (SPSS, Stata, CSV, Parquet ...) with its spec.
    gbvstats.design.Design : the design behind the estimates.

    Examples
    --------
    The bundled synthetic survey, read with its spec (derived variables, user-missing codes and
    design come from ``survey.toml``):

    >>> import gbvstats as gs
    >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
    >>> survey
    Survey('surveys/example/community_2024.sav', rows=3136, columns=49, derived=30, weights='weight', strata='stratum', psu=['commune'])
    >>> len(survey), survey.design.n_psu, survey.design.df
    (3136, 176, 168)

    The user-missing codes (8 refused, 9 don't know, 0 not asked) stay in ``raw`` and are missing
    in ``data``:

    >>> int(survey.raw["sought_help"].isin([8, 9, 0]).sum()), int(survey.data["sought_help"].isna().sum())
    (2117, 2117)

    Estimates for every domain at once (urban = 1, rural = 2):

    >>> est = survey.proportion("gbv_any_12m", by="urban")
    >>> est.frame[["urban", "estimate", "se", "ci_low", "ci_high", "n"]].round(4)
       urban  estimate      se  ci_low  ci_high     n
    0      1    0.0996  0.0105  0.0805   0.1226  1045
    1      2    0.1005  0.0069  0.0876   0.1150  1913
    """

    def __init__(self, data: pd.DataFrame, raw: pd.DataFrame, spec: SurveySpec, meta: SurveyMeta,
                 exclusions: pd.DataFrame, issues: pd.DataFrame):
        self.data = data
        self.raw = raw
        self.spec = spec
        self.meta = meta
        self.exclusions = exclusions
        self.issues = issues

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        weights: str | None = None,
        strata: str | None = None,
        psu: str | list[str] | None = None,
        fpc: str | list[str] | None = None,
        lonely_psu: str = "fail",
        nest: bool | None = None,
        spec: SurveySpec | str | Path | None = None,
        user_missing: str = "missing",
        checks: Mapping[str, str] | None = None,
    ) -> "Survey":
        """A survey from a DataFrame, naming the design variables (no spec file needed).

        Design arguments given here override the spec's ``[design]``.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"w": [1.0, 2.0, 1.5, 1.0], "h": [1, 1, 2, 2], "psu": [1, 2, 3, 4],
        ...                    "y": [0, 1, 1, 0]})
        >>> s = Survey.from_frame(df, weights="w", strata="h", psu="psu")
        >>> row = s.describe().design.iloc[0]
        >>> int(row["n_strata"]), int(row["n_psu"]), float(row["weight_sum"])
        (2, 4, 5.5)
        """
        from .spec import LONELY_PSU, load_spec

        if not isinstance(df, pd.DataFrame):
            raise SpecError(f"from_frame needs a pandas DataFrame, got {type(df).__name__}")
        if spec is not None and not isinstance(spec, SurveySpec):
            spec = load_spec(spec)
        spec = spec or SurveySpec()
        if lonely_psu not in LONELY_PSU:
            raise SpecError(f"lonely_psu={lonely_psu!r} is not one of {', '.join(map(repr, LONELY_PSU))}")
        d = spec.design
        as_tuple = lambda v: () if v is None else ((v,) if isinstance(v, str) else tuple(v))  # noqa: E731
        design = DesignSpec(
            weights=weights if weights is not None else d.weights,
            strata=strata if strata is not None else d.strata,
            psu=as_tuple(psu) if psu is not None else d.psu,
            fpc=as_tuple(fpc) if fpc is not None else d.fpc,
            lonely_psu=lonely_psu if lonely_psu != "fail" else d.lonely_psu,
            nest=bool(nest) if nest is not None else d.nest,
        )
        spec = replace(spec, design=design)
        frame = df.copy()
        frame.columns = [str(c) for c in frame.columns]
        return cls._build(frame, FileMeta(path="<DataFrame>", format="frame"), spec,
                          user_missing=user_missing, checks=checks)

    @classmethod
    def _build(cls, frame: pd.DataFrame, fmeta: FileMeta, spec: SurveySpec | None, *,
               user_missing: str = "missing", checks: Mapping[str, str] | None = None) -> "Survey":
        if user_missing not in ("missing", "keep"):
            raise SpecError(f"user_missing={user_missing!r} is not one of 'missing', 'keep'")
        where = fmeta.path
        if spec is None:
            spec = SurveySpec()
            base_checks = ChecksSpec(codes_outside_labels="report")
        else:
            base_checks = spec.checks
        chk = base_checks.with_overrides(checks)
        raw = frame.reset_index(drop=True)
        issues: list[dict] = []
        exclusions: list[dict] = []

        _check_columns(raw, spec, where)
        _check_design(raw, spec.design, where)

        missing_codes = _missing_codes(raw, fmeta, spec)
        _check_design_missing(raw, spec.design, missing_codes, fmeta, where)
        counts = _count_missing(raw, missing_codes, fmeta, spec)
        meta = SurveyMeta(file=fmeta, spec=spec, missing_codes=missing_codes, missing_counts=counts)

        # codes as numbers (".a" -> NaN) for every numeric-like column; user-missing codes kept
        work = raw.copy()
        for name in raw.columns:
            if raw[name].dtype == object and is_numeric_like(raw[name]):
                work[name] = numeric_codes(raw[name])

        _check_ids(raw, spec, chk, where, issues)
        forced: dict[str, np.ndarray] = {}  # values set to missing by a check, per column
        for name, mask in _check_labels(work, meta, chk, where, issues).items():
            forced[name] = mask
            exclusions.append({"variable": name, "reason": "code outside the value labels (set to missing)",
                               "count": int(mask.sum())})
        for name, mask in forced.items():
            work.loc[mask, name] = np.nan

        derived, outside = _derive(work, spec, where)
        if spec.skip:
            breaches = _check_skips(work, derived, spec, chk, where, issues)
            if breaches:
                for name, mask in breaches.items():
                    work.loc[mask, name] = np.nan
                    forced[name] = forced.get(name, np.zeros(len(raw), bool)) | mask
                    exclusions.append({"variable": name, "reason": "answered although routed past it "
                                       "(skip-pattern breach; set to missing)", "count": int(mask.sum())})
                derived, outside = _derive(work, spec, where)

        # analysis frame: user-missing -> NaN (unless kept), values forced to missing, derived variables
        data = raw.copy()
        for name in raw.columns:
            col = raw[name]
            if col.dtype == object and is_numeric_like(col) and user_missing == "missing":
                data[name] = numeric_codes(col)
        if user_missing == "missing":
            for name, codes in missing_codes.items():
                mask = _missing_mask(raw[name], codes, fmeta.missing_ranges.get(name, ()))
                if mask.any():
                    data[name] = data[name].where(~mask)
        for name, mask in forced.items():
            data[name] = data[name].where(~mask)
        for name in data.columns:  # whole-number codes without missing values read as int64 (42, not 42.0)
            data[name] = _as_int_if_whole(data[name])
        for name, col in derived.items():
            data[name] = col
        exclusions.extend(_derived_exclusions(derived, outside, work, spec, missing_codes, meta))
        excl = pd.DataFrame(exclusions, columns=["variable", "reason", "count"])
        excl = excl[excl["count"] > 0].reset_index(drop=True)
        iss = pd.DataFrame(issues, columns=["check", "column", "count", "rows", "message"])
        if len(iss):
            _warn(f"{where}: {len(iss)} data check(s) reported instead of raised; see "
                          "survey.describe().issues", ExclusionWarning)
        return cls(data, raw, spec, meta, excl, iss)

    # ------------------------------------------------------------------ design
    @functools.cached_property
    def design(self):
        """The :class:`gbvstats.design.Design` of this survey, built on first use from the spec."""
        d = self.spec.design
        if not d.weights:
            raise DesignError(f"{self.meta.file.path}: no design weights were given; name them in the "
                              "spec's [design] weights = ..., or Survey.from_frame(df, weights=...)")
        from .design import Design

        psu: Any = None if not d.psu else (d.psu[0] if len(d.psu) == 1 else list(d.psu))
        fpc: Any = None if not d.fpc else (d.fpc[0] if len(d.fpc) == 1 else list(d.fpc))
        return Design.from_frame(self.data, weights=d.weights, strata=d.strata, psu=psu, fpc=fpc,
                                 lonely_psu=d.lonely_psu, nest=d.nest)

    def proportion(self, variable: str, **kwargs):
        """Design-based proportion(s); see :meth:`gbvstats.design.Design.proportion`.

        Keyword arguments (``where``, ``by``, ``ci``, ``level``, ``rules``) go to the design.

        Examples
        --------
        Among women who ever experienced violence (the spec's universe), the share who sought
        help from a formal service, urban (1) and rural (2):

        >>> import gbvstats as gs
        >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
        >>> est = survey.proportion("sought_help_formal", by="urban")
        >>> est.frame[["urban", "estimate", "se", "n"]].round(4)
           urban  estimate      se    n
        0      1    0.1779  0.0224  336
        1      2    0.1349  0.0137  679
        >>> est.method, est.level
        ('logit', 0.95)
        """
        return self.design.proportion(variable, **kwargs)

    def mean(self, variable: str, **kwargs):
        """Design-based mean(s); see :meth:`gbvstats.design.Design.mean`.

        Keyword arguments (``where``, ``by``, ``ci``, ``level``, ``rules``) go to the design.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> est = survey.mean("violence", by="urban")
        >>> est.frame[["urban", "estimate", "n"]].round(4)
           urban  estimate  n
        0      1    0.4545  2
        1      2    0.6250  5
        """
        return self.design.mean(variable, **kwargs)

    def total(self, variable: str, **kwargs):
        """Design-based total(s); see :meth:`gbvstats.design.Design.total`.

        Keyword arguments (``where``, ``by``, ``ci``, ``level``, ``rules``) go to the design.

        Examples
        --------
        The estimated number of women who experienced violence; the row that answered
        "refused" (code 8) is left out and counted in ``excluded``:

        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> est = survey.total("violence")
        >>> float(est.estimate[0]), int(est.n[0])
        (400.0, 7)
        >>> est.excluded
           n_missing
        0          1
        """
        return self.design.total(variable, **kwargs)

    def ratio(self, numerator: str, denominator: str, **kwargs):
        """Design-based ratio(s); see :meth:`gbvstats.design.Design.ratio`.

        Keyword arguments (``where``, ``by``, ``ci``, ``level``, ``rules``) go to the design.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)

        With a denominator of ones the ratio estimator is the weighted mean (rows missing
        either variable are left out of both totals):

        >>> survey = Survey.from_frame(df.assign(one=1.0), spec=spec)
        >>> round(float(survey.ratio("violence", "one").estimate[0]), 4)
        0.5714
        >>> round(float(survey.mean("violence").estimate[0]), 4)
        0.5714
        """
        return self.design.ratio(numerator, denominator, **kwargs)

    # ------------------------------------------------------------------ reporting
    def label(self, name: str, lang: str = "vi") -> str:
        """The label of a variable (spec first, then file).

        Parameters
        ----------
        name : str
        lang : {"vi", "en"}, default "vi"

        Returns
        -------
        str
            ``""`` if the variable has no label.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> survey.label("violence"), survey.label("violence", "en")
        ('Bị bạo lực', 'Experienced violence')
        """
        return self.meta.label(name, lang)

    def value_labels(self, name: str, lang: str = "vi") -> dict:
        """The value labels of a variable (spec first, then file).

        Parameters
        ----------
        name : str
        lang : {"vi", "en"}, default "vi"

        Returns
        -------
        dict
            code (float) -> label; empty if the variable has none.

        Examples
        --------
        >>> import pandas as pd
        >>> from gbvstats.spec import parse_spec
        >>> spec = parse_spec({
        ...     "design": {"weights": "weight", "strata": "stratum", "psu": "commune"},
        ...     "missing": {"codes": {"8": "refused"}},
        ...     "variables": {"urban": {
        ...         "label": {"vi": "Thành thị/nông thôn", "en": "Urban/rural"},
        ...         "values": {"1": {"vi": "Thành thị", "en": "Urban"}, "2": {"vi": "Nông thôn", "en": "Rural"}}}},
        ...     "derived": {"violence": {"type": "yes_no", "source": "q_violence",
        ...                              "label": {"vi": "Bị bạo lực", "en": "Experienced violence"}}},
        ... })
        >>> df = pd.DataFrame({
        ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
        ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
        ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
        ...     "urban": [1, 2, 1, 2, 1, 2, 2, 2],
        ...     "q_violence": [1, 2, 2, 1, 8, 2, 1, 1],
        ... })
        >>> survey = Survey.from_frame(df, spec=spec)
        >>> survey.value_labels("urban", "en")
        {1.0: 'Urban', 2.0: 'Rural'}
        >>> survey.value_labels("urban")
        {1.0: 'Thành thị', 2.0: 'Nông thôn'}
        """
        return self.meta.value_labels(name, lang)

    def describe(self) -> SurveyDescription:
        """Variables, labels, missing codes, design summary, exclusions and reported check failures.

        Examples
        --------
        >>> import pandas as pd
        >>> s = Survey.from_frame(pd.DataFrame({"w": [1.0, 3.0], "y": [1, 0]}), weights="w")
        >>> float(s.describe().design["weight_sum"].iloc[0])
        4.0
        """
        data, raw = self.data, self.raw
        rows = []
        user_missing = self.meta.missing_counts.groupby("variable")["count"].sum() if len(self.meta.missing_counts) else pd.Series(dtype=float)
        for name in data.columns:
            col = data[name]
            kind = "derived" if name in self.spec.derived else ("numeric" if is_numeric_like(col) else
                                                               "date" if pd.api.types.is_datetime64_any_dtype(col)
                                                               else "text")
            n_user = int(user_missing.get(name, 0))
            if name in raw.columns and name not in self.spec.derived:
                n_sys = int(raw[name].isna().sum())
            else:
                n_sys = int(col.isna().sum())
            rows.append({
                "name": name, "kind": kind,
                "label_vi": self.label(name, "vi"), "label_en": self.label(name, "en"),
                "n_valid": int(col.notna().sum()), "n_system_missing": n_sys, "n_user_missing": n_user,
                "n_value_labels": len(self.value_labels(name)),
            })
        variables = pd.DataFrame(rows)
        strata, design = _design_summary(data, self.spec.design)
        lab_rows = []
        for name in data.columns:  # variables, not rows
            vi, en = self.value_labels(name, "vi"), self.value_labels(name, "en")
            if not vi and not en:
                continue
            src = raw[name] if name in raw.columns and name not in self.spec.derived else data[name]
            counts = src.value_counts(dropna=True)
            for code in sorted(set(vi) | set(en), key=lambda c: (isinstance(c, str), c)):
                lab_rows.append({"variable": name, "code": code if isinstance(code, str) else f"{code:g}",
                                 "label_vi": vi.get(code, ""), "label_en": en.get(code, ""),
                                 "count": int(counts.get(code, 0))})
        labels = pd.DataFrame(lab_rows, columns=["variable", "code", "label_vi", "label_en", "count"])
        return SurveyDescription(
            source=self.meta.file.path, n_rows=len(data), variables=variables,
            missing=self.meta.missing_counts, strata=strata, design=design,
            exclusions=self.exclusions, issues=self.issues, value_labels=labels,
        )

    def __repr__(self) -> str:
        d = self.spec.design
        return (f"Survey({self.meta.file.path!r}, rows={len(self.data)}, columns={self.data.shape[1]}, "
                f"derived={len(self.spec.derived)}, weights={d.weights!r}, strata={d.strata!r}, psu={list(d.psu)})")

    def __len__(self) -> int:
        return len(self.data)


# ====================================================================== checks


def _check_columns(raw: pd.DataFrame, spec: SurveySpec, where: str) -> None:
    cols = list(raw.columns)
    have = set(cols) | set(spec.derived)
    wanted: list[tuple[str, str]] = []
    d = spec.design
    for role, names in (("design.weights", [d.weights]), ("design.strata", [d.strata]), ("design.psu", d.psu),
                        ("design.fpc", d.fpc), ("survey.id", [spec.id])):
        wanted += [(n, role) for n in names if n]
    for name, ds in spec.derived.items():
        if ds.source:
            wanted.append((ds.source, f"derived.{name}.source"))
        wanted += [(s, f"derived.{name}.sources") for s in ds.sources]
    for i, rule in enumerate(spec.skip):
        wanted += [(a, f"skip[{i}].ask") for a in rule.ask]
    dis = spec.disclosure
    for role in ("identifiers", "pseudonymise", "quasi_identifiers", "sensitive"):
        wanted += [(n, f"disclosure.{role}") for n in getattr(dis, role)]
    for name, h in dis.hierarchies.items():
        wanted.append((name, f"disclosure.hierarchies.{name}"))
        if h.kind == "levels":
            wanted += [(lv, f"disclosure.hierarchies.{name}.levels") for lv in h.levels]
    for name, role in wanted:
        if name not in have:
            raise DataError(f"{where}: column {name!r} named in the spec ({role}) is not in the file"
                            + close_matches(name, cols)
                            + f"; fix the name in {spec.path or 'the spec'} or add the column to the data")


def _check_design(raw: pd.DataFrame, d: DesignSpec, where: str) -> None:
    if d.weights:
        w = raw[d.weights]
        wn = numeric_codes(w) if is_numeric_like(w) else pd.to_numeric(w, errors="coerce")
        arr = wn.to_numpy(dtype="float64")
        blank = w.isna().to_numpy(dtype=bool).copy()
        if not pd.api.types.is_numeric_dtype(w):
            text = w.astype("str").str.strip()
            blank |= (text == "").fillna(False).to_numpy(dtype=bool)
            blank |= text.str.fullmatch(r"\.[a-z_]?").fillna(False).to_numpy(dtype=bool)  # Stata/SAS missing
        # Zero is a valid weight (e.g. DHS d005 = 0 for women not selected for the violence module): the
        # row stays in the design and contributes nothing, as in R's svydesign.
        problems = []
        not_number = np.isnan(arr) & ~blank
        for bad, what in ((not_number, "not a number"), (blank | np.isinf(arr), "missing or not finite"),
                          (np.isfinite(arr) & (arr < 0), "negative")):
            idx = np.flatnonzero(bad)
            if len(idx):
                eg = "" if not (~blank[idx]).any() else f" (e.g. {', '.join(repr(v) for v in pd.unique(w.iloc[idx[:5]]))})"
                problems.append(f"{what} in {format_rows(idx)}{eg}")
        if problems:
            raise DataError(f"{where}: design weights column {d.weights!r} has values that are "
                            + "; ".join(problems) + ". Every respondent needs a finite weight of zero or more: "
                            "correct the weights, or drop these rows before reading and report them")
        if len(arr) and np.all(arr == 0):
            raise DataError(f"{where}: design weights column {d.weights!r} is zero in every row "
                            f"({format_rows(np.arange(len(arr)))}); is it the right column?")
    for role, names in (("strata", [d.strata] if d.strata else []), ("psu", list(d.psu)), ("fpc", list(d.fpc))):
        for name in names:
            col = raw[name]
            miss = col.isna().to_numpy()
            if col.dtype == object:
                miss |= col.map(lambda v: isinstance(v, str) and v.startswith(".")).to_numpy(dtype=bool)
            idx = np.flatnonzero(miss)
            if len(idx):
                raise DataError(f"{where}: design variable {name!r} ({role}) is missing in {format_rows(idx)}; "
                                "every respondent needs a stratum, PSU and fpc value: fill them in from the "
                                "sample frame")
            if role == "fpc":
                v = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64")
                idx = np.flatnonzero(~np.isfinite(v) | (v <= 0))
                if len(idx):
                    raise DataError(f"{where}: fpc column {name!r} is not a positive number in {format_rows(idx)}; "
                                    "give population sizes (>= 1) or sampling fractions (0 < f <= 1)")


def _check_design_missing(raw: pd.DataFrame, d: DesignSpec, missing_codes: Mapping[str, tuple], fmeta: FileMeta,
                          where: str) -> None:
    """A design variable holding a code the file declares user-missing (SPSS MISSING VALUES, Stata .a)."""
    for role, name in [("weights", d.weights), ("strata", d.strata)] + [("psu", n) for n in d.psu] \
            + [("fpc", n) for n in d.fpc]:
        if not name or name not in missing_codes:
            continue
        mask = _missing_mask(raw[name], missing_codes[name], fmeta.missing_ranges.get(name, ())).to_numpy()
        idx = np.flatnonzero(mask)
        if len(idx):
            codes = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in pd.unique(raw[name].iloc[idx])[:5])
            raise DataError(f"{where}: design variable {name!r} ({role}) holds codes the file declares as "
                            f"user-missing ({codes}) in {format_rows(idx)}; every respondent needs a real "
                            f"{role} value: fill them in from the sample frame (or, if the codes are real values, "
                            "remove the missing-value declaration on this variable)")


def _check_ids(raw: pd.DataFrame, spec: SurveySpec, chk: ChecksSpec, where: str, issues: list) -> None:
    if not spec.id:
        return
    col = raw[spec.id]
    dup = col.duplicated(keep=False).to_numpy() & col.notna().to_numpy()
    idx = np.flatnonzero(dup)
    if not len(idx):
        return
    examples = ", ".join(repr(v) for v in pd.unique(col.iloc[idx])[:5])
    msg = (f"{where}: respondent id column {spec.id!r} has duplicated values ({examples}) in {format_rows(idx)}; "
           "each respondent must appear once: remove repeated records or fix the ids "
           "(or pass checks={'duplicate_ids': 'report'} to keep them and report)")
    if chk.duplicate_ids == "raise":
        raise DataError(msg)
    issues.append({"check": "duplicate_ids", "column": spec.id, "count": len(idx),
                   "rows": format_rows(idx), "message": msg})


def _check_labels(work: pd.DataFrame, meta: SurveyMeta, chk: ChecksSpec, where: str, issues: list) -> dict:
    """Codes outside the value labels, per labelled numeric variable (see docs/spec.md)."""
    blank: dict[str, np.ndarray] = {}
    spec = meta.spec
    names = set(meta.file.value_labels) | {n for n, v in spec.variables.items() if v.values}
    for name in sorted(names):
        var = spec.variables.get(name)
        if name not in work.columns or (var is not None and not var.check_labels):
            continue
        col = work[name]
        if not pd.api.types.is_numeric_dtype(col):
            continue
        labels = meta.file.value_labels.get(name, {})
        allowed = {float(k) for k in labels if isinstance(k, (int, float, np.number))}
        if var is not None:
            allowed |= set(var.values)
        ranges = meta.file.missing_ranges.get(name, ())
        missing = {float(c) for c in meta.missing_codes.get(name, ()) if not isinstance(c, str)}
        valid = {c for c in allowed if c not in missing
                 and not any(isinstance(lo, (int, float)) and lo <= c <= hi for lo, hi in ranges)}
        if len(valid) < 2:
            # a single labelled code (e.g. "98 = 98 or older"), or labels that only name the missing codes
            # (income with 98 refused, 99 don't know): the labels do not enumerate the codes
            continue
        allowed |= missing
        vals = col.to_numpy(dtype="float64")
        bad = ~np.isnan(vals) & ~np.isin(vals, np.fromiter(allowed, float))
        for lo, hi in ranges:
            bad &= ~((vals >= lo) & (vals <= hi))
        idx = np.flatnonzero(bad)
        if not len(idx):
            continue
        codes = ", ".join(f"{c:g}" for c in np.unique(vals[idx])[:10])
        msg = (f"{where}: column {name!r} has codes outside its value labels ({codes}) in {format_rows(idx)}; "
               f"correct the codes, add them to the value labels ([variables.{name}] values in the spec), "
               "or pass checks={'codes_outside_labels': 'set_missing'} (or 'report')")
        if chk.codes_outside_labels == "raise":
            raise DataError(msg)
        issues.append({"check": "codes_outside_labels", "column": name, "count": len(idx),
                       "rows": format_rows(idx), "message": msg})
        if chk.codes_outside_labels == "set_missing":
            blank[name] = bad
    return blank


def _check_skips(work: pd.DataFrame, derived: dict, spec: SurveySpec, chk: ChecksSpec, where: str,
                 issues: list) -> dict:
    frame = _overlay(work, derived)
    out: dict[str, np.ndarray] = {}
    for i, rule in enumerate(spec.skip):
        asked = _evaluate(frame, rule.when, f"skip[{i}].when", where)
        not_asked = np.array(rule.not_asked, dtype=float)
        for name in rule.ask:
            raw = work[name]
            vals = raw.to_numpy(dtype="float64") if pd.api.types.is_numeric_dtype(raw) else None
            if vals is None:
                answered = raw.notna().to_numpy()
            else:
                answered = ~np.isnan(vals) & ~np.isin(vals, not_asked)
            breach = answered & ~asked
            idx = np.flatnonzero(breach)
            if not len(idx):
                continue
            msg = (f"{where}: column {name!r} is answered by respondents who should have skipped it "
                   f"(asked only when {rule.when}) in {format_rows(idx)}; check the routing and the "
                   f"variables in the condition, or pass checks={{'skip_pattern': 'set_missing'}} "
                   "(or 'report') to keep going")
            if chk.skip_pattern == "raise":
                raise DataError(msg)
            issues.append({"check": "skip_pattern", "column": name, "count": len(idx),
                           "rows": format_rows(idx), "message": msg})
            if chk.skip_pattern == "set_missing":
                out[name] = breach | out.get(name, np.zeros(len(breach), bool))
    return out


# ====================================================================== missing codes


def _missing_codes(raw: pd.DataFrame, fmeta: FileMeta, spec: SurveySpec) -> dict[str, tuple]:
    """Codes treated as user-missing per variable.

    The file's declarations win. A file that declares none (CSV, Excel, Parquet, a .sav without
    MISSING VALUES) gets the spec's ``[missing] codes`` on its coded variables: those with value
    labels, the sources of derived variables, and skip-pattern questions.
    """
    codes = {k: tuple(v) for k, v in fmeta.missing_codes.items()
             if k in raw.columns and (v or fmeta.missing_ranges.get(k))}
    if codes or not spec.missing_codes:
        return codes
    coded = set(fmeta.value_labels) | {n for n, v in spec.variables.items() if v.values}
    for ds in spec.derived.values():
        if ds.type in ("yes_no", "recode", "any_of"):
            coded |= {ds.source} if ds.source else set()
            coded |= {s for s in ds.sources if s not in spec.derived}
    for rule in spec.skip:
        coded |= set(rule.ask)
    design_cols = set(spec.design.columns())
    sc = tuple(spec.missing_codes)
    return {n: sc for n in sorted(coded) if n in raw.columns and n not in design_cols and is_numeric_like(raw[n])}


def _missing_mask(col: pd.Series, codes: tuple, ranges: tuple = ()) -> pd.Series:
    num = [c for c in codes if not isinstance(c, str)]
    letters = [c for c in codes if isinstance(c, str)]
    mask = pd.Series(False, index=col.index)
    if letters:
        mask |= col.isin(letters)
    if num or ranges:
        v = numeric_codes(col) if is_numeric_like(col) else pd.Series(np.nan, index=col.index)
        mask |= v.isin(num)
        for lo, hi in ranges:
            if lo != hi:
                mask |= (v >= lo) & (v <= hi)
    return mask


def _count_missing(raw: pd.DataFrame, codes: dict, fmeta: FileMeta, spec: SurveySpec) -> pd.DataFrame:
    rows = []
    for name, cs in codes.items():
        col = raw[name]
        ranges = fmeta.missing_ranges.get(name, ())
        mask = _missing_mask(col, cs, ranges)
        if not mask.any():
            continue
        if pd.api.types.is_numeric_dtype(col):
            seen = col[mask].astype("float64")
        else:  # Stata/SAS letters mixed with numbers (object column)
            seen = col[mask].map(lambda v: v if isinstance(v, str) else float(v))
        labels = fmeta.value_labels.get(name, {})
        for code, n in seen.value_counts(sort=False).sort_index(key=lambda s: s.astype(str)).items():
            lab = labels.get(code) or (labels.get(code[1:]) if isinstance(code, str) else None)
            if not lab and not isinstance(code, str):
                lab = spec.missing_codes.get(float(code), "")
            rows.append({"variable": name, "code": code if isinstance(code, str) else f"{code:g}",
                         "label": lab or "", "count": int(n)})
    return pd.DataFrame(rows, columns=["variable", "code", "label", "count"])


# ====================================================================== derivation


def _evaluate(frame: pd.DataFrame, expr: str, key: str, where: str) -> np.ndarray:
    """A condition over the frame as a boolean array (missing compares False)."""
    if not expr:
        return np.ones(len(frame), dtype=bool)
    from .spec import expression_names

    used = expression_names(expr)
    absent = sorted(n for n in used if n not in frame.columns)
    if absent:
        raise SpecError(f"{where}: {key} = {expr!r} uses {', '.join(map(repr, absent))}, not a column or "
                        f"derived variable" + close_matches(absent[0], list(frame.columns)))
    try:
        # evaluate on the columns used only: DataFrame.eval resolves every column otherwise
        out = frame[sorted(used)].eval(expr, engine="python") if used else frame.eval(expr, engine="python")
    except Exception as exc:
        raise SpecError(f"{where}: {key} = {expr!r} is not a valid condition ({type(exc).__name__}: {exc}); "
                        "write it like \"a == 1 and b in [2, 3]\"") from None
    arr = np.asarray(out)
    if arr.shape != (len(frame),):
        raise SpecError(f"{where}: {key} = {expr!r} is not a condition on each row")
    if arr.dtype != bool:
        arr = pd.Series(arr).fillna(False).astype(bool).to_numpy()
    return arr


def _as_int_if_whole(col: pd.Series) -> pd.Series:
    if col.dtype != "float64" or not len(col):
        return col
    v = col.to_numpy()
    if np.isnan(v).any() or not np.array_equal(v, np.round(v)) or np.abs(v).max() > 2**53:
        return col
    return col.astype("int64")


def _unknown(frame: pd.DataFrame, expr: str, outside: Mapping[str, np.ndarray]) -> np.ndarray:
    """Rows where a variable used in ``expr`` is missing (so the condition's truth is unknown).

    A derived variable that is missing because the row is outside its universe is not unknown: the
    row is outside any universe defined through it (e.g. sources of help for a woman who was never
    asked about help-seeking).
    """
    from .spec import expression_names

    out = np.zeros(len(frame), dtype=bool)
    for name in expression_names(expr):
        if name in frame.columns:
            na = frame[name].isna().to_numpy().copy()
            if name in outside:
                na &= ~outside[name]
            out |= na
    return out


def _overlay(work: pd.DataFrame, derived: Mapping[str, pd.Series]) -> pd.DataFrame:
    if not derived:
        return work
    frame = work.copy()
    for name, col in derived.items():
        frame[name] = col
    return frame


def _derive(work: pd.DataFrame, spec: SurveySpec, where: str) -> tuple[dict[str, pd.Series], dict[str, np.ndarray]]:
    """Compute the derived variables; also return, per variable, the rows known to be outside its universe."""
    out: dict[str, pd.Series] = {}
    outside: dict[str, np.ndarray] = {}
    frame = work.copy()
    for name in spec.derivation_order():
        ds = spec.derived[name]
        col, out_mask = _derive_one(frame, ds, spec, where, outside)
        out[name] = col
        outside[name] = out_mask
        frame[name] = col
    return out, outside


def _codes(frame: pd.DataFrame, name: str) -> np.ndarray:
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col):
        return col.to_numpy(dtype="float64")
    return numeric_codes(col).to_numpy(dtype="float64")


def _derive_one(frame: pd.DataFrame, ds: DerivedSpec, spec: SurveySpec, where: str,
                outside: Mapping[str, np.ndarray]) -> tuple[pd.Series, np.ndarray]:
    key = f"derived.{ds.name}"
    n = len(frame)
    if ds.type == "recode":
        v = _codes(frame, ds.source)
        keys = np.fromiter(ds.map.keys(), float)
        vals = np.fromiter(ds.map.values(), float)
        order = np.argsort(keys)
        keys, vals = keys[order], vals[order]
        pos = np.clip(np.searchsorted(keys, v), 0, len(keys) - 1)
        hit = keys[pos] == v
        res = np.where(hit, vals[pos], np.nan)
    elif ds.type == "yes_no":
        v = _codes(frame, ds.source)
        res = np.where(np.isin(v, ds.yes), 1.0, np.where(np.isin(v, ds.no), 0.0, np.nan))
    elif ds.type == "any_of":
        yes = np.zeros(n, dtype=bool)
        unknown = np.zeros(n, dtype=bool)
        for s in ds.sources:  # loop over items (a handful), never rows
            v = _codes(frame, s)
            if s in spec.derived:
                y, no = v == 1, v == 0
            else:
                y, no = np.isin(v, ds.yes), np.isin(v, ds.no)
            yes |= y
            unknown |= ~(y | no)
        res = np.where(yes, 1.0, np.where(unknown & (ds.missing == "propagate"), np.nan, 0.0))
        if ds.when:
            holds = _evaluate(frame, ds.when, f"{key}.when", where)
            unknown_when = ~holds & _unknown(frame, ds.when, outside) & (ds.missing == "propagate")
            res = np.where(holds, res, np.where(unknown_when, np.nan, 0.0))
    elif ds.type == "flag":
        res = _evaluate(frame, ds.when, f"{key}.when", where).astype(float)
    else:  # categorical
        conds = [_evaluate(frame, c, f"{key}.categories.{code:g}", where) for code, c in ds.categories]
        res = np.select(conds, [np.full(n, code) for code, _ in ds.categories], default=np.nan)
    out_mask = np.zeros(n, dtype=bool)
    if ds.universe:
        inside = _evaluate(frame, ds.universe, f"{key}.universe", where)
        out_mask = ~inside & ~_unknown(frame, ds.universe, outside)
        res = np.where(inside, res, np.nan)
    return pd.Series(res, index=frame.index, name=ds.name, dtype="float64"), out_mask


def _derived_exclusions(derived: dict, outside: dict, work: pd.DataFrame, spec: SurveySpec, missing_codes: dict,
                        meta: SurveyMeta) -> list[dict]:
    """Count, per derived variable, rows outside its universe and rows missing inside it, by reason."""
    from .spec import expression_names

    rows = []
    frame = _overlay(work, derived)
    for name, col in derived.items():
        ds = spec.derived[name]
        isna = col.isna().to_numpy()
        inside = _evaluate(frame, ds.universe, "", spec.path or "") if ds.universe else np.ones(len(col), bool)
        unknown = ~inside & ~outside[name]
        out_n = int(outside[name].sum())
        if out_n:
            rows.append({"variable": name, "reason": f"outside the universe ({ds.universe})", "count": out_n})
        if unknown.any():
            used = ", ".join(sorted(expression_names(ds.universe)))
            rows.append({"variable": name, "reason": f"universe unknown ({used} missing)",
                         "count": int(unknown.sum())})
        miss = isna & inside
        if not miss.any():
            continue
        if ds.type in ("yes_no", "recode") and ds.source in work.columns:
            src = work[ds.source][miss]
            codes = missing_codes.get(ds.source, ())
            labels = meta.file.value_labels.get(ds.source, {})
            srcv = numeric_codes(src) if not pd.api.types.is_numeric_dtype(src) else src
            for code, cnt in srcv.value_counts(dropna=False).items():
                if pd.isna(code):
                    reason = f"{ds.source} missing (system-missing or not a number)"
                elif code in codes:
                    lab = labels.get(code) or spec.missing_codes.get(float(code), "")
                    reason = f"{ds.source} = {code:g} ({lab})" if lab else f"{ds.source} = {code:g}"
                else:
                    reason = f"{ds.source} = {code:g} (not a yes/no code)"
                rows.append({"variable": name, "reason": reason, "count": int(cnt)})
        elif ds.type == "any_of":
            rows.append({"variable": name, "reason": "no item is yes and an item (or the condition) is missing",
                         "count": int(miss.sum())})
        elif ds.type == "categorical":
            rows.extend(_code_reasons(name, miss, ds, work, spec, missing_codes, meta))
        else:
            rows.append({"variable": name, "reason": "missing", "count": int(miss.sum())})
    return rows


def _code_reasons(name: str, miss: np.ndarray, ds: DerivedSpec, work: pd.DataFrame, spec: SurveySpec,
                  missing_codes: dict, meta: SurveyMeta) -> list[dict]:
    """Reasons for a categorical's missing values: the first raw variable it reads that holds a missing code."""
    from .spec import expression_names

    reason = np.full(len(miss), "", dtype=object)
    used = sorted(set().union(*(expression_names(c) for _, c in ds.categories)))
    for var in used:  # a few variables, never rows
        if var not in work.columns or var in spec.derived and var != name:
            continue
        codes = [c for c in missing_codes.get(var, ()) if not isinstance(c, str)]
        if not codes:
            continue
        v = _codes(work, var)
        labels = meta.file.value_labels.get(var, {})
        for c in codes:
            hit = miss & (reason == "") & (v == c)
            if hit.any():
                lab = labels.get(c) or spec.missing_codes.get(float(c), "")
                reason[hit] = f"{var} = {c:g} ({lab})" if lab else f"{var} = {c:g}"
    reason[miss & (reason == "")] = "no category's condition holds"
    vals, counts = np.unique(reason[miss].astype(str), return_counts=True)
    return [{"variable": name, "reason": r, "count": int(k)} for r, k in zip(vals, counts)]


# ====================================================================== design summary


def _design_summary(data: pd.DataFrame, d: DesignSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(data)
    if d.weights and d.weights in data.columns:
        w = pd.to_numeric(data[d.weights], errors="coerce").to_numpy(dtype="float64")
    else:
        w = np.ones(n)
    if d.strata and d.strata in data.columns:
        s_codes, s_labels = pd.factorize(data[d.strata], sort=True)
    else:
        s_codes, s_labels = np.zeros(n, dtype=np.int64), pd.Index(["(all)"])
    if d.psu and d.psu[0] in data.columns:
        # PSUs nested in strata: a PSU code is (stratum, psu)
        p_codes, _ = pd.factorize(pd.MultiIndex.from_arrays([s_codes, data[d.psu[0]].to_numpy()]))
    else:
        p_codes = np.arange(n)
    H = len(s_labels)
    n_h = np.bincount(s_codes, minlength=H)
    w_h = np.bincount(s_codes, weights=w, minlength=H)
    first = np.unique(p_codes, return_index=True)[1]
    psu_h = np.bincount(s_codes[first], minlength=H)
    strata = pd.DataFrame({"stratum": list(s_labels), "n": n_h, "psus": psu_h, "weight_sum": w_h,
                           "singleton": psu_h == 1})
    singles = [str(s) for s in strata.loc[strata["singleton"], "stratum"]]
    design = pd.DataFrame([{
        "weights": d.weights or "(none: all 1)", "strata": d.strata or "", "psu": ", ".join(d.psu),
        "fpc": ", ".join(d.fpc), "lonely_psu": d.lonely_psu,
        "n": n, "n_strata": int(H), "n_psu": int(len(first)),
        "singleton_strata": ", ".join(singles) if singles else "none",
        "weight_min": float(np.min(w)) if n else np.nan, "weight_max": float(np.max(w)) if n else np.nan,
        "weight_sum": float(np.sum(w)),
    }])
    return strata, design
