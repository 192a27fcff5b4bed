"""Primary suppression rules for count and magnitude tables.

A rule looks at every cell of a table (detailed cells *and* all totals) and says which cells are
sensitive, i.e. must not be published. The rules are frozen dataclasses so that they can be stored
in a table plan and in a publication manifest (``repr`` is the full specification).

=================  ================================================================================
rule               a cell is sensitive when ...
=================  ================================================================================
MinFrequency(t)    0 < frequency < t (frequency = unweighted number of cases / contributors);
                   with ``zeros=True`` also frequency == 0
Dominance(n, k)    the n largest contributions make up more than k % of the cell's value
PPercent(p)        value − largest − second largest < p % of the largest contribution (the second
                   largest contributor could estimate the largest within p %)
GroupDisclosure    one cell holds (at least ``share`` of) a whole row along ``dim``: everyone in the
                   group has the same attribute (a 100 % share; the other cells are 0 %)
=================  ================================================================================

For **count tables** (no contributions given) every case contributes 1, so the frequency is the
count, the largest contribution is 1 (if the count is at least 1) and the second largest is 1 (if the
count is at least 2). Dominance(1, 85) then flags counts of 1, and PPercent(10) flags counts of 1 and 2.

References: Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4.2 (sensitivity
rules); τ-ARGUS manual 4.2, section 3.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import SpecError

__all__ = ["MinFrequency", "Dominance", "PPercent", "GroupDisclosure", "Rule", "CellStats"]


class CellStats(Protocol):
    """What a rule may look at (built by :mod:`gbvstats.disclosure.tables`), one entry per cell."""

    value: np.ndarray  #: cell value (count or magnitude)
    frequency: np.ndarray  #: unweighted number of cases / contributors
    top: np.ndarray  #: (cells, K) largest contributions, descending, zero-padded

    def row_total(self, dim: str) -> np.ndarray:
        """Value of the cell's parent along ``dim`` (NaN where the cell is the root of ``dim``)."""


class Rule(Protocol):
    def flag(self, stats: CellStats) -> np.ndarray: ...

    @property
    def reason(self) -> str: ...


def _check_number(name: str, value, low: float, high: float | None = None, *, integer=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value) == int(value)
    if ok:
        ok = value >= low and (high is None or value <= high)
    if not ok:
        upper = "" if high is None else f" and at most {high}"
        kind = "an integer" if integer else "a number"
        raise SpecError(f"{name} must be {kind} at least {low}{upper}; got {value!r}")


@dataclass(frozen=True)
class MinFrequency:
    """Minimum frequency: a cell with fewer than ``threshold`` cases is sensitive.

    Parameters
    ----------
    threshold : int
        Smallest publishable frequency (gbvstats' defaults: 10 for administrative case counts,
        5 for unweighted survey counts).
    zeros : bool
        Also treat empty cells (frequency 0) as sensitive. Off by default: an empty cell reveals
        nothing about a person, but it does say that nobody in the group has the attribute.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> stats = SimpleNamespace(frequency=np.array([0, 3, 5, 12]))
    >>> MinFrequency(5).flag(stats).tolist()
    [False, True, False, False]
    >>> MinFrequency(5, zeros=True).flag(stats).tolist()
    [True, True, False, False]
    """

    threshold: int = 5
    zeros: bool = False

    def __post_init__(self):
        _check_number("MinFrequency threshold", self.threshold, 1, integer=True)

    @property
    def reason(self) -> str:
        return f"frequency < {self.threshold}" + (" (zeros included)" if self.zeros else "")

    def flag(self, stats) -> np.ndarray:
        f = np.asarray(stats.frequency)
        low = 0 if self.zeros else 1
        return (f >= low) & (f < self.threshold)


@dataclass(frozen=True)
class Dominance:
    """(n, k) dominance: the ``n`` largest contributions exceed ``k`` % of the cell value.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> stats = SimpleNamespace(value=np.array([100., 100.]), top=np.array([[90., 5.], [50., 40.]]))
    >>> Dominance(n=1, k=85).flag(stats).tolist()
    [True, False]
    >>> Dominance(n=2, k=85).flag(stats).tolist()
    [True, True]
    """

    n: int = 1
    k: float = 85.0

    def __post_init__(self):
        _check_number("Dominance n", self.n, 1, integer=True)
        _check_number("Dominance k", self.k, 0, 100)

    @property
    def reason(self) -> str:
        return f"dominance ({self.n}, {self.k:g})"

    def flag(self, stats) -> np.ndarray:
        v = np.asarray(stats.value, dtype=float)
        top = np.asarray(stats.top, dtype=float)
        largest = top[:, : self.n].sum(axis=1)
        return (v > 0) & (largest > self.k / 100.0 * v)


@dataclass(frozen=True)
class PPercent:
    """p % rule: the second largest contributor could estimate the largest within ``p`` %.

    Sensitive when ``value - x1 - x2 < p/100 * x1`` (x1, x2 the two largest contributions).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> stats = SimpleNamespace(value=np.array([100., 100.]), top=np.array([[60., 35.], [40., 30.]]))
    >>> PPercent(10).flag(stats).tolist()
    [True, False]
    """

    p: float = 10.0

    def __post_init__(self):
        _check_number("PPercent p", self.p, 0, 100)

    @property
    def reason(self) -> str:
        return f"p% rule (p = {self.p:g})"

    def flag(self, stats) -> np.ndarray:
        v = np.asarray(stats.value, dtype=float)
        top = np.asarray(stats.top, dtype=float)
        x1 = top[:, 0]
        x2 = top[:, 1] if top.shape[1] > 1 else np.zeros_like(x1)
        return (v > 0) & (v - x1 - x2 < self.p / 100.0 * x1 - 1e-9)


@dataclass(frozen=True)
class GroupDisclosure:
    """Group (attribute) disclosure along ``dim``: one category holds the whole group.

    For every group (a cell at the next level up along ``dim``, e.g. a district's total over GBV
    types) with a positive value, a category cell holding at least ``share`` of it is sensitive:
    publishing it with the group total says that everyone in the group has that attribute
    (a 100 % share, every other category 0 %).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> stats = SimpleNamespace(value=np.array([7., 7., 0., 9., 4., 5.]),
    ...     row_total=lambda dim: np.array([np.nan, 7., 7., np.nan, 9., 9.]))
    >>> GroupDisclosure("gbv_type").flag(stats).tolist()
    [False, True, False, False, False, False]
    """

    dim: str
    share: float = 1.0

    def __post_init__(self):
        if not isinstance(self.dim, str) or not self.dim:
            raise SpecError(f"GroupDisclosure dim must be a dimension name; got {self.dim!r}")
        _check_number("GroupDisclosure share", self.share, 0.5, 1.0)

    @property
    def reason(self) -> str:
        pct = f"{self.share * 100:g}%"
        return f"group disclosure along {self.dim} (one category ≥ {pct} of its group)"

    def flag(self, stats) -> np.ndarray:
        v = np.asarray(stats.value, dtype=float)
        total = np.asarray(stats.row_total(self.dim), dtype=float)
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num(total, nan=0.0) > 0) & (v >= self.share * total - 1e-9)
