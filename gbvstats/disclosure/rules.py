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
    """What a rule may look at (built by :mod:`gbvstats.disclosure.tables`), one entry per cell.

    The cells are every cell of the table: the detailed cells and all totals and sub-totals, in
    the order of :attr:`ProtectedTable.frame <gbvstats.disclosure.ProtectedTable.frame>`. For a
    count table (no contributions) every case contributes 1, so ``frequency`` is the count and
    ``top`` holds a 1 for each case up to its width (a count of 1 gives ``[1, 0]``).

    Attributes
    ----------
    value : numpy.ndarray
        Cell value (count or magnitude), shape ``(cells,)``.
    frequency : numpy.ndarray
        Unweighted number of cases / contributors, shape ``(cells,)``.
    top : numpy.ndarray
        The largest contributions of each cell, descending and zero-padded, shape ``(cells, K)``
        with ``K >= 2`` (``K >= n`` when a ``Dominance(n, k)`` rule is in use).

    Examples
    --------
    A rule only needs these attributes, so a plain namespace stands in for the table's
    statistics when trying a rule out:

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> stats = SimpleNamespace(value=np.array([20., 3.]), frequency=np.array([20, 3]),
    ...                         top=np.array([[1., 1.], [1., 1.]]))
    >>> MinFrequency(5).flag(stats).tolist(), PPercent(10).flag(stats).tolist()
    ([False, True], [False, False])
    """

    value: np.ndarray  #: cell value (count or magnitude)
    frequency: np.ndarray  #: unweighted number of cases / contributors
    top: np.ndarray  #: (cells, K) largest contributions, descending, zero-padded

    def row_total(self, dim: str) -> np.ndarray:
        """Value of the cell's parent along ``dim`` (NaN where the cell is the root of ``dim``).

        Parameters
        ----------
        dim : str
            A dimension of the table (a key of ``dims`` in
            :func:`~gbvstats.disclosure.protect_table`).

        Returns
        -------
        numpy.ndarray
            One value per cell: the value of the cell one level up along ``dim`` (the other
            dimensions unchanged), e.g. the district total for a district × type cell.

        Raises
        ------
        SpecError
            If ``dim`` is not a dimension of the table.

        Examples
        --------
        :class:`GroupDisclosure` compares each cell with its parent; a stand-in with the
        parents' values shows what it receives:

        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> stats = SimpleNamespace(value=np.array([15., 12., 3.]),
        ...                         row_total=lambda dim: np.array([np.nan, 15., 15.]))
        >>> stats.row_total("type").tolist()
        [nan, 15.0, 15.0]
        >>> GroupDisclosure("type", share=0.8).flag(stats).tolist()
        [False, True, False]
        """


