"""The Taylor-linearisation variance engine: every domain in one pass.

One function, :func:`taylor_variance`, turns linearised scores into variances, as R survey's
``svyrecvar`` does, for all domains at once. Scores arrive either

- *domain-sparse*: a vector ``z`` (n,) of weighted scores with a domain code per row (each row in
  at most one domain, ``-1`` = in none) — the usual ``by=`` case; or
- *dense*: a matrix ``Z`` (n, D), one column per domain (needed after calibration, whose
  residuals spread a domain's score over every row).

For every sampling stage the per-(domain, unit) score totals are formed with ``pd.factorize`` on a
combined integer key and ``np.bincount``; the centred sums of squares within each (domain, stratum)
follow from those sufficient statistics, again by ``np.bincount``. No Python loop runs over rows,
PSUs, strata or domains (only over the, at most few, sampling stages).

The variance at stage ``s`` (R ``onestrat``), for domain ``d``::

    sum_g  mult_g * (1 - f_g) * n_g / (n_g - 1) * sum_{u in g} (t_du - tbar_dg)^2

with ``g`` the stratum (stage 1) or the parent unit (later stages; with strata below stage 1, the
stratum within the parent unit, R's ``strata=~s1+s2``), ``n_g`` its number of sampled
units (from the whole design: units with no domain member count as zero totals), ``f_g = n_g/N_g``
(0 without fpc), ``mult_g`` the product of the sampling fractions of the earlier stages (R's
``nPSU/fpc`` multiplier), and stages after stage 1 only when ``fpc`` is given for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DesignError, format_rows

__all__ = ["TaylorVariance", "taylor_variance", "domain_sums", "dense_codes"]


@dataclass(frozen=True)
class TaylorVariance:
    """Variance per domain, with the domain's design degrees of freedom.

    ``df = n_psu - n_strata`` counted over the PSUs and strata that contain domain members
    (R's ``degf`` of the subset design).

    Attributes
    ----------
    variance : numpy.ndarray
        Per domain, the variance of the total of the scores.
    df, n_psu, n_strata : numpy.ndarray
        Per domain: degrees of freedom, and the stage-1 PSUs and strata holding members.

    Examples
    --------
    :func:`taylor_variance` of the total of ``y`` in two domains: with one PSU total ``t_hi``
    per PSU, ``v = sum_h n_h/(n_h - 1) sum_i (t_hi - mean_h)^2``. Domain 0 has PSU totals
    (1, 3) in stratum 1 and (0, 5) in stratum 2: ``v = 2 * 2 + 2 * 12.5 = 29``.

    >>> import numpy as np, pandas as pd
    >>> from gbvstats.design import Design
    >>> df = pd.DataFrame({"w": [1.0] * 6, "st": [1, 1, 1, 2, 2, 2], "psu": [1, 1, 2, 3, 4, 4],
    ...                    "y": [1.0, 2, 3, 4, 5, 6], "domain": [0, 1, 0, 1, 0, 1]})
    >>> design = Design.from_frame(df, weights="w", strata="st", psu="psu")
    >>> taylor_variance(design, df["y"].to_numpy(), df["domain"].to_numpy(), 2)
    TaylorVariance(variance=array([29.,  8.]), df=array([1, 1]), n_psu=array([3, 3]), n_strata=array([2, 2]))
    """

    variance: np.ndarray
    df: np.ndarray
    n_psu: np.ndarray
    n_strata: np.ndarray


def domain_sums(values: np.ndarray, domain: np.ndarray, n_domains: int) -> np.ndarray:
    """Sum ``values`` over rows of each domain (rows with code -1 are skipped).

    Examples
    --------
    >>> import numpy as np
    >>> domain_sums(np.array([1., 2, 3]), np.array([0, -1, 0]), 2).tolist()
    [4.0, 0.0]
    """
    keep = domain >= 0
    return np.bincount(domain[keep], weights=values[keep], minlength=n_domains)[:n_domains]


def _factorize(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = dense_codes(key)
    return codes, np.asarray(uniques, dtype=np.int64)


def _stage_setup(design, stage: int, mult_row: np.ndarray):
    """Units, groups and per-group constants of one stage."""
    units = design.clusters[stage]
    groups = design.strata if stage == 0 else design.clusters[stage - 1]
    sub = getattr(design, "substrata", ())
    if stage > 0 and stage - 1 < len(sub) and sub[stage - 1] is not None:
        groups = sub[stage - 1]  # strata below stage 1: the stratum within the previous stage's unit
    n_units = int(units.max()) + 1
    rep = np.empty(n_units, dtype=np.int64)
    rep[units] = np.arange(units.shape[0], dtype=np.int64)
    group_of_unit = groups[rep]
    n_groups = int(groups.max()) + 1
    # the unit each group lies in (R's multistage recursion runs onestage within it): none at stage 1
    parent_of_group = np.zeros(n_groups, dtype=np.int64)
    if stage > 0:
        parent_of_group[groups] = design.clusters[stage - 1]
    n_g = np.bincount(group_of_unit, minlength=n_groups).astype(np.float64)
    fpc = design.fpc[stage] if stage < len(design.fpc) else None
    if fpc is None:
        fcorr = np.ones(n_groups)
        frac = None
    else:
        N_g = np.ones(n_groups)
        N_g[group_of_unit] = fpc[rep]
        frac = n_g / N_g
        fcorr = 1.0 - frac
        fcorr[fcorr < 1e-7] = 0.0  # self-representing (R: all(f < 1e-7) -> 0)
    mult_g = np.ones(n_groups)
    mult_g[group_of_unit] = mult_row[rep]
    with np.errstate(divide="ignore", invalid="ignore"):
        c_g = np.where(n_g > 1, fcorr * n_g / np.maximum(n_g - 1, 1), fcorr) * mult_g
    lonely_g = (n_g == 1) & (fcorr > 0)
    return units, group_of_unit, n_g, c_g, lonely_g, frac, groups, parent_of_group


def _pairs_variance(pu, pdm, t, n_domains, group_of_unit, n_g, c_g, lonely_g, policy, stage1, parent_of_group=None):
    """Stage variance per domain from (unit, domain, total) triples of present pairs."""
    D = n_domains
    pg = group_of_unit[pu]
    dg_codes, dg_keys = _factorize(pg * D + pdm)
    S = np.bincount(dg_codes, weights=t)
    k = np.bincount(dg_codes).astype(np.float64)
    g = dg_keys // D
    dd = dg_keys % D
    m = S / n_g[g]
    if policy == "adjust":
        m = np.where(lonely_g[g], 0.0, m)  # R 4.1: a lonely stratum is not centred (centred at 0)
    use_pair = np.ones(pu.shape[0], dtype=bool)
    use_dg = np.ones(dg_keys.shape[0], dtype=bool)
    if policy in ("remove", "certainty", "average", "fail", "collapse"):
        # a lonely stratum's single centred total is 0 (remove/certainty); average drops it
        use_pair &= ~lonely_g[pg]
        use_dg &= ~lonely_g[g]
    pair_c = c_g[pg] * (t - m[dg_codes]) ** 2
    dg_c = c_g[g] * (n_g[g] - k) * m**2
    if policy == "average" and not stage1 and parent_of_group is not None and lonely_g.any():
        # R's multistage runs onestage within every unit of the previous stage: there the strata
        # with a variance are scaled by nstrat / nokstrat, counted within that unit among the strata
        # holding domain members. Where every such stratum is lonely R returns NA for the whole
        # estimate; gbvstats then lets them contribute 0 (as 'remove'; docs/estimation.md).
        pd_codes, pd_keys = _factorize(parent_of_group[g] * D + dd)
        present = np.bincount(pd_codes).astype(np.float64)
        lonely_present = np.bincount(pd_codes, weights=lonely_g[g].astype(np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale_pd = np.where((lonely_present > 0) & (present > lonely_present),
                                present / (present - lonely_present), 1.0)
        v_pd = np.bincount(dg_codes[use_pair], weights=pair_c[use_pair], minlength=dg_keys.shape[0])
        v_pd = v_pd + np.where(use_dg, dg_c, 0.0)  # per (group, domain) pair
        v_pd = np.bincount(pd_codes, weights=v_pd, minlength=pd_keys.shape[0]) * scale_pd
        return np.bincount(pd_keys % D, weights=v_pd, minlength=D)[:D]
    var = np.bincount(pdm[use_pair], weights=pair_c[use_pair], minlength=D)[:D]
    var += np.bincount(dd[use_dg], weights=dg_c[use_dg], minlength=D)[:D]
    if policy == "average" and stage1:
        # R onestage: sum over strata with a variance, times nstrat / nokstrat (strata present in the domain)
        present = np.bincount(dd, minlength=D)[:D].astype(np.float64)
        lonely_present = np.bincount(dd, weights=lonely_g[g].astype(np.float64), minlength=D)[:D]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = var * np.where(lonely_present > 0, present / (present - lonely_present), 1.0)
    return var


def taylor_variance(design, scores: np.ndarray, domain: np.ndarray, n_domains: int,
                    correction: tuple | None = None) -> TaylorVariance:
    """Stratified multistage variance of weighted scores for every domain at once.

    Parameters
    ----------
    design : gbvstats.design.Design
        Supplies strata, clusters per stage, fpc and the lonely-PSU policy.
    scores : numpy.ndarray
        Weighted linearised scores: shape (n,) together with ``domain`` (each row in one domain),
        or shape (n, n_domains) with one column per domain.
    domain : numpy.ndarray
        Domain code per row, ``-1`` for rows in no domain; members must have positive weight.
        Used for the domain's degrees of freedom (and, with a 1-D ``scores``, to place scores).
    n_domains : int
    correction : (A, B), optional
        Calibration as a low-rank correction of domain-sparse scores (from
        :func:`gbvstats.calibrate.adjust_scores_lowrank`): the adjusted score matrix is
        ``Z - A @ B`` with ``Z`` the (n, D) matrix holding ``scores`` in each row's domain column.
        Unit totals are then ``S Z - (S A) B`` (``S`` the unit indicator), so no dense ``n × D``
        matrix is formed.

    Returns
    -------
    TaylorVariance

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from gbvstats.design import Design
    >>> d = Design.from_frame(pd.DataFrame({"w": [1.0] * 4}), weights="w")
    >>> z = np.array([-1.5, -0.5, 0.5, 1.5]) / 4       # scores of the mean of 1, 2, 3, 4
    >>> float(taylor_variance(d, z, np.zeros(4, dtype=int), 1).variance[0])  # s^2 / n
    0.4166666666666667
    """
    D = int(n_domains)
    domain = np.asarray(domain, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    dense = scores.ndim == 2
    if dense and scores.shape[1] != D:
        raise DesignError(f"score matrix has {scores.shape[1]} columns for {D} domains")
    n = design.weights.shape[0]
    if scores.shape[0] != n or domain.shape[0] != n:
        raise DesignError(f"scores have {scores.shape[0]} rows but the design has {n}")
    member = domain >= 0
    if member.all():
        mrows = np.arange(n)
        md = domain
    else:
        mrows = np.flatnonzero(member)
        md = domain[mrows]

    var = np.zeros(D)
    mult_row = np.ones(n)
    n_stages = len(design.clusters)
    df = n_psu = n_str = None
    for stage in range(n_stages):
        if stage > 0 and (stage >= len(design.fpc) or design.fpc[stage] is None):
            break  # later stages without fpc: fully enumerated / with-replacement approximation (R)
        units, group_of_unit, n_g, c_g, lonely_g, frac, groups, parent_g = _stage_setup(design, stage, mult_row)
        U = int(group_of_unit.shape[0])
        if stage > 0 and lonely_g.any() and design.lonely_psu in ("fail", "collapse"):
            where = "stage-{0} unit(s)".format(stage) if groups is design.clusters[stage - 1] else \
                "stage-{0} strata (within a stage-{1} unit)".format(stage + 1, stage)
            raise DesignError(
                f"{int(lonely_g.sum())} {where} have a single sampled stage-{stage + 1} unit "
                f"({format_rows(np.flatnonzero(lonely_g[groups]))}) and the fpc says more exist; choose "
                "lonely_psu='remove', 'certainty', 'adjust' or 'average'"
            )
        # membership pairs (domain, unit) from member rows: used for df and for present pairs
        mu = units if mrows.shape[0] == n else units[mrows]
        dom_of_unit = np.full(U, -1, dtype=np.int64)
        dom_of_unit[mu] = md
        nested = bool((dom_of_unit[mu] == md).all())
        span = U * D
        if nested:
            # every unit's members lie in one domain (e.g. PSUs inside districts): pairs are units
            pcodes = None
            cnt = np.bincount(mu, minlength=U)
            pu_nested = np.flatnonzero(cnt)
            pkeys = pu_nested * D + dom_of_unit[pu_nested]
        elif span <= 8 * mu.shape[0] + 1024:
            mkey = mu * D + md
            # dense key space: two bincounts and a nonzero scan, no hashing, no sort
            pcodes = None
            pkeys = np.flatnonzero(np.bincount(mkey, minlength=span))
        else:
            mkey = mu * D + md
            pcodes, pkeys = _factorize(mkey)
        pu = pkeys // D
        pdm = pkeys % D
        if stage == 0:
            n_psu = np.bincount(pdm, minlength=D)[:D]
            _, hk = _factorize(group_of_unit[pu] * D + pdm)
            n_str = np.bincount(hk % D, minlength=D)[:D]
            df = n_psu - n_str
        if dense or correction is not None:
            # every (unit, domain) pair: unit totals of each column by a sparse product
            import scipy.sparse as sp

            S = sp.csr_matrix((np.ones(n), (units, np.arange(n))), shape=(U, n))
            if dense:
                T = np.asarray(S @ scores)  # (U, D)
            else:
                Zs = sp.csr_matrix((scores[mrows], (mrows, md)), shape=(n, D))
                A, B = correction
                T = np.asarray((S @ Zs).todense()) - np.asarray(S @ A @ B)
            pu_all = np.repeat(np.arange(U, dtype=np.int64), D)
            pd_all = np.tile(np.arange(D, dtype=np.int64), U)
            v = _pairs_variance(pu_all, pd_all, T.ravel(), D, group_of_unit, n_g, c_g, lonely_g,
                                design.lonely_psu, stage == 0, parent_g)
        else:
            sm = scores[mrows] if mrows.shape[0] != n else scores
            if nested:
                t = np.bincount(mu, weights=sm, minlength=U)[pu]
            elif pcodes is None:
                t = np.bincount(mkey, weights=sm, minlength=span)[pkeys]
            else:
                t = np.bincount(pcodes, weights=sm, minlength=pkeys.shape[0])
            v = _pairs_variance(pu, pdm, t, D, group_of_unit, n_g, c_g, lonely_g, design.lonely_psu, stage == 0,
                                parent_g)
        var += v
        if frac is None:
            break
        mult_row = mult_row * frac[groups]
    return TaylorVariance(variance=var, df=df, n_psu=n_psu, n_strata=n_str)


def dense_codes(values: np.ndarray, sort: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..k-1 of ``values`` and the sorted unique values, like ``pd.factorize(sort=True)``.

    Integer arrays whose range is small (at most 8 times their length) are coded in O(n) with
    ``np.bincount`` (no hashing, no sort); anything else goes to ``pd.factorize``. Missing values
    (NaN) get code -1.

    Examples
    --------
    >>> codes, uniq = dense_codes(np.array([30, 10, 30, 20]))
    >>> codes.tolist(), uniq.tolist()
    ([2, 0, 2, 1], [10, 20, 30])
    """
    v = np.asarray(values)
    if v.dtype.kind in "iub" and v.size:
        if v.dtype.kind == "b":
            v = v.astype(np.int64)
        lo = int(v.min())
        span = int(v.max()) - lo + 1
        if span <= 8 * v.size + 1024:
            off = v.astype(np.int64, copy=False) - lo
            present = np.bincount(off, minlength=span) > 0
            idx = np.cumsum(present) - 1
            return idx[off].astype(np.int64, copy=False), np.flatnonzero(present).astype(np.int64) + lo
    codes, uniq = pd.factorize(v, sort=sort, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniq)
