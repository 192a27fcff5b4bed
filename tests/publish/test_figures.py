"""Figures say why an estimate is missing, and are the same bytes however often they are saved."""

import numpy as np
import pandas as pd

from gbvstats import figures


def _frame(n):
    return pd.DataFrame({"locality": ["A", "B"], "estimate": [0.3, np.nan], "ci_low": [0.25, np.nan],
                         "ci_high": [0.35, np.nan], "target": [0.5, 0.5], "verdict": ["not met", "no estimate"],
                         "n": [300, n]})


def test_missing_estimate_reason_follows_n():
    few = [t.get_text() for t in figures.progress_figure(_frame(12), label="locality").axes[0].texts]
    hidden = [t.get_text() for t in figures.progress_figure(_frame(99), label="locality").axes[0].texts]
    assert any("fewer than 25" in t for t in few)
    assert not any("fewer than 25" in t for t in hidden) and any("not shown" in t for t in hidden)
    xl = figures.forest_figure(_frame(99), label="locality").axes[0].get_xlabel()
    assert "fewer than 25" not in xl and "1 localities without a reliable estimate" in xl


def test_saving_order_does_not_change_the_bytes():
    svg_alone = figures.to_bytes(figures.forest_figure(_frame(12), label="locality"), "svg")
    fig = figures.forest_figure(_frame(12), label="locality")
    figures.to_bytes(fig, "png")
    assert figures.to_bytes(fig, "svg") == svg_alone
    assert figures.to_bytes(fig, "svg") == svg_alone
