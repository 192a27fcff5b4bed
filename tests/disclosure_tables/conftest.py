"""An audit written for the tests only: it shares no code with gbvstats.disclosure.

From the published frame and the hierarchies it writes every additivity equation by plain
Python loops, then solves min and max of every suppressed cell with scipy's HiGHS.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog


def tree(spec):
    """(parent -> children dict, all nodes) of a dims entry (list or dict)."""
    if isinstance(spec, dict):
        children = {str(k): [str(c) for c in v] for k, v in spec.items()}
    else:
        children = {"Total": [str(c) for c in spec]}
    nodes = set(children)
    for v in children.values():
        nodes.update(v)
    return children, sorted(nodes)


def intervals(frame, dims):
    """{cell key: (low, high)} for every suppressed cell of ``frame`` (value NaN)."""
    names = list(dims)
    trees = {d: tree(dims[d]) for d in names}
    cells = {tuple(str(x) for x in row[:-1]): row[-1]
             for row in frame[names + ["value"]].itertuples(index=False, name=None)}
    unknown = sorted(k for k, v in cells.items() if np.isnan(v))
    col = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for k, d in enumerate(names):
        children, _ = trees[d]
        others = [trees[o][1] for o in names if o != d]
        for parent, kids in children.items():
            for combo in itertools.product(*others):
                def key(node):
                    out = list(combo)
                    out.insert(k, node)
                    return tuple(out)
                coefs = [(key(parent), 1.0)] + [(key(c), -1.0) for c in kids]
                row = np.zeros(len(unknown))
                b = 0.0
                for cell, s in coefs:
                    if cell in col:
                        row[col[cell]] += s
                    else:
                        b -= s * cells[cell]
                if np.any(row != 0):
                    rows.append(row)
                    rhs.append(b)
                elif abs(b) > 1e-6:
                    raise AssertionError(f"published cells are not additive at {coefs}")
    out = {}
    if not unknown:
        return out
    A = np.array(rows) if rows else None
    b = np.array(rhs) if rows else None
    for cell, i in col.items():
        c = np.zeros(len(unknown))
        c[i] = 1.0
        lo = linprog(c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=A, b_eq=b, bounds=(0, None), method="highs")
        assert lo.status == 0, lo.message
        high = np.inf if hi.status == 3 else -hi.fun
        out[cell] = (lo.fun, high)
    return out


def truth(counts, dims, frame):
    """True value of every cell of ``frame``: sums of detailed input cells under it (loops)."""
    names = list(dims)
    trees = {d: tree(dims[d]) for d in names}

    def leaves(d, node):
        children = trees[d][0]
        if node not in children:
            return {node}
        out = set()
        for c in children[node]:
            out |= leaves(d, c)
        return out

    detail = {tuple(str(x) for x in r[:-1]): r[-1]
              for r in counts[names + ["value"]].itertuples(index=False, name=None)}
    out = []
    for key in frame[names].itertuples(index=False, name=None):
        sets = [leaves(d, str(k)) for d, k in zip(names, key)]
        out.append(sum(v for k, v in detail.items() if all(x in s for x, s in zip(k, sets))))
    return np.array(out, dtype=float)


import pytest  # noqa: E402
from hypothesis import Phase, settings  # noqa: E402

# HYPOTHESIS_PROFILE=dev: no shrinking (fast feedback while developing)
settings.register_profile("dev", phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.fixture
def independent_intervals():
    return intervals


@pytest.fixture
def true_values():
    return truth
