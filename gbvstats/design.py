"""The survey design: weights, strata, multistage clusters, fpc, lonely-PSU policy, replicates.

A :class:`Design` is a value (a frozen dataclass). It keeps the *whole* data frame: domains are
estimated by zeroing weights, never by dropping rows, so every PSU and stratum stays in the
variance (R survey's convention for ``subset()`` / ``svyby``).

Strata and clusters are integer-coded once, here (``pd.factorize``); the estimators and the
variance engine (:mod:`gbvstats.variance`) only ever see integer codes.

Conventions follow R survey 4.1 ``svydesign``/``svyrecvar``:

- stage 1 is sampled with replacement unless ``fpc`` is given;
- when ``fpc`` is given for several stages, every stage contributes (multistage variance);
  stages after the last ``fpc`` column are taken as fully enumerated (no contribution);
- ``fpc`` values all <= 1 are sampling fractions, otherwise population counts; they are stored
  as population counts of the stage's units in their stratum (stage 1) or parent unit;
- design degrees of freedom = number of PSUs - number of strata.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from .errors import DataError, DesignError, SpecError, close_matches, format_rows

__all__ = ["Design", "LonelyPSU", "LONELY_PSU_POLICIES"]

LonelyPSU = Literal["fail", "remove", "certainty", "adjust", "average", "collapse"]
LONELY_PSU_POLICIES: tuple[str, ...] = get_args(LonelyPSU)


def _check_choice(value: str, options: tuple[str, ...], what: str) -> str:
    if value not in options:
        raise SpecError(
            f"unknown {what} {value!r}; choose one of: {', '.join(repr(o) for o in options)}"
            + close_matches(str(value), options)
        )
    return value


def _as_list(cols: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if cols is None:
        return []
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    if not isinstance(name, str) or name not in df.columns:
        raise SpecError(
            f"{role} column {name!r} is not in the data"
            + close_matches(str(name), [str(c) for c in df.columns])
            + f"; columns are: {', '.join(map(str, list(df.columns)[:20]))}"
            + (" …" if len(df.columns) > 20 else "")
        )
    return df[name]


def _codes(series: pd.Series, role: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    from .variance import dense_codes

    if pd.api.types.is_integer_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype) \
            and not series.hasnans:
        codes, labels = dense_codes(series.to_numpy())
    else:
        codes, labels = pd.factorize(series, sort=True, use_na_sentinel=True)
    if (codes < 0).any():
        bad = np.flatnonzero(codes < 0)
        raise DataError(
            f"{role} column {name!r} is missing in {format_rows(bad)}; every respondent needs a "
            f"{role} code: fill it in or drop those rows before building the design"
        )
    return codes.astype(np.int64, copy=False), np.asarray(labels)


@dataclass(frozen=True, eq=False, repr=False)
class Design:
    """A complex survey design (Taylor linearisation or replicate weights).

    Build it with :meth:`Design.from_frame`; estimate with :meth:`proportion`, :meth:`mean`,
    :meth:`total` and :meth:`ratio`, for every domain in one pass.

    Attributes
    ----------
    data : pandas.DataFrame
        The full frame, never subset (domains are zero weights).
    weights : numpy.ndarray
        Sampling weights, float64, shape (n,).
    strata : numpy.ndarray
        Stratum codes 0..H-1, int64 (all zeros if unstratified); ``strata_labels`` their labels
        (after any lonely-PSU collapsing).
    clusters : tuple of numpy.ndarray
        Unit codes per sampling stage, stage-1 PSUs first, unique within the whole design
        (nested in stratum / previous stage). Unclustered: each row is its own PSU.
    fpc : tuple of (numpy.ndarray or None)
        Per stage: population size of the stage's units in the stratum (stage 1) or in the
        parent unit (later stages), per row; ``None`` where sampling is with replacement.
    lonely_psu : str
        One of ``fail, remove, certainty, adjust, average, collapse`` (R ``survey.lonely.psu``
        meanings; ``collapse`` merges strata following ``collapse_map`` before estimation).
    lonely_strata : tuple
        Labels of the stage-1 strata with a single PSU (the strata the policy acted on).
    replicate, calibration
        Replicate weights (:class:`gbvstats.replicate.ReplicateWeights`) and calibration steps
        (:mod:`gbvstats.calibrate`), if any.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"w": [10., 10, 20, 20], "st": [1, 1, 2, 2], "psu": [1, 2, 3, 4],
    ...                    "y": [0, 1, 1, 1]})
    >>> d = Design.from_frame(df, weights="w", strata="st", psu="psu")
    >>> d.n_psu, d.n_strata, d.df
    (4, 2, 2)
    >>> round(float(d.mean("y").frame["estimate"][0]), 4)
    0.8333
    """

    data: pd.DataFrame
    weights: np.ndarray
    strata: np.ndarray
    strata_labels: np.ndarray
    clusters: tuple[np.ndarray, ...]
    fpc: tuple[np.ndarray | None, ...] = ()
    lonely_psu: LonelyPSU = "fail"
    collapse_map: dict | None = None
    lonely_strata: tuple = ()
    replicate: Any = None
    calibration: tuple = ()
    weights_name: str | None = None
    strata_name: str | None = None
    psu_names: tuple[str, ...] = ()
    fpc_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    substrata: tuple = ()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        weights: str,
        strata: str | list[str] | None = None,
        psu: str | list[str] | None = None,
        fpc: str | list[str] | None = None,
        lonely_psu: LonelyPSU = "fail",
        *,
        collapse: dict | None = None,
        nest: bool = False,
        replicate_weights: list[str] | np.ndarray | None = None,
        replicate_method: str | None = None,
        scale: float | None = None,
        rscales: Any = None,
        rho: float | None = None,
        mse: bool = False,
        combined_weights: bool = True,
    ) -> "Design":
        """Build a design from a data frame.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per respondent.
        weights : str
            Column of sampling weights (finite, >= 0; zero means out of every domain).
        strata : str or list of str, optional
            Stage-1 stratum column; a list gives strata at later stages too (R's
            ``strata=~s1+s2``): stage-``k`` strata lie within each stage-``(k-1)`` unit.
        psu : str or list of str, optional
            Cluster column(s), one per stage, stage 1 first. ``None``: every row is a PSU.
        fpc : str or list of str, optional
            Finite population correction per stage: population counts (values > 1) or sampling
            fractions (all values <= 1). Without it stage 1 is treated as with replacement.
        lonely_psu : {'fail', 'remove', 'certainty', 'adjust', 'average', 'collapse'}
            What to do with strata holding a single PSU (R ``survey.lonely.psu``; default
            ``'fail'``, whose error names the strata).
        collapse : dict, optional
            With ``lonely_psu='collapse'``: stratum label -> stratum label it is merged into.
        nest : bool
            PSU labels repeat across strata (relabel within stratum), as R's ``nest=TRUE``.
        replicate_weights : list of str or array, optional
            Replicate weight columns (n x R); then ``replicate_method`` ('JK1', 'JKn', 'BRR',
            'Fay', 'bootstrap', 'other'), ``scale``, ``rscales``, ``rho``, ``mse`` and
            ``combined_weights`` follow R's ``svrepdesign`` (see
            :func:`gbvstats.replicate.make_replicate_weights_from_columns`).

        Returns
        -------
        Design

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"w": [1., 1, 1], "y": [1., 2, 3]})
        >>> Design.from_frame(df, weights="w").df
        2
        """
        if not isinstance(df, pd.DataFrame):
            raise SpecError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        _check_choice(lonely_psu, LONELY_PSU_POLICIES, "lonely_psu policy")
        n = len(df)
        if n == 0:
            raise DataError("the data have no rows; nothing to estimate")
        w = pd.to_numeric(_column(df, weights, "weights"), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise DataError(
                f"weights column {weights!r} is missing, infinite or negative in "
                f"{format_rows(np.flatnonzero(bad))}; weights must be finite and >= 0"
            )
        notes: list[str] = []
        strata_cols = _as_list(strata)
        psu_cols = _as_list(psu)
        if len(strata_cols) > 1 and len(strata_cols) > len(psu_cols):
            raise SpecError(
                f"strata names {len(strata_cols)} stages but psu names {len(psu_cols) or 1}; strata below "
                "stage 1 need a cluster column for each of those stages (psu=[stage-1, stage-2, ...])"
            )
        strata = strata_cols[0] if strata_cols else None

        # ---- strata (with optional collapsing) --------------------------------
        if strata is not None:
            s_series = _column(df, strata, "strata")
            if lonely_psu == "collapse":
                if not collapse:
                    raise SpecError(
                        "lonely_psu='collapse' needs collapse={stratum: stratum_to_merge_into, ...}"
                    )
                s_series = s_series.map(lambda v: collapse.get(v, v)) if len(collapse) else s_series
                notes.append(
                    "strata collapsed: " + ", ".join(f"{k!r}->{v!r}" for k, v in collapse.items())
                )
            h_codes, h_labels = _codes(s_series, "strata", strata)
        else:
            if lonely_psu == "collapse":
                raise SpecError("lonely_psu='collapse' needs a strata column")
            h_codes = np.zeros(n, dtype=np.int64)
            h_labels = np.asarray([1])

        # ---- clusters per stage ------------------------------------------------
        # groups[i]: what stage-(i+1) units are sampled within -- stage-1 strata, then the previous
        # stage's unit, or (strata below stage 1) the stratum within the previous stage's unit
        stage_codes: list[np.ndarray] = []
        groups: list[np.ndarray] = [h_codes]
        substrata: list[np.ndarray | None] = []
        parent = h_codes
        from .variance import dense_codes

        for i, col in enumerate(psu_cols):
            c_codes, _ = _codes(_column(df, col, f"stage-{i + 1} cluster"), "cluster", col)
            if i > 0:
                # R relabels later stages within the previous stage's unit
                prev = stage_codes[-1]
                c_codes = dense_codes(prev * (int(c_codes.max()) + 1) + c_codes)[0]
                if i < len(strata_cols):
                    s_codes, _ = _codes(_column(df, strata_cols[i], f"stage-{i + 1} strata"), "strata", strata_cols[i])
                    parent = dense_codes(prev * (int(s_codes.max()) + 1) + s_codes)[0]
                    substrata.append(parent)
                else:
                    parent = prev
                    substrata.append(None)
                groups.append(parent)
            # is every unit inside one parent (stratum, previous-stage unit, or stratum within it)?
            first_parent = np.empty(int(c_codes.max()) + 1, dtype=np.int64)
            first_parent[c_codes] = parent
            crosses = first_parent[c_codes] != parent
            if crosses.any():
                if not nest:
                    if i == 0:
                        raise DesignError(
                            f"PSU labels in column {col!r} repeat across strata ({format_rows(np.flatnonzero(crosses))}); "
                            "if PSU numbers restart in every stratum pass nest=True (nest = true in a spec's [design]), "
                            "otherwise fix the PSU codes"
                        )
                    raise DesignError(
                        f"stage-{i + 1} units in column {col!r} lie in more than one stage-{i + 1} stratum "
                        f"(column {strata_cols[i]!r}) of the same stage-{i} unit ({format_rows(np.flatnonzero(crosses))}); "
                        "if unit numbers restart in every stratum pass nest=True, otherwise fix the unit codes"
                    )
                # nest=True: units are relabelled within their stratum (R's nest=TRUE)
                c_codes = dense_codes(parent * (int(c_codes.max()) + 1) + c_codes)[0]
            stage_codes.append(c_codes)
            parent = c_codes
        if not stage_codes:
            stage_codes.append(np.arange(n, dtype=np.int64))

        # ---- fpc per stage -----------------------------------------------------
        fpc_cols = _as_list(fpc)
        if len(fpc_cols) > len(stage_codes):
            raise SpecError(
                f"fpc names {len(fpc_cols)} stages but psu names {len(psu_cols) or 1}; give one fpc column per stage"
            )
        fpcs: list[np.ndarray | None] = []
        for i, units in enumerate(stage_codes):
            group = groups[i]
            if i >= len(fpc_cols):
                # later stages without fpc: fully enumerated (R) when earlier fpc given
                fpcs.append(None)
                continue
            col = fpc_cols[i]
            f = pd.to_numeric(_column(df, col, "fpc"), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            badf = ~np.isfinite(f) | (f <= 0)
            if badf.any():
                raise DataError(
                    f"fpc column {col!r} is missing or not positive in {format_rows(np.flatnonzero(badf))}; "
                    "give population counts (or sampling fractions <= 1) for every row"
                )
            n_units = _units_per_group(units, group)  # per row
            if (f <= 1).all():
                f = n_units / f  # sampling fractions -> population counts
            # constant within group
            n_groups = int(group.max()) + 1
            lo = np.full(n_groups, np.inf)
            hi = np.full(n_groups, -np.inf)
            np.minimum.at(lo, group, f)
            np.maximum.at(hi, group, f)
            varies = np.flatnonzero(hi[group] - lo[group] > 1e-9 * np.maximum(1.0, hi[group]))
            if varies.size:
                raise DataError(
                    f"fpc column {col!r} varies within a stratum/unit ({format_rows(varies)}); "
                    "it must be constant within each stratum at stage 1 (within each parent unit later)"
                )
            short = np.flatnonzero(f < n_units - 1e-9)
            if short.size:
                raise DataError(
                    f"fpc column {col!r} is smaller than the number of sampled units in {format_rows(short)}; "
                    "fpc is the population count of units (or the sampling fraction)"
                )
            fpcs.append(f)
        if not fpc_cols:
            fpcs = [None]

        # ---- lonely PSUs ------------------------------------------------------
        n_h = np.bincount(h_codes[_first_rows(stage_codes[0])], minlength=len(h_labels))
        lonely = np.flatnonzero(n_h == 1)
        if fpcs[0] is not None and lonely.size:
            # a single PSU that is the whole stratum population is a certainty unit, not lonely
            pop = np.zeros(len(h_labels))
            pop[h_codes] = fpcs[0]
            lonely = lonely[pop[lonely] > 1 + 1e-9]
        lonely_labels = tuple(h_labels[lonely].tolist())
        if lonely.size and lonely_psu in ("fail", "collapse"):
            shown = ", ".join(repr(x) for x in lonely_labels[:10])
            more = f" … ({len(lonely_labels)} in all)" if len(lonely_labels) > 10 else f" ({len(lonely_labels)} in all)"
            raise DesignError(
                f"strata with a single PSU in column {strata!r}: {shown}{more}; choose lonely_psu="
                "'remove', 'certainty', 'adjust' or 'average', or merge them with lonely_psu='collapse' "
                "and collapse={stratum: neighbour}"
            )
        if lonely.size:
            notes.append(f"lonely_psu={lonely_psu!r} applied to strata: {', '.join(map(repr, lonely_labels))}")

        rep = None
        if replicate_weights is not None:
            rep = _replicate_from(df, replicate_weights, replicate_method, scale, rscales, rho, mse, w, combined_weights)

        return cls(
            data=df,
            weights=w,
            strata=h_codes,
            strata_labels=h_labels,
            clusters=tuple(stage_codes),
            fpc=tuple(fpcs),
            lonely_psu=lonely_psu,
            collapse_map=dict(collapse) if collapse else None,
            lonely_strata=lonely_labels,
            replicate=rep,
            calibration=(),
            weights_name=weights,
            strata_name=strata,
            psu_names=tuple(psu_cols),
            fpc_names=tuple(fpc_cols),
            notes=tuple(notes),
            substrata=tuple(substrata) if any(x is not None for x in substrata) else (),
        )

    # ------------------------------------------------------------------ summaries
    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.weights.shape[0])

    @property
    def n_strata(self) -> int:
        """Number of stage-1 strata."""
        return int(len(self.strata_labels))

    @property
    def n_psu(self) -> int:
        """Number of stage-1 PSUs."""
        return int(self.clusters[0].max()) + 1

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs - strata (replicate designs: rank - 1, as R)."""
        if self.replicate is not None:
            return _replicate_df(self.replicate)
        return self.n_psu - self.n_strata

    def __repr__(self) -> str:
        kind = "replicate-weight" if self.replicate is not None else "Taylor-linearisation"
        parts = [f"Design({kind}, n={self.n}, weights={self.weights_name!r}"]
        if self.strata_name:
            parts.append(f"strata={self.strata_name!r} ({self.n_strata})")
        if self.psu_names:
            parts.append(f"psu={list(self.psu_names)!r} ({self.n_psu} PSUs)")
        if self.fpc_names:
            parts.append(f"fpc={list(self.fpc_names)!r}")
        parts.append(f"df={self.df}, lonely_psu={self.lonely_psu!r}")
        if self.calibration:
            parts.append(f"calibrated in {len(self.calibration)} step(s)")
        return ", ".join(parts) + ")"

    def replace(self, **changes) -> "Design":
        """A new design with some fields changed (``dataclasses.replace``).

        The design itself is never modified. Fields are not re-checked: to change the weights,
        strata or PSU *columns*, build a new design with :meth:`from_frame`.

        Parameters
        ----------
        **changes
            Field names and their new values (e.g. ``weights=``, ``lonely_psu=``).

        Returns
        -------
        Design

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"w": [1.0, 1.0, 2.0], "y": [1.0, 2.0, 3.0]})
        >>> design = Design.from_frame(df, weights="w")
        >>> doubled = design.replace(weights=design.weights * 2)
        >>> doubled.weights.tolist(), design.weights.tolist()
        ([2.0, 2.0, 4.0], [1.0, 1.0, 2.0])
        >>> float(doubled.total("y").estimate[0]), float(design.total("y").estimate[0])
        (18.0, 9.0)
        """
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ estimators
    def proportion(self, variable, where=None, by=None, ci="logit", level=0.95, rules=None, category=None):
        """Proportion of a 0/1 variable in every domain; see :func:`gbvstats.estimate.proportion`.

        Parameters
        ----------
        variable : str
            A 0/1 (or boolean) column; missing values are left out and counted in ``excluded``.
        where : str or array of bool, optional
            Restricts the domain (a ``DataFrame.eval`` expression or a mask); the other rows get
            zero weight but stay in the design.
        by : str or list of str, optional
            One domain per combination of these columns' values.
        ci : str, default "logit"
            Interval method: ``logit``, ``xlogit``, ``korn-graubard`` (alias ``beta``),
            ``korn-graubard-nchs``, ``wilson``, ``wald``, ``t``, ``clopper-pearson``, ``asin``,
            ``likelihood``; see :mod:`gbvstats.intervals`.
        level : float, default 0.95
        rules : str, RuleSet or list of Rule, optional
            Reliability rules for the ``flag`` column (default ``'nchs'``).
        category : number or str, optional
            Estimate the proportion in this category of ``variable`` (a code or its value label),
            as R's ``svymean(~factor(x), na.rm=TRUE)`` does for each level; missing values are
            counted in ``excluded``.

        Returns
        -------
        gbvstats.estimate.Estimates

        Examples
        --------
        Past-12-month intimate-partner violence among ever-partnered women, by province, in the
        bundled synthetic survey (the universe ``ever_partnered == 1`` is set in its spec):

        >>> import gbvstats as gs
        >>> survey = gs.read_survey("surveys/example/community_2024.sav", spec="surveys/example/survey.toml")
        >>> design = survey.design
        >>> est = design.proportion("ipv_12m", by="province", ci="korn-graubard")
        >>> est.frame[["province", "estimate", "se", "ci_low", "ci_high", "n", "flag"]].round(4)
           province  estimate      se  ci_low  ci_high    n flag
        0        42    0.2062  0.0141  0.1783   0.2363  628   ok
        1        49    0.2022  0.0167  0.1693   0.2382  635   ok
        2        91    0.1965  0.0170  0.1630   0.2335  678   ok
        3        92    0.1553  0.0158  0.1246   0.1901  625   ok
        >>> len(est), est.method
        (4, 'korn-graubard')
        """
        from .estimate import proportion

        return proportion(self, variable, where=where, by=by, ci=ci, level=level, rules=rules, category=category)

    def mean(self, variable, where=None, by=None, ci="t", level=0.95, rules=None):
        """Mean of a variable in every domain; see :func:`gbvstats.estimate.mean`.

        Parameters
        ----------
        variable : str
            A numeric column; missing values are left out and counted in ``excluded``.
        where, by, level
            As for :meth:`proportion`.
        ci : {"t", "wald"}, default "t"
            Student-t interval on the domain's design degrees of freedom, or normal.
        rules : str, RuleSet or list of Rule, optional
            Reliability rules for the ``flag`` column (default ``'rse'``).

        Returns
        -------
        gbvstats.estimate.Estimates

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> design.mean("children", by="urban").frame[["urban", "estimate", "se", "n"]].round(4)
           urban  estimate      se  n
        0  rural    1.6667  0.5241  5
        1  urban    2.1333  0.4943  3
        """
        from .estimate import mean

        return mean(self, variable, where=where, by=by, ci=ci, level=level, rules=rules)

    def total(self, variable, where=None, by=None, ci="t", level=0.95, rules=None):
        """Population total of a variable in every domain; see :func:`gbvstats.estimate.total`.

        Parameters
        ----------
        variable : str
            A numeric column (a 0/1 column gives the number of people with the attribute).
        where, by, ci, level, rules
            As for :meth:`mean`.

        Returns
        -------
        gbvstats.estimate.Estimates

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> est = design.total("violence")
        >>> float(est.estimate[0]), round(float(est.se[0]), 2), int(est.df[0])
        (400.0, 181.11, 2)
        """
        from .estimate import total

        return total(self, variable, where=where, by=by, ci=ci, level=level, rules=rules)

    def ratio(self, numerator, denominator, where=None, by=None, ci="t", level=0.95, rules=None):
        """Ratio of two totals in every domain; see :func:`gbvstats.estimate.ratio`.

        Parameters
        ----------
        numerator, denominator : str
            Numeric columns; the estimate is ``sum(w y) / sum(w v)`` over the domain.
        where, by, ci, level, rules
            As for :meth:`mean`.

        Returns
        -------
        gbvstats.estimate.Estimates

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> design.ratio("violence", "partnered").frame[["estimate", "se"]].round(4)
           estimate      se
        0    0.6061  0.2747
        """
        from .estimate import ratio

        return ratio(self, numerator, denominator, where=where, by=by, ci=ci, level=level, rules=rules)

    # ------------------------------------------------------------------ delegates
    def to_replicate(self, method="JKn", **kw):
        """Replicate-weight version of this design (see :func:`gbvstats.replicate.to_replicate`).

        Parameters
        ----------
        method : {"JK1", "JKn", "BRR", "Fay", "bootstrap"}, default "JKn"
            As R's ``as.svrepdesign(type=)``.
        **kw
            ``rho`` (Fay), ``replicates`` and ``seed`` (bootstrap), ``mse``, ``compress``.

        Returns
        -------
        Design
            The same design carrying :class:`gbvstats.replicate.ReplicateWeights`; estimates
            then use the replicate variance.

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> jk = design.to_replicate("JKn")
        >>> jk.replicate
        ReplicateWeights(method='JKn', replicates=4, rows=8, scale=1, mse=False, degf=2)
        >>> round(float(jk.mean("children").se[0]), 4), round(float(design.mean("children").se[0]), 4)
        (0.338, 0.3377)
        """
        from .replicate import to_replicate

        return to_replicate(self, method, **kw)

    def poststratify(self, by, totals, **kw):
        """Post-stratified design (see :func:`gbvstats.calibrate.poststratify`).

        Parameters
        ----------
        by : str or list of str
            Post-stratification column(s).
        totals : dict, Series or DataFrame
            Population count of every cell.
        **kw
            ``partial=True`` ignores cells with a total but no respondents.

        Returns
        -------
        Design
            Weights summing to the totals in every cell, with the step recorded in
            ``calibration`` so that the variance credits it.

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> post = design.poststratify("urban", {"urban": 300, "rural": 500})
        >>> post.calibration
        (CalibrationStep(poststratify: post-stratified by urban (2 cells)),)
        >>> post.data.assign(w=post.weights).groupby("urban")["w"].sum()
        urban
        rural    500.0
        urban    300.0
        Name: w, dtype: float64
        """
        from .calibrate import poststratify

        return poststratify(self, by, totals, **kw)

    def rake(self, margins, **kw):
        """Raked design (see :func:`gbvstats.calibrate.rake`).

        Parameters
        ----------
        margins : dict or list of pairs
            ``{by: totals}``: each margin's column(s) and its population counts.
        **kw
            ``max_iter`` (default 10) and ``epsilon`` (default 1), as R's ``rake``.

        Returns
        -------
        Design

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> raked = design.rake({"urban": {"urban": 300, "rural": 500},
        ...                      "stratum": {1: 450, 2: 350}})
        >>> raked.calibration
        (CalibrationStep(rake: raked to margins urban × stratum),)
        >>> w = raked.data.assign(w=raked.weights)
        >>> w.groupby("urban")["w"].sum().round(1).to_dict()
        {'rural': 500.0, 'urban': 300.0}
        """
        from .calibrate import rake

        return rake(self, margins, **kw)

    def calibrate(self, formula_or_columns, totals, **kw):
        """Calibrated design (see :func:`gbvstats.calibrate.calibrate`); linear (GREG) by default.

        Parameters
        ----------
        formula_or_columns : str or list of str
            One-sided formula (``"~ urban + children"``) or a list of columns (with an intercept).
        totals : dict, Series or sequence
            Population total of every model-matrix column, by name or in column order.
        **kw
            ``calfun`` (``"linear"``, ``"raking"``, ``"logit"``), ``bounds``, ``max_iter``,
            ``epsilon``, ``force``.

        Returns
        -------
        Design

        Examples
        --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "stratum": [1, 1, 1, 1, 2, 2, 2, 2],
    ...     "commune": [11, 11, 12, 12, 21, 21, 22, 22],
    ...     "weight": [100.0, 100, 120, 120, 80, 80, 90, 90],
    ...     "urban": ["urban", "rural", "urban", "rural", "urban", "rural", "rural", "rural"],
    ...     "violence": [1, 0, 0, 1, 0, 0, 1, 1],
    ...     "children": [2, 1, 3, 0, 1, 2, 4, 2],
    ...     "partnered": [1, 1, 1, 0, 1, 1, 1, 1],
    ... })
    >>> design = Design.from_frame(df, weights="weight", strata="stratum", psu="commune")
        >>> cal = design.calibrate(["children"], {"(Intercept)": 800, "children": 1600})
        >>> round(float(cal.weights.sum()), 6), round(float((cal.weights * df["children"]).sum()), 6)
        (800.0, 1600.0)
        """
        from .calibrate import calibrate

        return calibrate(self, formula_or_columns, totals, **kw)


