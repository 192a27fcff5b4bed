"""Reliability rules for estimates, as data.

A :class:`Rule` is a condition on the columns of an estimate table (an expression of column names,
numbers, comparisons, ``&``, ``|``, ``~`` and arithmetic, evaluated safely on arrays)
and the action taken when it holds; a :class:`RuleSet` is an ordered list of rules. Applying a rule
set fills the ``flag`` column with the most severe action that matched (``suppress`` >
``parentheses`` > ``review`` > ``ok``) and records every matching rule's reason.

Columns a condition may use: ``estimate, se, ci_low, ci_high, level, df, deff, deff_wr, cv, n,
n_eff, n_weighted`` and the derived ``ci_width`` (high - low), ``rel_ci_width`` (width / estimate),
``rel_ci_width_complement`` (width / (1 - estimate)), ``rse`` (= cv) and ``n_eff_capped``
(``min(n_eff, n)``).

Built-in sets:

- ``NCHS`` — NCHS Data Presentation Standards for Proportions (Parker et al. 2017, Vital Health
  Stat 2(175)): suppress if n_eff < 30 (n_eff capped at n) or if the absolute CI width >= 0.30, or
  if 0.05 < width < 0.30 and the relative width > 130%; review if the complement's relative width
  > 130% (the complement rule), if df < 8, or if the estimate is 0% or 100%.
- ``DHS`` — DHS/MICS display: unweighted n < 25 suppressed (shown ``*``), 25-49 in parentheses.
- ``RSE`` — relative standard error: review if RSE >= 30%, suppress if RSE >= 50%.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"estimate": [0.4, 0.4], "se": [0.02, 0.2], "ci_low": [0.36, 0.05],
...                   "ci_high": [0.44, 0.8], "df": [50, 50], "n": [400, 400], "n_eff": [600, 6],
...                   "cv": [0.05, 0.5]})
>>> apply_rules(t, NCHS).flags
('ok', 'suppress')
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .errors import SpecError, close_matches

__all__ = ["Rule", "RuleSet", "Flags", "apply_rules", "get_rules", "NCHS", "DHS", "RSE", "RULE_SETS", "ACTIONS"]

Action = Literal["ok", "review", "parentheses", "suppress"]
ACTIONS: tuple[str, ...] = get_args(Action)
_SEVERITY = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True)
class Rule:
    """One reliability rule: when ``condition`` holds, take ``action``; ``reason`` is the footnote.

    Examples
    --------
    >>> Rule("small_n", "n < 25", "suppress", "fewer than 25 unweighted cases").action
    'suppress'
    """

    name: str
    condition: str
    action: Action
    reason: str

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise SpecError(
                f"unknown rule action {self.action!r}; choose one of: {', '.join(map(repr, ACTIONS))}"
                + close_matches(str(self.action), ACTIONS)
            )


@dataclass(frozen=True)
class RuleSet:
    """An ordered set of rules with a name (shown in table footnotes).

    Every rule is evaluated; a row's flag is the most severe action among the rules that hold, so
    the order only sets the order of the reasons.

    Parameters
    ----------
    name : str
    rules : tuple of Rule
    interval : (str, float), optional
        The interval the rules judge a proportion by, as ``(method, level)``, whatever interval the
        estimate displays (NCHS: ``("korn-graubard-nchs", 0.95)``, as the standard defines its widths).
        None: the displayed interval.

    See Also
    --------
    NCHS, DHS, RSE : the built-in sets (``rules="nchs"``, ``"dhs"``, ``"rse"``).

    Examples
    --------
    A programme's own rule set, stricter on sample size than DHS:

    >>> import pandas as pd
    >>> table = pd.DataFrame({"estimate": [0.21, 0.18, 0.02], "se": [0.014, 0.06, 0.012],
    ...                       "ci_low": [0.18, 0.09, 0.006], "ci_high": [0.24, 0.33, 0.06],
    ...                       "df": [160, 12, 5], "n": [628, 40, 18], "n_eff": [540, 35, 15]})
    >>> programme = RuleSet("programme", (
    ...     Rule("small_n", "n < 50", "suppress", "fewer than 50 unweighted cases"),
    ...     Rule("wide", "ci_width > 0.10", "review", "interval wider than 10 points")))
    >>> apply_rules(table, programme).flags
    ('ok', 'suppress', 'suppress')
    >>> [rule.name for rule in DHS.rules]
    ['dhs_lt25', 'dhs_25_49']
    """

    name: str
    rules: tuple[Rule, ...]
    interval: tuple[str, float] | None = None


@dataclass(frozen=True)
class Flags:
    """Result of applying rules: one flag and the matching reasons per estimate.

    Attributes
    ----------
    flags : tuple of str
        Per row: ``'ok'``, ``'review'``, ``'parentheses'`` or ``'suppress'``.
    reasons : tuple of tuple of str
        Per row: the reason of every rule that held, in rule order.
    rule_set : str
        The name of the rule set applied.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"estimate": [0.21, 0.18, 0.02], "se": [0.014, 0.06, 0.012],
    ...                       "ci_low": [0.18, 0.09, 0.006], "ci_high": [0.24, 0.33, 0.06],
    ...                       "df": [160, 12, 5], "n": [628, 40, 18], "n_eff": [540, 35, 15]})
    >>> flags = apply_rules(table, "dhs")
    >>> flags
    Flags(flags=('ok', 'parentheses', 'suppress'), reasons=((), ('based on 25-49 unweighted cases',), ('fewer than 25 unweighted cases',)), rule_set='DHS')
    """

    flags: tuple[str, ...]
    reasons: tuple[tuple[str, ...], ...]
    rule_set: str


NCHS = RuleSet(
    "NCHS 2017 proportions",
    (
        Rule("nchs_n_eff", "n_eff_capped < 30", "suppress", "effective sample size below 30"),
        Rule("nchs_abs_width", "ci_width >= 0.30", "suppress", "confidence interval 30 percentage points wide or more"),
        Rule(
            "nchs_rel_width",
            "(ci_width > 0.05) & (ci_width < 0.30) & (rel_ci_width > 1.30)",
            "suppress",
            "confidence interval wider than 130% of the estimate",
        ),
        Rule(
            "nchs_complement",
            "(ci_width > 0.05) & (rel_ci_width_complement > 1.30)",
            "review",
            "complement's confidence interval wider than 130% of it",
        ),
        Rule("nchs_df", "df < 8", "review", "fewer than 8 design degrees of freedom"),
        Rule("nchs_zero_full", "(estimate <= 0) | (estimate >= 1)", "review", "estimate is 0% or 100%"),
    ),
    interval=("korn-graubard-nchs", 0.95),  # Parker et al. (2017) define the widths on this interval
)

DHS = RuleSet(
    "DHS",
    (
        Rule("dhs_lt25", "n < 25", "suppress", "fewer than 25 unweighted cases"),
        Rule("dhs_25_49", "(n >= 25) & (n < 50)", "parentheses", "based on 25-49 unweighted cases"),
    ),
)

RSE = RuleSet(
    "relative standard error",
    (
        Rule("rse_30", "(rse >= 0.30) & (rse < 0.50)", "review", "relative standard error 30% or more"),
        Rule("rse_50", "rse >= 0.50", "suppress", "relative standard error 50% or more"),
    ),
)

RULE_SETS: dict[str, RuleSet] = {"nchs": NCHS, "dhs": DHS, "rse": RSE}


def get_rules(rules) -> RuleSet:
    """A RuleSet from a name (``'nchs'``, ``'dhs'``, ``'rse'``), a RuleSet, or a list of Rules.

    Examples
    --------
    >>> get_rules("dhs").name
    'DHS'
    """
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, str):
        key = rules.lower()
        if key not in RULE_SETS:
            raise SpecError(
                f"unknown rule set {rules!r}; choose one of: {', '.join(map(repr, RULE_SETS))}"
                + close_matches(rules, list(RULE_SETS))
            )
        return RULE_SETS[key]
    if isinstance(rules, Rule):
        return RuleSet("user", (rules,))
    try:
        items = tuple(rules)
    except TypeError:
        raise SpecError(f"rules must be a rule-set name, a RuleSet or a list of Rule, got {type(rules).__name__}") from None
    if not all(isinstance(r, Rule) for r in items):
        raise SpecError("rules must be Rule objects (gbvstats.reliability.Rule)")
    return RuleSet("user", items)


_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "level", "df", "deff", "deff_wr", "cv", "n", "n_eff", "n_weighted")


def _derived(frame) -> dict[str, np.ndarray]:
    """Numeric columns of an estimate table (DataFrame or mapping) plus the derived ones."""
    t: dict[str, np.ndarray] = {}
    for c in _COLUMNS:
        if c in frame:
            v = frame[c]
            if isinstance(v, pd.Series):
                v = pd.to_numeric(v, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            t[c] = np.asarray(v, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if "ci_low" in t and "ci_high" in t and "estimate" in t:
            est = t["estimate"]
            t["ci_width"] = t["ci_high"] - t["ci_low"]
            t["rel_ci_width"] = t["ci_width"] / np.abs(est)
            t["rel_ci_width_complement"] = t["ci_width"] / np.abs(1 - est)
        if "cv" not in t and "se" in t and "estimate" in t:
            t["cv"] = t["se"] / np.abs(t["estimate"])
        if "cv" in t:
            t["rse"] = np.abs(t["cv"])
        if "n_eff" in t and "n" in t:
            t["n_eff_capped"] = np.minimum(t["n_eff"], t["n"])
    return t


_BINOPS = {ast.BitAnd: np.logical_and, ast.BitOr: np.logical_or, ast.Add: np.add, ast.Sub: np.subtract,
           ast.Mult: np.multiply, ast.Div: np.divide}
_CMPOPS = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
           ast.Eq: np.equal, ast.NotEq: np.not_equal}


def _evaluate(condition: str, columns: dict[str, np.ndarray]):
    """Evaluate a rule condition safely: names, numbers, comparisons, & | ~ and + - * / only."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Name):
            if node.id not in columns:
                raise SpecError(f"unknown column {node.id!r}" + close_matches(node.id, list(columns)))
            return columns[node.id]
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.BoolOp):
            f = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            out = ev(node.values[0])
            for v in node.values[1:]:
                out = f(out, ev(v))
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Invert, ast.Not)):
            return np.logical_not(ev(node.operand))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            out = None
            for op, comp in zip(node.ops, node.comparators):
                if type(op) not in _CMPOPS:
                    break
                right = ev(comp)
                with np.errstate(invalid="ignore"):
                    r = _CMPOPS[type(op)](left, right)
                out = r if out is None else np.logical_and(out, r)
                left = right
            else:
                return out
        raise SpecError(f"unsupported expression {ast.dump(node)[:60]}")

    return ev(ast.parse(condition, mode="eval"))


