"""Errors and warnings raised by gbvstats.

The hierarchy::

    GbvstatsError
    ├── SpecError         (also ValueError)  a spec, schema, plan or argument is wrong
    ├── DataError         (also ValueError)  the data break a rule (bad weights, codes, duplicates ...)
    │   └── ReadError     (also OSError)     a file is missing, unreadable or of an unknown format
    ├── DesignError       (also ValueError)  the survey design cannot support the request
    ├── DisclosureError   (also ValueError)  an output would not be safe to release
    └── KeyMissingError   (also LookupError) no pseudonymisation key was given at run time

    GbvstatsWarning (UserWarning)            legal but risky input
    └── ExclusionWarning                     rows were excluded (always counted and reported too)

Every message names the file, the column, up to ten row numbers with the count, and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "GbvstatsError",
    "SpecError",
    "DataError",
    "ReadError",
    "DesignError",
    "DisclosureError",
    "KeyMissingError",
    "GbvstatsWarning",
    "ExclusionWarning",
    "format_rows",
    "close_matches",
    "warn",
]


class GbvstatsError(Exception):
    """Base class of every error gbvstats raises on purpose.

    Catch it to handle any gbvstats error while letting programming errors through.

    Examples
    --------
    >>> import gbvstats as gs
    >>> try:
    ...     gs.read_survey("surveys/example/no_such_file.sav", spec="surveys/example/survey.toml")
    ... except gs.GbvstatsError as exc:
    ...     print(type(exc).__name__)
    ReadError
    """


class SpecError(GbvstatsError, ValueError):
    """A spec, schema, table plan or argument is invalid."""


class DataError(GbvstatsError, ValueError):
    """The data break a rule the analysis depends on."""


class ReadError(DataError, OSError):
    """A file is missing, unreadable or in a format gbvstats does not read."""


class DesignError(GbvstatsError, ValueError):
    """The survey design cannot support the requested estimate."""


class DisclosureError(GbvstatsError, ValueError):
    """An output would not meet the disclosure rules."""


class KeyMissingError(GbvstatsError, LookupError):
    """A pseudonymisation key was needed but none was given at run time."""


class GbvstatsWarning(UserWarning):
    """Legal but risky input."""


class ExclusionWarning(GbvstatsWarning):
    """Rows were excluded from an analysis; the count is also in the result's report."""


def format_rows(rows: Iterable[int], *, limit: int = 10, base: int = 1, noun: str = "row",
                total: bool = True) -> str:
    """Describe row positions for an error message: ``"rows 3, 8, 11 (3 in all)"``.

    ``rows`` are 0-based positions; they are shown ``base``-based (1 = the first data row),
    at most ``limit`` of them, with the total count.

    Parameters
    ----------
    rows : iterable of int
        0-based row positions, in the order they should be listed.
    limit : int, default 10
        Most row numbers shown; the total count is always given.
    base : int, default 1
        Number added to each position for display (1: the first data row is "row 1";
        2: a spreadsheet row whose line 1 holds the header).
    noun : str, default "row"
        What a position is called (``"line"`` for a line of a text file); pluralised with "s".
    total : bool, default True
        Always give the total count; with False it is given only when some positions are not shown.

    Returns
    -------
    str
        ``"row 4 (1 in all)"``, ``"rows 1, 5 (2 in all)"`` or, above ``limit``,
        ``"rows 1, 2, 3, … (25 in all)"``.

    Examples
    --------
    >>> format_rows([3])
    'row 4 (1 in all)'
    >>> format_rows([0, 4, 9], base=2)
    'rows 2, 6, 11 (3 in all)'
    >>> format_rows(range(25), limit=3)
    'rows 1, 2, 3, … (25 in all)'
    """
    rows = list(rows)
    n = len(rows)
    shown = ", ".join(str(int(r) + base) for r in rows[:limit])
    more = f", … ({n} in all)" if n > limit else (f" ({n} in all)" if total else "")
    word = noun if n == 1 else noun + "s"
    return f"{word} {shown}{more}"


def close_matches(name: str, options: Sequence[str], n: int = 3) -> str:
    """A ``"; did you mean 'a', 'b'?"`` suffix listing close matches of ``name`` (or '').

    Matching ignores case (:func:`difflib.get_close_matches`, cutoff 0.6), so a message can
    append the result unconditionally.

    Parameters
    ----------
    name : str
        The unknown name the user gave.
    options : sequence of str
        The valid names.
    n : int, default 3
        Most suggestions listed.

    Returns
    -------
    str
        The suffix, or ``""`` when nothing is close.

    Examples
    --------
    >>> columns = ["weight", "stratum", "commune", "province"]
    >>> "no column 'Wieght'" + close_matches("Wieght", columns)
    "no column 'Wieght'; did you mean 'weight'?"
    >>> close_matches("age_group", columns)
    ''
    """
    import difflib

    options = [str(o) for o in options]
    lowered = {o.lower(): o for o in options}
    hits = difflib.get_close_matches(str(name).lower(), list(lowered), n=n, cutoff=0.6)
    if not hits:
        return ""
    return "; did you mean " + ", ".join(repr(lowered[h]) for h in hits) + "?"


def warn(message: str, category: type[Warning] = None) -> None:
    """Issue a warning attributed to the caller's code, not to a line inside gbvstats.

    The reported location is the first frame outside the ``gbvstats`` package, however deep the call
    chain (``Survey.proportion`` → ``Design.proportion`` → ...), so ``warnings.filterwarnings`` by
    module and the printed ``file:line`` point at the user's own call.

    Parameters
    ----------
    message : str
    category : Warning subclass, default GbvstatsWarning

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("3 row(s) left out", ExclusionWarning)
    >>> caught[0].category.__name__, str(caught[0].message)
    ('ExclusionWarning', '3 row(s) left out')
    >>> caught[0].filename.endswith("errors.py")
    False
    """
    import os
    import sys
    import warnings

    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category or GbvstatsWarning, stacklevel=level + 1)