class Rule(Protocol):
    """What a primary suppression rule is: any object with ``flag(stats)`` and ``reason``.

    The built-in rules (:class:`MinFrequency`, :class:`Dominance`, :class:`PPercent`,
    :class:`GroupDisclosure`) are frozen dataclasses; a project may add its own rule the same way.
    Structural zeros are never flagged, whatever a rule returns; a cell flagged by several
    rules lists every reason.
    Make it a frozen dataclass too, so that its ``repr`` is the full specification stored in a
    publication manifest.

    Examples
    --------
    A custom rule (suppress a type that makes up more than ``share`` of its district), used
    like a built-in one:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from dataclasses import dataclass
    >>> from gbvstats.disclosure import protect_table
    >>> @dataclass(frozen=True)
    ... class MajorityShare:
    ...     share: float = 0.75
    ...     @property
    ...     def reason(self):
    ...         return f"one type > {self.share:.0%} of its district"
    ...     def flag(self, stats):
    ...         total = np.nan_to_num(stats.row_total("type"), nan=np.inf)
    ...         return stats.value > self.share * total
    >>> counts = pd.DataFrame({"district": ["A", "A", "B", "B", "C", "C"],
    ...                        "type": ["physical", "sexual"] * 3, "value": [12, 3, 9, 8, 15, 11]})
    >>> t = protect_table(counts, {"district": ["A", "B", "C"], "type": ["physical", "sexual"]},
    ...                   primary=[MajorityShare(0.75)])
    >>> t.frame.query("status == 'primary'")[["district", "type", "reason"]]
      district      type                          reason
    4        A  physical  one type > 75% of its district
    """

    def flag(self, stats: CellStats) -> np.ndarray:
        """Return a boolean array, one entry per cell: True where the cell is sensitive.

        Parameters
        ----------
        stats : CellStats
            The table's per-cell statistics.

        Returns
        -------
        numpy.ndarray of bool

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> rule: Rule = MinFrequency(10)
        >>> rule.flag(SimpleNamespace(frequency=np.array([4, 10, 25]))).tolist()
        [True, False, False]
        """
        ...

    @property
    def reason(self) -> str:
        """Why a flagged cell is sensitive, shown in the table's ``reason`` column."""
        ...


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
        """The reason shown for a flagged cell, e.g. ``'frequency < 5'``."""
        return f"frequency < {self.threshold}" + (" (zeros included)" if self.zeros else "")

    def flag(self, stats) -> np.ndarray:
        """Flag cells with ``0 < frequency < threshold`` (``0 <= frequency`` with ``zeros=True``).

        Parameters
        ----------
        stats : CellStats
            Only ``stats.frequency`` is used.

        Returns
        -------
        numpy.ndarray of bool
            True where the cell is sensitive.

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> rule = MinFrequency(10, zeros=True)
        >>> rule.flag(SimpleNamespace(frequency=np.array([0, 9, 10]))).tolist()
        [True, True, False]
        >>> rule.reason
        'frequency < 10 (zeros included)'
        """
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
        """The reason shown for a flagged cell, e.g. ``'dominance (1, 85)'``."""
        return f"dominance ({self.n}, {self.k:g})"

    def flag(self, stats) -> np.ndarray:
        """Flag cells with a positive value whose ``n`` largest contributions exceed ``k`` % of it.

        Parameters
        ----------
        stats : CellStats
            ``stats.value`` and the first ``n`` columns of ``stats.top`` are used.

        Returns
        -------
        numpy.ndarray of bool
            True where ``sum(top[:, :n]) > k/100 * value``.

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> stats = SimpleNamespace(value=np.array([200., 200.]),
        ...                         top=np.array([[150., 40.], [80., 70.]]))
        >>> rule = Dominance(n=2, k=90)
        >>> rule.flag(stats).tolist(), rule.reason
        ([True, False], 'dominance (2, 90)')
        """
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
        """The reason shown for a flagged cell, e.g. ``'p% rule (p = 10)'``."""
        return f"p% rule (p = {self.p:g})"

    def flag(self, stats) -> np.ndarray:
        """Flag cells with a positive value where ``value - x1 - x2 < p/100 * x1``.

        Parameters
        ----------
        stats : CellStats
            ``stats.value`` and the two largest contributions ``stats.top[:, :2]`` are used.

        Returns
        -------
        numpy.ndarray of bool
            True where the second largest contributor could estimate the largest within p %.

        Examples
        --------
        In a count table every case contributes 1, so the p % rule flags counts of 1 and 2:

        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> stats = SimpleNamespace(value=np.array([1., 2., 3.]),
        ...                         top=np.array([[1., 0.], [1., 1.], [1., 1.]]))
        >>> PPercent(10).flag(stats).tolist()
        [True, True, False]
        """
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
        """The reason shown for a flagged cell, naming ``dim`` and ``share``."""
        pct = f"{self.share * 100:g}%"
        return f"group disclosure along {self.dim} (one category ≥ {pct} of its group)"

    def flag(self, stats) -> np.ndarray:
        """Flag cells holding at least ``share`` of a positive parent along ``dim``.

        Parameters
        ----------
        stats : CellStats
            ``stats.value`` and ``stats.row_total(dim)`` are used.

        Returns
        -------
        numpy.ndarray of bool
            True where ``value >= share * parent`` and ``parent > 0``.

        Examples
        --------
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> stats = SimpleNamespace(value=np.array([10., 9., 1.]),
        ...                         row_total=lambda dim: np.array([np.nan, 10., 10.]))
        >>> rule = GroupDisclosure("type", share=0.9)
        >>> rule.flag(stats).tolist()
        [False, True, False]
        >>> rule.reason
        'group disclosure along type (one category ≥ 90% of its group)'
        """
        v = np.asarray(stats.value, dtype=float)
        total = np.asarray(stats.row_total(self.dim), dtype=float)
        with np.errstate(invalid="ignore"):
            return (np.nan_to_num(total, nan=0.0) > 0) & (v >= self.share * total - 1e-9)