def apply_rules(frame, rules) -> Flags:
    """Evaluate a rule set on an estimate table (vectorised over rows).

    Parameters
    ----------
    frame : pandas.DataFrame or mapping of column -> array
    rules : str, RuleSet or list of Rule

    Returns
    -------
    Flags
        The most severe matching action per row (``'ok'`` if none) and the reasons.

    Raises
    ------
    SpecError
        If a condition names an unknown column (the message lists those available) or is not a
        valid condition; if ``rules`` is an unknown set name.

    Notes
    -----
    The conditions see the table's numeric columns plus ``ci_width``, ``rel_ci_width``,
    ``rel_ci_width_complement``, ``rse`` and ``n_eff_capped``. NCHS: Parker J.D. et al. (2017),
    *National Center for Health Statistics Data Presentation Standards for Proportions*, Vital
    Health Stat 2(175).

    Examples
    --------
    The estimates' own ``frame`` already carries a ``flag``; ``apply_rules`` judges any table with
    the same columns:

    >>> import pandas as pd
    >>> table = pd.DataFrame({"estimate": [0.21, 0.18, 0.02], "se": [0.014, 0.06, 0.012],
    ...                       "ci_low": [0.18, 0.09, 0.006], "ci_high": [0.24, 0.33, 0.06],
    ...                       "df": [160, 12, 5], "n": [628, 40, 18], "n_eff": [540, 35, 15]})
    >>> flags = apply_rules(table, "nchs")
    >>> flags.flags
    ('ok', 'suppress', 'suppress')
    >>> for reason in flags.reasons[2]:
    ...     print(reason)
    effective sample size below 30
    confidence interval wider than 130% of the estimate
    fewer than 8 design degrees of freedom
    >>> apply_rules(table, "rse").flags
    ('ok', 'review', 'suppress')
    """
    rs = get_rules(rules)
    t = _derived(frame)
    n = len(next(iter(t.values()))) if t else len(frame)
    severity = np.zeros(n, dtype=np.int64)
    hits = []
    for rule in rs.rules:  # a loop over rules (a handful), never over estimates
        try:
            m = _evaluate(rule.condition, t)
        except SpecError as exc:
            raise SpecError(
                f"reliability rule {rule.name!r}: cannot evaluate {rule.condition!r} ({exc}); "
                f"columns available: {', '.join(t)}"
            ) from None
        except SyntaxError as exc:
            raise SpecError(f"reliability rule {rule.name!r}: {rule.condition!r} is not a valid condition ({exc.msg})") from None
        m = np.broadcast_to(np.asarray(m, dtype=bool), (n,))
        severity = np.where(m, np.maximum(severity, _SEVERITY[rule.action]), severity)
        hits.append(m)
    flags = tuple(np.asarray(ACTIONS, dtype=object)[severity].tolist())
    if hits and n:
        # one reasons tuple per distinct pattern of matching rules (a handful), then indexed per row
        H = np.column_stack(hits)
        patterns, which = np.unique(H, axis=0, return_inverse=True)
        per_pattern = np.empty(len(patterns), dtype=object)
        per_pattern[:] = [tuple(r.reason for r, h in zip(rs.rules, row) if h) for row in patterns.tolist()]
        reasons = tuple(per_pattern[np.asarray(which).reshape(-1)].tolist())
    else:
        reasons = tuple(() for _ in range(n))
    return Flags(flags=flags, reasons=reasons, rule_set=rs.name)
