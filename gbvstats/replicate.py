"""Replicate weights: generation from a design (JK1, JKn, BRR, Fay, bootstrap), user-supplied
replicate columns, and the replicate variance formula.

The semantics follow R ``survey`` (Lumley) so that numbers agree with ``as.svrepdesign`` and
``svrepdesign``:

* a :class:`ReplicateWeights` holds the *combined* analysis weights of every replicate
  (``n`` rows × ``R`` replicates, i.e. R's ``weights(design, "analysis")``);
* the variance of a statistic is
  ``scale * sum_r rscales[r] * (theta_r - c)**2`` with ``c`` the full-sample estimate when
  ``mse`` is true and otherwise the mean of the replicates with ``rscales > 0`` (R's ``svrVar``);
* the design degrees of freedom are the rank of the replicate weight matrix minus one
  (R's ``degf.svyrep.design``).

Generated replicates match R's weights exactly (same replicate order as well) for JK1, JKn, BRR
and Fay, including R's fpc handling in JK1/JKn (``rscales = (1 - n_h/N_h)(n_h-1)/n_h``, strata
sampled exhaustively dropped), R's lonely-PSU treatment in JKn and R's choice of Hadamard matrix
for BRR (Sylvester/doubling, Paley construction, and the two stored matrices of order 28 and 36
from Sloane's library that R ``survey`` also uses). The bootstrap is R's ``bootweights``
(with-replacement resampling of the ``n_h`` PSUs of each stratum, scale
``m/((m-1)(R-1))`` with ``m`` the harmonic mean PSUs per stratum), with numpy's generator: it is
reproducible with ``seed`` but cannot reproduce R's random numbers — read R's own bootstrap
weights as user-supplied columns when exact agreement is needed.

References
----------
Lumley, T. (2010) *Complex Surveys: A Guide to Analysis Using R*, ch. 2.8.
Wolter, K. (2007) *Introduction to Variance Estimation*, 2nd ed., ch. 3-5.
Rao, J.N.K. and Wu, C.F.J. (1988) Resampling inference with complex survey data. JASA 83, 231-241.
Canty, A.J. and Davison, A.C. (1999) Resampling-based variance estimation for labour force
surveys. The Statistician 48, 379-391.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import warn as _warn
from .errors import DataError, DesignError, GbvstatsWarning, SpecError, close_matches, format_rows

__all__ = [
    "ReplicateWeights",
    "to_replicate",
    "replicate_variance",
    "replicate_degf",
    "make_replicate_weights_from_columns",
    "replicate_multipliers",
    "hadamard",
    "REPLICATE_METHODS",
    "USER_REPLICATE_METHODS",
]

ReplicateMethod = Literal["JK1", "JKn", "BRR", "Fay", "bootstrap"]
REPLICATE_METHODS: tuple[str, ...] = ("JK1", "JKn", "BRR", "Fay", "bootstrap")
USER_REPLICATE_METHODS: tuple[str, ...] = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "other")
_LONELY = ("fail", "remove", "certainty", "adjust", "average", "collapse")


# ---------------------------------------------------------------------------------------------
# the result type
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False, eq=False)
class ReplicateWeights:
    """Replicate analysis weights and the constants of the replicate variance formula.

    Parameters
    ----------
    weights : ndarray, shape (n, R)
        Combined analysis weights of every replicate (sampling weight × replicate factor).
    scale : float
        Overall multiplier of the variance.
    rscales : ndarray, shape (R,)
        Per-replicate multipliers (``(n_h - 1)/n_h`` for JKn).
    method : str
        ``"JK1"``, ``"JKn"``, ``"BRR"``, ``"Fay"``, ``"bootstrap"`` or ``"other"``.
    rho : float or None
        Fay's coefficient (``0`` for BRR, ``None`` where irrelevant).
    mse : bool
        Centre replicates on the full-sample estimate (True) or on their mean (False, R's default).
    degf : int or None
        Design degrees of freedom: rank of ``weights`` minus one, as R's ``degf``.

    Examples
    --------
    >>> import numpy as np
    >>> rw = ReplicateWeights(np.array([[0., 2.], [2., 0.]]), scale=0.5, rscales=np.ones(2),
    ...                       method="JK1", rho=None, mse=False)
    >>> rw.n_replicates
    2
    """

    weights: np.ndarray
    scale: float
    rscales: np.ndarray
    method: str
    rho: float | None = None
    mse: bool = False
    degf: int | None = None

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 2:
            raise DesignError(
                f"replicate weights must be a 2-d array (rows × replicates); got shape {w.shape}"
            )
        if w.shape[1] < 2:
            raise DesignError(
                f"replicate weights need at least 2 replicates; got {w.shape[1]} column(s)"
            )
        bad = ~np.isfinite(w)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            raise DataError(
                f"replicate weights contain missing or infinite values in {format_rows(rows)}; "
                "fill them (a dropped unit has replicate weight 0) or drop those replicates"
            )
        rs = np.asarray(self.rscales, dtype=np.float64).reshape(-1)
        if rs.size == 1:
            rs = np.full(w.shape[1], rs[0])
        if rs.size != w.shape[1]:
            raise DesignError(
                f"rscales has length {rs.size}, should be the number of replicates ({w.shape[1]})"
            )
        if not np.all(np.isfinite(rs)) or np.any(rs < 0):
            raise DesignError("rscales must be finite and non-negative")
        if not np.isfinite(self.scale) or self.scale < 0:
            raise DesignError(f"scale must be finite and non-negative; got {self.scale!r}")
        w.setflags(write=False)
        rs.setflags(write=False)
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "rscales", rs)
        object.__setattr__(self, "scale", float(self.scale))
        object.__setattr__(self, "mse", bool(self.mse))
        if self.degf is None:
            object.__setattr__(self, "degf", replicate_degf(w))

    @property
    def df(self) -> int | None:
        """Alias of ``degf`` (the design degrees of freedom)."""
        return self.degf

    @property
    def n_replicates(self) -> int:
        """Number of replicates ``R``."""
        return int(self.weights.shape[1])

    def __repr__(self) -> str:
        rho = "" if self.rho is None else f", rho={self.rho:g}"
        return (
            f"ReplicateWeights(method={self.method!r}, replicates={self.n_replicates}, "
            f"rows={self.weights.shape[0]}, scale={self.scale:.6g}{rho}, mse={self.mse}, "
            f"degf={self.degf})"
        )

    def with_weights(self, weights: np.ndarray) -> ReplicateWeights:
        """A copy with new replicate weights (after calibration); ``degf`` is recomputed.

        Parameters
        ----------
        weights : ndarray, shape (n, R)
            The new combined replicate weights; ``scale``, ``rscales``, ``method``, ``rho`` and
            ``mse`` are kept.

        Returns
        -------
        ReplicateWeights

        Examples
        --------
        >>> import numpy as np
        >>> rw = ReplicateWeights(np.array([[0., 2.], [2., 0.]]), scale=0.5, rscales=np.ones(2),
        ...                       method="JK1")
        >>> scaled = rw.with_weights(rw.weights * 1.5)
        >>> scaled.weights.tolist(), scaled.degf
        ([[0.0, 3.0], [3.0, 0.0]], 1)
        >>> rw.with_weights(np.array([[0., 2.], [0., 2.]])).degf   # rank 1: degf 0
        0
        """
        return dataclasses.replace(self, weights=weights, degf=None)


# ---------------------------------------------------------------------------------------------
# variance and degrees of freedom
# ---------------------------------------------------------------------------------------------
def replicate_variance(
    theta_full: np.ndarray, theta_reps: np.ndarray, rw: ReplicateWeights
) -> np.ndarray:
    """Replicate variance of ``D`` statistics at once (R's ``svrVar``).

    Parameters
    ----------
    theta_full : array, shape (D,)
        Full-sample estimates.
    theta_reps : array, shape (R, D)
        The same statistics computed with every replicate's weights.
    rw : ReplicateWeights
        Supplies ``scale``, ``rscales`` and ``mse``.

    Returns
    -------
    ndarray, shape (D,)
        ``scale * sum_r rscales_r (theta_r - c)^2`` with ``c = theta_full`` if ``rw.mse`` else
        the mean over replicates with ``rscales > 0``. A replicate whose statistic is NaN is left
        out of that statistic's variance (R drops such replicates with a warning).

    Examples
    --------
    >>> import numpy as np
    >>> rw = ReplicateWeights(np.ones((3, 2)), scale=0.5, rscales=np.ones(2), method="JK1")
    >>> replicate_variance(np.array([1.0]), np.array([[0.0], [2.0]]), rw)
    array([1.])
    """
    full = np.atleast_1d(np.asarray(theta_full, dtype=np.float64))
    reps = np.asarray(theta_reps, dtype=np.float64)
    if reps.ndim == 1:
        reps = reps[:, None]
    if reps.shape[0] != rw.n_replicates:
        raise DesignError(
            f"theta_reps has {reps.shape[0]} rows, expected one per replicate ({rw.n_replicates})"
        )
    if reps.shape[1] != full.shape[0]:
        raise DesignError(
            f"theta_reps has {reps.shape[1]} columns but theta_full has {full.shape[0]} values"
        )
    rs = rw.rscales[:, None]
    ok = np.isfinite(reps)
    use = ok & (rs > 0)
    if rw.mse:
        centre = full
    else:
        cnt = use.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(use, reps, 0.0).sum(axis=0) / cnt
        centre = np.where(cnt > 0, centre, 0.0)  # every rscale 0: each term is 0 anyway
    dev = np.where(ok, reps - centre, 0.0)
    var = rw.scale * np.sum(rs * dev * dev, axis=0)
    all_bad = ~ok.any(axis=0)
    if all_bad.any():
        var = np.where(all_bad, np.nan, var)
    return var


def replicate_degf(weights: np.ndarray, tol: float = 1e-5) -> int:
    """Design degrees of freedom of a replicate design: rank of the weight matrix minus one.

    The rank is found with a pivoted QR decomposition and R's relative tolerance ``1e-5``
    (``qr(weights(design, "analysis"), tol = 1e-5)$rank - 1``). Duplicate rows do not change the
    rank, so they are removed first (a PSU's rows often share their replicate factors).

    Examples
    --------
    >>> import numpy as np
    >>> replicate_degf(np.array([[0., 2., 2.], [2., 0., 2.], [2., 2., 0.]]))
    2
    """
    import scipy.linalg

    w = np.asarray(weights, dtype=np.float64)
    if w.shape[0] > 4 * w.shape[1]:
        # scale each row to unit max so rows of one PSU (proportional) collapse
        mx = np.max(np.abs(w), axis=1, keepdims=True)
        mx[mx == 0] = 1.0
        w = np.unique(np.round(w / mx, 12), axis=0)
    if w.size == 0:
        return -1
    r = scipy.linalg.qr(w, mode="r", pivoting=True)[0]
    d = np.abs(np.diag(r))
    if d.size == 0 or d[0] == 0:
        return -1
    return int(np.sum(d > tol * d[0])) - 1


# ---------------------------------------------------------------------------------------------
# Hadamard matrices, as R survey's hadamard()
# ---------------------------------------------------------------------------------------------
# Two Hadamard matrices (0/1 coding) from N.J.A. Sloane's library of Hadamard matrices, the same
# ones R survey stores; orders 28 and 36 are not reachable by Sylvester doubling or by the Paley
# construction from a prime. Needed to reproduce R's BRR replicates for 24-35 strata.
_H28_ROWS = (
    "1111111111111111111111111111", "1001110001110001110001111000",
    "1000001111001101001101111000", "1000001110110010111001100110",
    "1001101000001111100011010110", "1001010100101100010110101110",
    "1000110011010010001110011110", "0101100010101010011111110000",
    "0100010110110101100111010100", "0100011011001011110010101100",
    "0101011000010111011101001010", "0100101101100100111010011010",
    "0101100101011001101100100110", "0010110100011110101011101000",
    "0011011001100110101100110100", "0010101100111011010100011100",
    "0011000111010111010010110010", "0011001011111000100111001010",
    "0010110011101101011001000110", "1110101001010100010111100100",
    "1111000101100011001011001100", "1111000010011100111000011100",
    "1110010101001010110101010010", "1110011000111001001010110010",
    "1110100010100111100100101010", "1101111111111110000000000000",
    "1011111110000001111110000000", "0111111110000000000001111110",
)
_H36_ROWS = (
    "111111111111111111111111111111111111", "010111000111110111001000010101100100",
    "101110001111101110010000101011001000", "011100011111011100100001010110010010",
    "111000111110111001000010101100100100", "110001111101110010000101011001001010",
    "100011111011100100001010110010010110", "000111110111001000010101100100101110",
    "001111101110010000101011001001011100", "011111011100100001010110010010111000",
    "111110111001000010101100100101110000", "111101110010000101011001001011100010",
    "111011100100001010110010010111000110", "110111001000010101100100101110001110",
    "101110010000101011001001011100011110", "011100100001010110010010111000111110",
    "111001000010101100100101110001111100", "110010000101011001001011100011111010",
    "100100001010110010010111000111110110", "001000010101100100101110001111101110",
    "010000101011001001011100011111011100", "100001010110010010111000111110111000",
    "000010101100100101110001111101110010", "000101011001001011100011111011100100",
    "001010110010010111000111110111001000", "010101100100101110001111101110010000",
    "101011001001011100011111011100100000", "010110010010111000111110111001000010",
    "101100100101110001111101110010000100", "011001001011100011111011100100001010",
    "110010010111000111110111001000010100", "100100101110001111101110010000101010",
    "001001011100011111011100100001010110", "010010111000111110111001000010101100",
    "100101110001111101110010000101011000", "001011100011111011100100001010110010",
)


def _sylvester(order: int) -> np.ndarray:
    i = np.arange(order)
    bits = np.bitwise_and(i[:, None], i[None, :])
    parity = np.zeros_like(bits)
    while np.any(bits):
        parity ^= bits & 1
        bits >>= 1
    return (1 - parity).astype(np.int8)


def _from_rows(rows: Sequence[str]) -> np.ndarray:
    return np.array([[int(c) for c in r] for r in rows], dtype=np.int8)


_STORED_SIZES = (4, 16, 28, 36)


def _stored(k: int) -> np.ndarray:
    if k == 0:
        return _sylvester(4)
    if k == 1:
        return _sylvester(16)
    return _from_rows(_H28_ROWS if k == 2 else _H36_ROWS)


def _double(h: np.ndarray) -> np.ndarray:
    return np.block([[h, h], [h, 1 - h]]).astype(np.int8)


# primes p = 3 (mod 4) that R's paley() accepts (all such primes below 8000)
def _paley_primes() -> np.ndarray:
    limit = 8000
    sieve = np.ones(limit, dtype=bool)
    sieve[:2] = False
    for p in range(2, int(limit**0.5) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    primes = np.flatnonzero(sieve)
    return primes[primes % 4 == 3]


_PALEY_PRIMES = _paley_primes()


def _paley_prime(p: int) -> np.ndarray:
    m = np.add.outer(np.arange(p), np.arange(p)) % p
    residues = np.unique(np.concatenate([[0], (np.arange(1, (p - 1) // 2 + 1) ** 2) % p]))
    core = np.where(np.isin(m, residues), 0, 1).astype(np.int8)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = core
    return out


def _paley(n: int, nmax: int | None = None) -> np.ndarray | None:
    # R survey's paley(n, nmax = 2n): smallest Paley-type matrix of order > n it can build
    if nmax is None:
        nmax = 2 * n
    nceil = nn = n + 4 - (n % 4)
    if (n % 4) + 4 == (n % 8):
        while nn % 8 == 0:
            nn //= 2
        if (nn - 1) in _PALEY_PRIMES:
            m = _paley_prime(nn - 1)
            while nn < nceil:
                m = _double(m)
                nn *= 2
            return m
    if n > _PALEY_PRIMES.max():
        return None
    p = int(_PALEY_PRIMES[_PALEY_PRIMES >= n].min())
    if p + 1 > nceil + 4 and nceil + 4 < nmax:
        return _paley(nceil + 3)
    if p > nmax:
        return None
    return _paley_prime(p)


def hadamard(n: int) -> np.ndarray:
    """The 0/1 Hadamard matrix R ``survey`` uses for ``n`` BRR half-sample strata.

    Order is more than ``n``; R uses rows ``2 .. n+1`` (one per stratum) and every column (one per
    replicate). The choice (stored orders 4, 16, 28, 36; Sylvester doubling; Paley construction)
    follows R's ``hadamard()`` so replicate weights agree with ``as.svrepdesign``.

    Examples
    --------
    >>> h = hadamard(5)
    >>> h.shape
    (8, 8)
    >>> import numpy as np
    >>> s = 2 * h.astype(int) - 1
    >>> bool(np.all(s.T @ s == 8 * np.eye(8)))
    True
    """
    n = int(n)
    m = n - n % 4
    sizes = np.array(_STORED_SIZES)
    pre = np.flatnonzero((m < sizes) & (m + 4 >= sizes))
    if pre.size:
        return _stored(int(pre.min()))
    if np.all(m < sizes):
        return _stored(0)
    doubles = np.zeros(sizes.size, dtype=int)
    for k in range(sizes.size):  # four stored orders, not data
        while sizes[k] * 2 ** doubles[k] < n + 1:
            doubles[k] += 1
    grown = sizes * 2**doubles
    best = int(np.argmin(grown - n))
    h = None
    if grown[best] - n > 4:
        h = _paley(n, int(grown[best]))
    if h is None:
        h = _stored(best)
        for _ in range(int(doubles[best])):
            h = _double(h)
    return h


# ---------------------------------------------------------------------------------------------
# kernels on integer codes: replicate factors per PSU
# ---------------------------------------------------------------------------------------------
def _first_appearance(codes: np.ndarray, ncodes: int) -> np.ndarray:
    first = np.full(ncodes, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(codes.size, dtype=np.int64))
    return first


def _psu_layout(strata: np.ndarray, psu: np.ndarray):
    """PSUs in R's order: strata by first appearance, PSUs by first appearance within stratum.

    Returns (psu_index (n,) -> position 0..P-1 in that order, stratum of each ordered PSU as
    0..H-1 in order of first appearance, first row of each ordered PSU).
    """
    psu_codes, psu_inv = np.unique(psu, return_inverse=True)
    npsu = psu_codes.size
    first_row = _first_appearance(psu_inv, npsu)
    psu_stratum = strata[first_row]
    s_codes, s_inv = np.unique(psu_stratum, return_inverse=True)
    s_first = _first_appearance(s_inv, s_codes.size)  # first PSU (by row) of each stratum
    s_rank = np.empty(s_codes.size, dtype=np.int64)
    s_rank[np.argsort(first_row[s_first], kind="stable")] = np.arange(s_codes.size)
    order = np.lexsort((first_row, s_rank[s_inv]))
    pos = np.empty(npsu, dtype=np.int64)
    pos[order] = np.arange(npsu)
    return pos[psu_inv], s_rank[s_inv][order], first_row[order]


def _check_nested(strata: np.ndarray, psu: np.ndarray) -> None:
    codes = pd.factorize(psu)[0]
    rep = np.empty(int(codes.max()) + 1 if codes.size else 0, dtype=np.int64)
    rep[codes] = np.arange(codes.size, dtype=np.int64)  # one row of each PSU (any will do)
    if np.any(strata[rep[codes]] != strata):
        raise DesignError(
            "PSU codes are not nested in strata (a PSU appears in more than one stratum); "
            "give PSU codes unique within the design"
        )


def replicate_multipliers(
    method: ReplicateMethod,
    strata: np.ndarray,
    psu: np.ndarray,
    *,
    popsize: np.ndarray | None = None,
    strata_labels: Sequence[Any] | None = None,
    rho: float | None = None,
    replicates: int | None = None,
    seed: int | np.random.Generator | None = None,
    lonely_psu: str = "fail",
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Replicate factors per PSU, on integer codes (the kernel behind :func:`to_replicate`).

    Parameters
    ----------
    method : {"JK1", "JKn", "BRR", "Fay", "bootstrap"}
    strata, psu : int arrays, shape (n,)
        Stratum and stage-1 PSU code of every row (PSUs nested in strata).
    popsize : float array, shape (n,), optional
        Number of PSUs in the row's stratum population (R's ``fpc`` as counts).
    strata_labels : sequence, optional
        Label of each stratum code; BRR pairs strata in the order of their labels as text, as R.
    rho : float, optional
        Fay coefficient (``Fay`` only; ``BRR`` is ``rho = 0``).
    replicates : int, optional
        Number of bootstrap replicates (default 50).
    seed : int or numpy Generator, optional
        Bootstrap random numbers.
    lonely_psu : str
        JKn treatment of strata with one PSU, as R's ``jknweights``.

    Returns
    -------
    factors : ndarray (P, R)
        Replicate factor of each PSU (multiply the sampling weight of its rows).
    psu_index : ndarray (n,)
        Row → PSU position in ``factors``.
    scale : float
    rscales : ndarray (R,)

    Examples
    --------
    >>> import numpy as np
    >>> f, idx, scale, rs = replicate_multipliers("JK1", np.zeros(3, int), np.arange(3))
    >>> f
    array([[0. , 1.5, 1.5],
           [1.5, 0. , 1.5],
           [1.5, 1.5, 0. ]])
    >>> round(scale, 4)
    0.6667
    """
    strata = np.asarray(strata, dtype=np.int64)
    psu = np.asarray(psu, dtype=np.int64)
    if strata.shape != psu.shape:
        raise DesignError("strata and psu codes must have one value per row")
    _check_nested(strata, psu)
    index, pstr, prow = _psu_layout(strata, psu)
    npsu = prow.size
    nstrat = int(pstr.max()) + 1 if npsu else 0
    n_h = np.bincount(pstr, minlength=nstrat)
    pop_h = None
    if popsize is not None:
        ps = np.asarray(popsize, dtype=np.float64)
        psu_pop = ps[prow]
        lo = np.full(nstrat, np.inf)
        hi = np.full(nstrat, -np.inf)
        np.minimum.at(lo, pstr, psu_pop)
        np.maximum.at(hi, pstr, psu_pop)
        if np.any(lo != hi):
            raise DesignError("the fpc varies within a stratum; give one population size per stratum")
        pop_h = lo
        small = np.flatnonzero(pop_h < n_h)
        if small.size:
            raise DesignError(
                f"population size (fpc) smaller than the number of sampled PSUs in {small.size} "
                "stratum/strata; check the fpc column (counts of population PSUs, or fractions < 1)"
            )

    if method == "JK1":
        if nstrat > 1:
            raise DesignError(
                "JK1 ignores strata and this design is stratified; use method='JKn' "
                "(R: \"Can't use JK1 for a stratified design\")"
            )
        f = 1.0
        if pop_h is not None:
            f = float((pop_h[0] - npsu) / pop_h[0])
        if npsu < 2:
            raise DesignError("JK1 needs at least 2 PSUs")
        fac = np.full((npsu, npsu), npsu / (npsu - 1))
        np.fill_diagonal(fac, 0.0)
        if f == 0:  # a census: R drops every replicate; the variance is zero
            raise DesignError("every PSU of the population is in the sample (fpc = n): JK1 variance is 0")
        return fac, index, f * (npsu - 1) / npsu, np.ones(npsu)

    if method == "JKn":
        return _jkn(pstr, n_h, pop_h, lonely_psu, strata_labels, index, prow, strata)

    if method in ("BRR", "Fay"):
        r = 0.0 if method == "BRR" else float(rho if rho is not None else np.nan)
        if method == "Fay" and not (0 <= r < 1):
            raise SpecError(f"Fay's rho must be in [0, 1); got {rho!r}")
        fac = _brr(strata, psu, index, pstr, prow, n_h, strata_labels, r)
        nrep = fac.shape[1]
        return fac, index, 1.0 / (nrep * (1 - r) ** 2), np.ones(nrep)

    if method == "bootstrap":
        nrep = 50 if replicates is None else int(replicates)
        if nrep < 2:
            raise SpecError(f"bootstrap needs at least 2 replicates; got {replicates!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        fac = _bootstrap(pstr, n_h, pop_h, nrep, rng)
        m = 1.0 / np.mean(1.0 / n_h)
        if m <= 1:
            raise DesignError("bootstrap needs strata with at least 2 PSUs on average")
        return fac, index, m / ((m - 1) * (nrep - 1)), np.ones(nrep)

    raise SpecError(f"unknown replicate method {method!r}; choose one of {', '.join(REPLICATE_METHODS)}")


def _label_text(strata_labels, codes: np.ndarray) -> list[str]:
    if strata_labels is None:
        return [str(int(c) + 1) for c in codes]
    labels = list(strata_labels)
    return [str(labels[int(c)]) for c in codes]


def _jkn(pstr, n_h, pop_h, lonely_psu, strata_labels, index, prow, strata):
    nstrat = n_h.size
    npsu = pstr.size
    if pop_h is None:
        fpc_h = np.ones(nstrat)
        census = np.zeros(nstrat, dtype=bool)
    else:
        fpc_h = (pop_h - n_h) / pop_h
        census = fpc_h == 0
    lonely = (n_h == 1) & ~census
    if lonely.any() and lonely_psu in ("fail", "collapse"):
        codes = strata[prow[np.flatnonzero(lonely[pstr])]]
        names = _label_text(strata_labels, codes)
        raise DesignError(
            f"{int(lonely.sum())} stratum/strata have only one PSU ({', '.join(names[:10])}); "
            "JKn cannot delete it. Set lonely_psu to 'remove', 'certainty', 'average' or 'adjust', "
            "or collapse those strata"
        )
    # one replicate per PSU of the strata kept, in R's order (strata by appearance, PSUs within)
    keep_stratum = ~census & ~lonely
    keep_psu = keep_stratum[pstr]
    rep_psu = np.flatnonzero(keep_psu)
    nrep = rep_psu.size
    adjust = lonely_psu == "adjust" and lonely.any()
    # factors: 1 everywhere, 0 for the deleted PSU, n_h/(n_h-1) for its stratum mates
    fac = np.ones((npsu, nrep))
    if nrep:
        mate = pstr[:, None] == pstr[rep_psu][None, :]
        fac[mate] = np.broadcast_to((n_h[pstr] / np.maximum(n_h[pstr] - 1, 1))[:, None], mate.shape)[mate]
        fac[rep_psu, np.arange(nrep)] = 0.0
    rscales = (fpc_h * (n_h - 1) / n_h)[pstr[rep_psu]]
    if adjust:
        # R: a lonely stratum becomes one replicate that zeroes it and scales all other PSUs by
        # H/(H-1), with rscale (H-1)/H, placed in the stratum's turn of the replicate order
        lonely_strata = np.flatnonzero(lonely)
        extra = np.where(pstr[:, None] == lonely_strata[None, :], 0.0, nstrat / (nstrat - 1))
        # order replicates as R: by stratum order, the lonely stratum's column in its place
        col_stratum = np.concatenate([pstr[rep_psu], lonely_strata])
        fac = np.concatenate([fac, extra], axis=1)
        rscales = np.concatenate([rscales, np.full(lonely_strata.size, (nstrat - 1) / nstrat)])
        order = np.argsort(col_stratum, kind="stable")
        fac, rscales = fac[:, order], rscales[order]
        nrep = fac.shape[1]
    if nrep == 0:
        raise DesignError("all strata were sampled exhaustively (fpc = n): the variance is zero")
    scale = 1.0
    if lonely_psu == "average" and nrep < npsu:
        scale = npsu / nrep
    return fac, index, scale, rscales


def _brr(strata, psu, index, pstr, prow, n_h, strata_labels, rho):
    bad_small = np.flatnonzero(n_h < 2)
    odd_large = np.flatnonzero((n_h > 2) & (n_h % 2 == 1))
    if bad_small.size or odd_large.size:
        both = np.concatenate([bad_small, odd_large])
        codes = strata[prow[[int(np.flatnonzero(pstr == s)[0]) for s in both[:10]]]]
        names = _label_text(strata_labels, codes)
        raise DesignError(
            f"BRR needs 2 PSUs per stratum (or an even number, split in pairs); "
            f"{both.size} stratum/strata do not have that ({', '.join(names)}). "
            "Use method='JKn' or 'bootstrap', or pair PSUs into strata of two"
        )
    # R orders PSUs by stratum label (as text) then first appearance, and numbers the half-sample
    # strata in that order: split strata (more than 2 PSUs) first, then the pairs.
    npsu = prow.size
    text = np.array(_label_text(strata_labels, strata[prow]), dtype=object)
    trank = np.unique(text, return_inverse=True)[1].reshape(-1)
    oo = np.lexsort((prow, trank))
    sorted_str = pstr[oo]
    ar = np.arange(npsu)
    change = np.r_[True, sorted_str[1:] != sorted_str[:-1]]
    pos_in = ar - np.maximum.accumulate(np.where(change, ar, 0))
    pairs_h = n_h // 2
    is_large = (n_h > 2)[sorted_str]
    # pair numbers: large strata (in sorted order) first, then the two-PSU strata
    firsts = sorted_str[change]
    large_first = firsts[n_h[firsts] > 2]
    good_first = firsts[n_h[firsts] == 2]
    offset = np.zeros(n_h.size, dtype=np.int64)
    offset[large_first] = np.concatenate([[0], np.cumsum(pairs_h[large_first])[:-1]])
    n_large_pairs = int(pairs_h[large_first].sum())
    offset[good_first] = n_large_pairs + np.arange(good_first.size)
    w1 = (pos_in % 2).astype(np.float64)
    wstr = offset[sorted_str] + np.where(is_large, pos_in // 2, 0)
    upto = n_large_pairs + good_first.size
    # back to PSU order
    col1 = np.empty(npsu)
    col1[oo] = w1
    half = np.empty(npsu, dtype=np.int64)
    half[oo] = wstr
    h = hadamard(upto).astype(np.int64)
    sign = h[1 + half, :]  # (P, R): 0 -> first half-sample column, 1 -> second
    wa = np.where(sign == 0, col1[:, None], 1 - col1[:, None])
    return wa * (2 - rho) + (1 - wa) * rho


def _bootstrap(pstr, n_h, pop_h, nrep, rng):
    npsu = pstr.size
    order = np.argsort(pstr, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    counts = np.zeros((npsu, nrep))
    if pop_h is None:
        # each PSU slot draws one PSU of its own stratum, with replacement
        u = rng.random((npsu, nrep))
        draw = start[pstr][:, None] + np.floor(u * n_h[pstr][:, None]).astype(np.int64)
        draw = np.minimum(draw, (start + n_h - 1)[pstr][:, None])
        chosen = order[draw]  # (P, R) chosen PSU
        flat = chosen + npsu * np.arange(nrep)[None, :]
        counts = np.bincount(flat.ravel(), minlength=npsu * nrep).reshape(nrep, npsu).T
        return counts.astype(np.float64)
    # without replacement from a pseudo-population repeating the stratum's PSUs up to N_h units
    pop = np.round(pop_h).astype(np.int64)
    if pop.sum() > 50_000_000:
        raise DesignError("population sizes too large for the finite-population bootstrap")
    unit_stratum = np.repeat(np.arange(n_h.size), pop)
    unit_start = np.concatenate([[0], np.cumsum(pop)[:-1]])
    k = np.arange(pop.sum()) - unit_start[unit_stratum]
    unit_psu = order[start[unit_stratum] + k % n_h[unit_stratum]]
    out = np.empty((npsu, nrep))
    for r in range(nrep):  # replicates, not rows
        keys = rng.random(unit_psu.size)
        o = np.lexsort((keys, unit_stratum))
        rank = np.arange(o.size) - unit_start[unit_stratum[o]]
        sel = o[rank < n_h[unit_stratum[o]]]
        out[:, r] = np.bincount(unit_psu[sel], minlength=npsu)
    return out


# ---------------------------------------------------------------------------------------------
# Design level
# ---------------------------------------------------------------------------------------------
def _stage1_popsize(design, strata: np.ndarray, psu: np.ndarray) -> np.ndarray | None:
    fpcs = getattr(design, "fpc", None)
    if not fpcs:
        return None
    f = fpcs[0] if isinstance(fpcs, (tuple, list)) else fpcs
    if f is None:
        return None
    f = np.asarray(f, dtype=np.float64)
    if np.all(f <= 1):
        # sampling fractions: population count = PSUs sampled in the stratum / fraction
        pairs = np.unique(np.stack([strata, psu]), axis=1)
        n_h = np.bincount(pairs[0], minlength=int(strata.max()) + 1)
        return n_h[strata] / f
    return f


def to_replicate(
    design,
    method: ReplicateMethod = "JKn",
    *,
    rho: float | None = None,
    replicates: int | None = None,
    seed: int | np.random.Generator | None = None,
    compress: bool = True,
    mse: bool = False,
):
    """A copy of ``design`` carrying replicate weights generated from its strata and PSUs.

    Mirrors R's ``as.svrepdesign(design, type=method)``: ``"JK1"`` (unstratified delete-one-PSU,
    scale ``(R-1)/R``), ``"JKn"`` (stratified delete-one, ``rscales = (n_h-1)/n_h``, times
    ``1 - n_h/N_h`` with an fpc; exhaustively sampled strata give no replicate), ``"BRR"`` (two
    PSUs per stratum, R's Hadamard matrix), ``"Fay"`` (BRR with factors ``2-rho``/``rho``, scale
    ``1/(R (1-rho)^2)``) and ``"bootstrap"`` (``replicates`` resamples of the ``n_h`` PSUs of each
    stratum with replacement, reproducible with ``seed``). Only the first-stage fpc is used, as
    R; BRR and Fay ignore the fpc (with a warning when one is present).

    Parameters
    ----------
    design : Design
    method : {"JK1", "JKn", "BRR", "Fay", "bootstrap"}
    rho : float, optional
        Fay coefficient in ``[0, 1)``; required for ``"Fay"``.
    replicates : int, optional
        Bootstrap replicates (default 50).
    seed : int or numpy Generator, optional
        Bootstrap seed.
    compress : bool
        Accepted for parity with R; weights are stored as an ``n × R`` array.
    mse : bool
        Centre replicate deviations on the full-sample estimate.

    Returns
    -------
    Design
        ``dataclasses.replace(design, replicate=ReplicateWeights(...))``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import gbvstats as gs
    >>> df = pd.DataFrame({"h": [1, 1, 2, 2], "p": [1, 2, 3, 4], "w": [2.0, 2, 3, 3]})
    >>> d = gs.Design.from_frame(df, weights="w", strata="h", psu="p")
    >>> d.to_replicate("JKn").replicate.rscales
    array([0.5, 0.5, 0.5, 0.5])
    """
    if method not in REPLICATE_METHODS:
        raise SpecError(
            f"unknown replicate method {method!r}; choose one of {', '.join(REPLICATE_METHODS)}"
            + close_matches(str(method), REPLICATE_METHODS)
        )
    if method == "Fay" and rho is None:
        raise SpecError("method='Fay' needs rho (for example rho=0.5)")
    if method != "Fay" and rho not in (None, 0, 0.0):
        if method == "BRR":
            method = "Fay"
        else:
            raise SpecError(f"rho applies to 'Fay' (and 'BRR') only, not to {method!r}")
    w = np.asarray(design.weights, dtype=np.float64)
    n = w.size
    strata = np.asarray(getattr(design, "strata", np.zeros(n, np.int64)), dtype=np.int64)
    clusters = getattr(design, "clusters", None)
    psu = np.asarray(clusters[0], dtype=np.int64) if clusters else np.arange(n, dtype=np.int64)
    stratified = np.unique(strata).size > 1
    if method == "JK1" and stratified:
        raise DesignError(
            "JK1 is for unstratified designs and this design has strata; use method='JKn'"
        )
    if method in ("JKn", "BRR", "Fay") and not stratified and not _has_strata(design):
        raise DesignError(
            f"{method} needs a stratified design; use 'JK1' or 'bootstrap' for an unstratified one"
        )
    popsize = _stage1_popsize(design, strata, psu)
    if popsize is not None and method in ("BRR", "Fay"):
        _warn(
            "the finite population correction is dropped in BRR/Fay replicates (as R survey)",
            GbvstatsWarning,
        )
        popsize = None
    if len(getattr(design, "calibration", ()) or ()) and getattr(design, "replicate", None) is None:
        _warn(
            "replicates are made from the calibrated weights without re-calibrating each replicate "
            "(as R's as.svrepdesign); calibrate after to_replicate to credit the calibration",
            GbvstatsWarning,
        )
    later_fpc = [f for f in tuple(getattr(design, "fpc", ()) or ())[1:] if f is not None]
    if later_fpc and method in ("JK1", "JKn", "bootstrap"):
        _warn(
            "finite population corrections after the first stage are dropped in replicate weights (as R survey)",
            GbvstatsWarning,
        )
    n_psu = np.unique(psu).size
    if method in ("JK1", "JKn") and n * n_psu > _MAX_CELLS:
        raise DesignError(
            f"{method} would make {n_psu} replicates of {n} rows ({n * n_psu * 8 / 1e9:.1f} GB); "
            "use method='bootstrap' with replicates=200 or so, or BRR on paired PSUs"
        )
    lonely = getattr(design, "lonely_psu", "fail")
    fac, index, scale, rscales = replicate_multipliers(
        method,
        strata,
        psu,
        popsize=popsize,
        strata_labels=getattr(design, "strata_labels", None),
        rho=rho,
        replicates=replicates,
        seed=seed,
        lonely_psu=lonely,
    )
    if n * fac.shape[1] > _MAX_CELLS:
        raise DesignError(
            f"{method} would make {fac.shape[1]} replicates of {n} rows ({n * fac.shape[1] * 8 / 1e9:.1f} GB); "
            "use method='bootstrap' with replicates=200 or so, or BRR on paired PSUs"
        )
    reps = fac[index] * w[:, None]
    rw = ReplicateWeights(
        reps,
        scale=scale,
        rscales=rscales,
        method=method,
        rho=(0.0 if method == "BRR" else rho) if method in ("BRR", "Fay") else None,
        mse=mse,
        degf=_degf_from_factors(fac, method, index, strata, lonely),
    )
    return dataclasses.replace(design, replicate=rw)


_MAX_CELLS = 250_000_000  # n × R float64 cells (2 GB); beyond that replicate weights do not fit


def _has_strata(design) -> bool:
    labels = getattr(design, "strata_labels", None)
    return labels is not None and len(labels) > 1


def _degf_from_factors(fac: np.ndarray, method: str, index: np.ndarray, strata: np.ndarray, lonely: str) -> int:
    """R's degf (rank - 1) of generated replicates.

    Rows of one PSU are the PSU's factors times a positive weight, so the rank is that of the
    factor matrix. Delete-one jackknife columns of a stratum span the within-stratum contrasts
    plus one common vector, so their rank is ``sum_h (n_h - 1) + 1`` over the strata that have
    replicates (exact, and avoids a QR of a P × P matrix for large designs).
    """
    if method in ("JK1", "JKn") and not (lonely == "adjust" and method == "JKn"):
        psu_stratum = np.empty(fac.shape[0], dtype=np.int64)
        psu_stratum[index] = strata
        deleted = np.argmin(fac, axis=0)  # the PSU a column deletes (factor 0)
        n_rep_strata = np.unique(psu_stratum[deleted]).size
        return int(fac.shape[1] - n_rep_strata + 1) - 1
    return replicate_degf(fac)


def make_replicate_weights_from_columns(
    data: pd.DataFrame,
    replicate_weights: str | Sequence[str],
    *,
    weights: np.ndarray | str | None = None,
    replicate_method: str = "other",
    scale: float | None = None,
    rscales: float | Sequence[float] | np.ndarray | None = None,
    rho: float | None = None,
    mse: bool = False,
    combined_weights: bool = True,
    source: str = "data",
) -> ReplicateWeights:
    """Replicate weights read from columns of a frame, with R ``svrepdesign`` semantics.

    ``Design.from_frame(df, weights=..., replicate_weights=..., replicate_method=..., scale=...,
    rscales=..., rho=..., mse=...)`` calls this as::

        make_replicate_weights_from_columns(df, replicate_weights, weights=w_array,
            replicate_method=replicate_method, scale=scale, rscales=rscales, rho=rho, mse=mse,
            combined_weights=combined_weights, source=<file name or "data">)

    Parameters
    ----------
    data : DataFrame
    replicate_weights : list of column names, or a regular expression (str) matched with
        ``re.search`` against the column names (R: ``grep(repweights, names(data))``).
    weights : array or column name, optional
        Full-sample weights; without them equal weights are assumed (R warns the same).
    replicate_method : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "other"}
    scale, rscales : optional
        Variance constants. Defaults as R: BRR ``1/R`` (a given scale is ignored with a warning);
        Fay ``1/(R (1-rho)^2)``; JK1 ``(R-1)/R`` (guessed, with a warning); bootstrap
        ``1/(R-1)``; JKn needs ``rscales`` for combined weights (for uncombined weights it is
        guessed as ``1/max`` of each column, with a warning); other ``1`` (with a warning).
    rho : float, optional
        Fay coefficient; required for ``"Fay"``.
    mse : bool
    combined_weights : bool
        True (default, as R) when the columns already include the sampling weight; False when
        they are replicate factors to be multiplied by ``weights``.
    source : str
        Name of the file, for error messages.

    Returns
    -------
    ReplicateWeights
        With combined (analysis) weights.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"w": [2.0, 2.0], "r1": [4.0, 0.0], "r2": [0.0, 4.0]})
    >>> rw = make_replicate_weights_from_columns(df, "^r[0-9]", weights="w",
    ...                                          replicate_method="JK1", scale=0.5)
    >>> rw.scale, rw.n_replicates
    (0.5, 2)
    """
    if replicate_method not in USER_REPLICATE_METHODS:
        raise SpecError(
            f"unknown replicate_method {replicate_method!r}; choose one of "
            f"{', '.join(USER_REPLICATE_METHODS)}" + close_matches(str(replicate_method), USER_REPLICATE_METHODS)
        )
    if isinstance(replicate_weights, str):
        pat = re.compile(replicate_weights)
        cols = [c for c in data.columns if pat.search(str(c))]
        if not cols:
            raise SpecError(
                f"{source}: no column matches the replicate-weight pattern {replicate_weights!r}; "
                f"columns are {', '.join(map(str, list(data.columns)[:20]))}"
            )
    else:
        cols = list(replicate_weights)
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise SpecError(
                f"{source}: replicate weight column(s) {', '.join(map(repr, missing))} not found"
                + close_matches(str(missing[0]), [str(c) for c in data.columns])
            )
    if len(cols) < 2:
        raise DesignError(f"{source}: need at least 2 replicate weight columns; got {len(cols)}")
    raw = data[cols]
    nonnum = [c for c, dt in zip(cols, raw.dtypes) if not pd.api.types.is_numeric_dtype(dt)]
    if nonnum:
        raise DataError(
            f"{source}: replicate weight column(s) {', '.join(map(repr, nonnum))} are not numeric; "
            "convert them (for example pd.to_numeric)"
        )
    rep = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(rep)
    if bad.any():
        col = cols[int(np.flatnonzero(bad.any(axis=0))[0])]
        rows = np.flatnonzero(bad.any(axis=1))
        raise DataError(
            f"{source}: replicate weight column {col!r} (and maybe others) has missing or infinite "
            f"values in {format_rows(rows)}; R does not allow missing replicate weights either — "
            "a unit dropped from a replicate has weight 0"
        )
    if isinstance(weights, str):
        if weights not in data.columns:
            raise SpecError(f"{source}: weight column {weights!r} not found" + close_matches(weights, list(map(str, data.columns))))
        w = data[weights].to_numpy(dtype=np.float64, na_value=np.nan)
    elif weights is None:
        _warn("no sampling weights given: equal probability assumed", GbvstatsWarning)
        w = np.ones(rep.shape[0])
    else:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != rep.shape[0]:
        raise DesignError(
            f"{source}: replicate weights have {rep.shape[0]} rows but weights have {w.shape[0]}"
        )
    nrep = rep.shape[1]
    if rscales is not None:
        rs_arr = np.atleast_1d(np.asarray(rscales, dtype=np.float64))
        if rs_arr.size not in (1, nrep):
            raise DesignError(f"rscales has length {rs_arr.size}, should be ncol(repweights) = {nrep}")
    else:
        rs_arr = None

    if replicate_method == "Fay" and rho is None:
        raise SpecError("replicate_method='Fay' needs rho, the Fay coefficient used to make the weights")
    if replicate_method in ("JK1", "JKn", "other") and rho is not None:
        _warn(f"rho is not used by {replicate_method}: ignored", GbvstatsWarning)
    if replicate_method == "BRR":
        if scale is not None:
            _warn("replicate_method='BRR' does not use scale=; 1/R is used", GbvstatsWarning)
        scale = 1.0 / nrep
    elif replicate_method == "Fay":
        scale = 1.0 / (nrep * (1 - float(rho)) ** 2)
    elif replicate_method == "bootstrap":
        if scale is None:
            scale = 1.0 / (nrep - 1)
    elif replicate_method == "JK1" and scale is None:
        if not combined_weights:
            scale = 1.0 / float(np.max(rep[:, 0]))
            _warn("scale (n-1)/n not given: guessed from the weights", GbvstatsWarning)
        else:
            scale = (nrep - 1) / nrep
            _warn(
                "scale (n-1)/n not given: guessing n = number of replicates", GbvstatsWarning)
    elif replicate_method == "JKn" and rs_arr is None:
        if not combined_weights:
            rs_arr = 1.0 / np.max(rep, axis=0)
            _warn("rscales (n-1)/n not given: guessed from the weights", GbvstatsWarning)
        else:
            raise SpecError(
                "replicate_method='JKn' with combined weights needs rscales ((n_h-1)/n_h for each "
                "replicate's stratum)"
            )
    elif replicate_method == "other" and (scale is None or rs_arr is None):
        _warn("scale or rscales not given for 'other' replicates: set to 1", GbvstatsWarning)
    if scale is None:
        scale = 1.0
    if rs_arr is None:
        rs_arr = np.ones(nrep)
    elif rs_arr.size == 1:
        rs_arr = np.full(nrep, rs_arr[0])
    combined = rep if combined_weights else rep * w[:, None]
    return ReplicateWeights(
        combined,
        scale=float(scale),
        rscales=rs_arr,
        method=replicate_method,
        rho=(float(rho) if replicate_method == "Fay" else (0.0 if replicate_method == "BRR" else None)),
        mse=mse,
    )