# ---------------------------------------------------------------------- helpers
def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Index of one row per code (the last occurrence; any representative will do)."""
    first = np.empty(int(codes.max()) + 1, dtype=np.int64)
    first[codes] = np.arange(codes.shape[0], dtype=np.int64)
    return first


def _units_per_group(units: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row: number of distinct units in the row's group (units nested in groups)."""
    rep = _first_rows(units)
    per_group = np.bincount(group[rep], minlength=int(group.max()) + 1)
    return per_group[group].astype(np.float64)


def _replicate_from(df, cols, method, scale, rscales, rho, mse, w, combined_weights=True):
    from .replicate import make_replicate_weights_from_columns

    if isinstance(cols, np.ndarray) or (
        isinstance(cols, (list, tuple)) and cols and not all(isinstance(c, str) for c in cols)
    ):
        from .replicate import ReplicateWeights

        W = np.asarray(cols, dtype=np.float64)
        if W.ndim != 2 or W.shape[0] != len(df):
            raise DesignError(
                f"replicate weights must be an (n, R) array with n = {len(df)} rows; got shape {W.shape}; "
                "give one column per replicate"
            )
        if not combined_weights:
            W = W * w[:, None]
        if scale is None or rscales is None:
            raise SpecError("an array of replicate weights needs scale= and rscales= (R svrepdesign)")
        return ReplicateWeights(W, scale=float(scale), rscales=rscales, method=method or "other", rho=rho, mse=mse)
    return make_replicate_weights_from_columns(
        df, cols, weights=w, replicate_method=method or "other", scale=scale, rscales=rscales, rho=rho,
        mse=mse, combined_weights=combined_weights,
    )


def _replicate_df(rep) -> int:
    df = getattr(rep, "degf", None)
    if df is not None:
        return int(df)
    W = np.asarray(rep.weights)
    # R: degf = qr(repweights)$rank - 1; the rank of an n x R matrix is that of its R x R Gram matrix
    G = W.T @ W
    return int(np.linalg.matrix_rank(G)) - 1
