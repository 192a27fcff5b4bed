"""Figures for publication: progress toward targets, a forest plot of localities, a trend with projection.

matplotlib is imported inside the functions (``import gbvstats`` stays light) and only its object API is
used (``Figure`` + the Agg canvas): no pyplot, no global state changed in the user's session. Output bytes
are deterministic: PNG without ``Software`` metadata, SVG without date/creator, with a fixed
``svg.hashsalt`` and text as paths.

Examples
--------
>>> import pandas as pd
>>> from gbvstats import figures
>>> f = pd.DataFrame({"locality": ["A", "B"], "estimate": [0.2, 0.55], "ci_low": [0.15, 0.5],
...                   "ci_high": [0.25, 0.6], "target": [0.5, 0.5], "verdict": ["not met", "met"]})
>>> fig = figures.progress_figure(f, label="locality", title="Help-seeking")
>>> figures.to_bytes(fig, "svg") == figures.to_bytes(figures.progress_figure(f, label="locality", title="Help-seeking"), "svg")
True
"""

from __future__ import annotations

import io
from typing import Literal, get_args

import numpy as np
import pandas as pd

from .errors import SpecError

__all__ = ["progress_figure", "forest_figure", "trend_figure", "to_bytes", "FORMATS"]

Format = Literal["png", "svg"]
FORMATS = get_args(Format)

VERDICT_COLOURS = {"met": "#1b7837", "not met": "#b2182b", "cannot tell": "#d08c00"}
VERDICT_LEGEND = {"met": "Đạt / met", "not met": "Chưa đạt / not met", "cannot tell": "Chưa kết luận được / cannot tell yet"}
NEUTRAL = "#2b5d8a"
_RC = {
    "svg.hashsalt": "gbvstats",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)


def _wrap(title: str, width: int = 80) -> str:
    """Long (bilingual) titles wrapped line by line so they stay inside the figure."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in title.split("\n"))


def _percent_axis(ax, axis: str = "x") -> None:
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=0))


def _need(frame: pd.DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise SpecError(f"{what}: the frame has no column(s) {', '.join(map(repr, missing))}")


_FEW = "* dưới 25 trường hợp, không công bố / fewer than 25 cases, not shown"
_HIDDEN = "* không có ước lượng đủ tin cậy / no reliable estimate, not shown"


def _few_cases(f: pd.DataFrame) -> np.ndarray:
    """Rows known to rest on fewer than 25 unweighted cases (an ``n`` column); others lack an estimate
    for another reason (suppressed as unreliable, or none), and the figure must not say otherwise."""
    if "n" not in f.columns:
        return np.zeros(len(f), bool)
    n = pd.to_numeric(f["n"], errors="coerce").to_numpy(float)
    return np.nan_to_num(n, nan=np.inf) < 25


def progress_figure(frame: pd.DataFrame, *, label: str, title: str = "", xlabel: str = "Tỷ lệ / Percent"):
    """Each locality's estimate with its CI against its target, coloured by verdict.

    ``frame`` columns: ``label``, ``estimate``, ``ci_low``, ``ci_high``, ``target``, ``verdict``. Rows whose
    estimate is missing (suppressed or unreliable) are listed but not drawn.

    Parameters
    ----------
    frame : DataFrame
        One row per locality, top to bottom; e.g. ``gbvstats.assess(...).frame``. Verdicts
        ``met``, ``not met`` and ``cannot tell`` are coloured; others are drawn in a neutral colour.
    label : str
        The column naming each row.
    title, xlabel : str
        Titles (bilingual by convention, ``"vi / en"``).

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot; save it with :func:`to_bytes`.

    Raises
    ------
    SpecError
        If a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang", "Cần Thơ"],
    ...     "estimate": [0.18, 0.55, None, 0.31], "ci_low": [0.13, 0.47, None, 0.24],
    ...     "ci_high": [0.24, 0.63, None, 0.39], "target": [0.5, 0.5, 0.5, 0.5],
    ...     "verdict": ["not met", "met", "no estimate", "cannot tell"], "n": [310, 254, 12, 249]})
    >>> fig = progress_figure(frame, label="province", title="Help-seeking / Tìm kiếm trợ giúp")
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Hà Tĩnh', 'Quảng Nam', 'Kiên Giang', 'Cần Thơ']
    >>> ax.get_legend_handles_labels()[1]
    ['Chỉ tiêu / target', 'Đạt / met', 'Chưa đạt / not met', 'Chưa kết luận được / cannot tell yet']
    >>> [t.get_text() for t in ax.texts]
    ['* dưới 25 trường hợp, không công bố / fewer than 25 cases, not shown']
    """
    _need(frame, [label, "estimate", "ci_low", "ci_high", "target", "verdict"], "progress_figure")
    with _rc():
        f = frame.reset_index(drop=True)
        k = len(f)
        fig = _figure(7.5, 1.2 + 0.45 * max(k, 2))
        ax = fig.add_subplot()
        y = np.arange(k)[::-1]
        est = pd.to_numeric(f["estimate"], errors="coerce").to_numpy(float)
        lo = pd.to_numeric(f["ci_low"], errors="coerce").to_numpy(float)
        hi = pd.to_numeric(f["ci_high"], errors="coerce").to_numpy(float)
        tg = pd.to_numeric(f["target"], errors="coerce").to_numpy(float)
        verdicts = f["verdict"].astype(str).to_numpy()
        for v, colour in VERDICT_COLOURS.items():
            m = (verdicts == v) & ~np.isnan(est)
            if m.any():
                ax.errorbar(est[m], y[m], xerr=[est[m] - lo[m], hi[m] - est[m]], fmt="o", color=colour,
                            ecolor=colour, elinewidth=2.2, capsize=4, markersize=7, label=VERDICT_LEGEND[v], zorder=3)
        other = ~np.isin(verdicts, list(VERDICT_COLOURS)) & ~np.isnan(est)
        if other.any():
            ax.errorbar(est[other], y[other], xerr=[est[other] - lo[other], hi[other] - est[other]], fmt="o",
                        color=NEUTRAL, capsize=4, zorder=3)
        mt = ~np.isnan(tg)
        if mt.any():
            ax.scatter(tg[mt], y[mt], marker="|", s=420, linewidths=2.5, color="#222222", zorder=4,
                       label="Chỉ tiêu / target")
        few = _few_cases(f)
        for yi, e, small in zip(y, est, few):
            if np.isnan(e):
                ax.text(0.01, yi, _FEW if small else _HIDDEN, va="center", fontsize=8, color="#666666")
        ax.set_yticks(y, [str(s) for s in f[label]])
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.7, k - 0.3)
        _percent_axis(ax)
        ax.grid(axis="x", color="#dddddd", linewidth=0.8, zorder=0)
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(_wrap(title), loc="left", fontsize=10.5)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.6 / max(k, 2)), ncol=4, frameon=False,
                  fontsize=8)
        return fig


def forest_figure(frame: pd.DataFrame, *, label: str, group: str | None = None, reference: float | None = None,
                  reference_label: str = "", title: str = "", xlabel: str = "Tỷ lệ / Percent",
                  hide_missing: bool = True):
    """Forest plot: one row per locality (e.g. districts grouped by province), estimate and CI.

    Rows with a missing estimate (fewer than 25 cases, or suppressed) are left out and counted under the
    axis (``hide_missing``), or shown as ``*`` without a number.
    ``reference`` draws a vertical line (e.g. the national estimate or the target).

    Parameters
    ----------
    frame : DataFrame
        Columns ``label``, ``estimate``, ``ci_low``, ``ci_high`` (an :attr:`Estimates.frame
        <gbvstats.estimate.Estimates.frame>` works), sorted by ``group`` when one is given.
    label : str
        The column naming each row.
    group : str, optional
        Column whose changes start a new block (a line and the group's name at the right).
    reference : float, optional
        Where to draw the dashed vertical line; ``reference_label`` names it.
    title, xlabel : str
    hide_missing : bool, default True
        Leave out rows without an estimate and say how many under the axis.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If a required column is missing.

    See Also
    --------
    gbvstats.estimate.Estimates.plot : this figure for a set of estimates.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "province": ["Hà Tĩnh", "Quảng Nam", "Kiên Giang", "Cần Thơ"],
    ...     "estimate": [0.18, 0.55, None, 0.31], "ci_low": [0.13, 0.47, None, 0.24],
    ...     "ci_high": [0.24, 0.63, None, 0.39], "target": [0.5, 0.5, 0.5, 0.5],
    ...     "verdict": ["not met", "met", "no estimate", "cannot tell"], "n": [310, 254, 12, 249]})
    >>> fig = forest_figure(frame, label="province", reference=0.3, reference_label="national")
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Hà Tĩnh', 'Quảng Nam', 'Cần Thơ']
    >>> print(ax.get_xlabel())
    Tỷ lệ / Percent
    1 địa phương dưới 25 trường hợp không hiển thị
    1 localities with fewer than 25 cases not shown
    """
    _need(frame, [label, "estimate", "ci_low", "ci_high"], "forest_figure")
    with _rc():
        f = frame.reset_index(drop=True)
        missing = pd.to_numeric(f["estimate"], errors="coerce").isna().to_numpy()
        hidden = int(missing.sum())
        if hide_missing and hidden:
            small = int((missing & _few_cases(f)).sum())
            other = hidden - small
            if small:
                xlabel += (f"\n{small} địa phương dưới 25 trường hợp không hiển thị\n"
                           f"{small} localities with fewer than 25 cases not shown")
            if other:
                xlabel += (f"\n{other} địa phương không có ước lượng đủ tin cậy, không hiển thị\n"
                           f"{other} localities without a reliable estimate not shown")
            f = f[~missing].reset_index(drop=True)
        k = len(f)
        fig = _figure(7.5, 1.6 + 0.26 * max(k, 3))
        ax = fig.add_subplot()
        y = np.arange(k)[::-1].astype(float)
        est = pd.to_numeric(f["estimate"], errors="coerce").to_numpy(float)
        lo = pd.to_numeric(f["ci_low"], errors="coerce").to_numpy(float)
        hi = pd.to_numeric(f["ci_high"], errors="coerce").to_numpy(float)
        ok = ~np.isnan(est)
        ax.hlines(y[ok], lo[ok], hi[ok], color=NEUTRAL, linewidth=1.8, zorder=2)
        ax.plot(est[ok], y[ok], "s", color=NEUTRAL, markersize=5, zorder=3)
        for yi in y[~ok]:
            ax.text(0.005, yi, "*", va="center", fontsize=10, color="#666666")
        labels = [str(s) for s in f[label]]
        if group is not None and group in f.columns:
            groups = f[group].astype(str).to_numpy()
            boundaries = np.flatnonzero(groups[1:] != groups[:-1])
            for b in boundaries:
                ax.axhline(y[b] - 0.5, color="#999999", linewidth=0.6)
            starts = np.r_[0, boundaries + 1]
            for s in starts:
                ax.text(1.0, y[s], groups[s], ha="right", va="center", fontsize=8.5, color="#555555",
                        fontweight="bold", transform=ax.get_yaxis_transform())
        if reference is not None and np.isfinite(reference):
            ax.axvline(reference, color="#444444", linestyle="--", linewidth=1)
            if reference_label:
                ax.text(reference, k - 0.4, f" {reference_label}", fontsize=8, color="#444444", va="bottom")
        ax.set_yticks(y, labels)
        ax.set_ylim(-0.7, k - 0.1)
        upper = np.nanmax(hi) if ok.any() else 1.0
        ax.set_xlim(0, min(1.0, max(0.1, float(upper) * 1.15)))
        _percent_axis(ax)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.8, zorder=0)
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(_wrap(title), loc="left", fontsize=10.5)
        return fig


def trend_figure(rounds: pd.DataFrame, projection=None, *, target: float | None = None,
                 target_year: int | None = None, title: str = "", ylabel: str = "Tỷ lệ / Percent",
                 series: str | None = None):
    """Estimates by survey round with CIs, the fitted logit trend and its interval to the target year,
    and the target.

    ``rounds`` columns: ``year``, ``estimate``, ``ci_low``, ``ci_high`` (and ``series`` to draw several
    localities). ``projection`` is a :class:`gbvstats.targets.Projection` (or a mapping series ->
    Projection).

    Parameters
    ----------
    rounds : DataFrame
        One row per survey round (and series).
    projection : Projection or dict, optional
        From :func:`gbvstats.targets.project`; its fitted curve, interval band and projected value
        (a hollow diamond at the target year) are drawn.
    target : float, optional
        Drawn as a dashed horizontal line, labelled with ``target_year``.
    target_year : int, optional
    title, ylabel : str
    series : str, optional
        Column naming the series (one colour each).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SpecError
        If a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.targets import project
    >>> rounds = pd.DataFrame({"year": [2022, 2023, 2024], "estimate": [0.10, 0.12, 0.14],
    ...                        "ci_low": [0.08, 0.10, 0.12], "ci_high": [0.12, 0.14, 0.16]})
    >>> trend = project(rounds["year"], rounds["estimate"], [0.01, 0.01, 0.01], target_year=2026)
    >>> fig = trend_figure(rounds, trend, target=0.2, target_year=2026,
    ...                    title="Women who sought help / Phụ nữ tìm kiếm trợ giúp")
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['2022', '2023', '2024', '2026']
    >>> round(trend.projected, 3)
    0.193
    """
    _need(rounds, ["year", "estimate", "ci_low", "ci_high"], "trend_figure")
    with _rc():
        fig = _figure(8.5, 4.4)
        ax = fig.add_subplot()
        palette = ["#2b5d8a", "#c05a1a", "#5a8a2b", "#7b3f9e", "#8a6d2b", "#2b8a86"]
        if series and series in rounds.columns:
            keys = list(dict.fromkeys(rounds[series].tolist()))
        else:
            keys = [None]
        projections = projection if isinstance(projection, dict) else {keys[0]: projection}
        for i, key in enumerate(keys):
            colour = palette[i % len(palette)]
            r = rounds if key is None else rounds[rounds[series] == key]
            yr = r["year"].to_numpy(float)
            est = r["estimate"].to_numpy(float)
            off = (i - (len(keys) - 1) / 2) * 0.06
            ax.errorbar(yr + off, est, yerr=[est - r["ci_low"].to_numpy(float), r["ci_high"].to_numpy(float) - est],
                        fmt="o", color=colour, capsize=3, label=str(key) if key is not None else "Ước lượng / estimate")
            pr = projections.get(key)
            if pr is not None:
                grid = np.linspace(min(pr.years), pr.target_year, 60)
                c = pr.curve(grid)
                ax.plot(c["year"], c["fit"], color=colour, linewidth=1.4)
                ax.fill_between(c["year"], c["low"], c["high"], color=colour, alpha=0.15, linewidth=0)
                ax.plot([pr.target_year], [pr.projected], "D", color=colour, markersize=5, markerfacecolor="white")
        if target is not None:
            ax.axhline(target, color="#222222", linestyle="--", linewidth=1.1)
            label = f"Chỉ tiêu / target {100 * target:.0f}%" + (f" ({target_year})" if target_year else "")
            ax.annotate(label, xy=(1.0, target), xycoords=("axes fraction", "data"), xytext=(-4, 3),
                        textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color="#222222")
        years = sorted(set(rounds["year"].astype(int).tolist()) | ({target_year} if target_year else set()))
        ax.set_xticks(years, [str(y) for y in years])
        top = max(float(np.nanmax(rounds["ci_high"].to_numpy(float))), target or 0.0)
        ax.set_ylim(0, min(1.0, top * 1.2 + 0.02))
        _percent_axis(ax, "y")
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("Năm / Year")
        if title:
            ax.set_title(_wrap(title), loc="left", fontsize=10.5)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
        return fig


def to_bytes(fig, fmt: str = "png", *, dpi: int = 150) -> bytes:
    """The figure as PNG or SVG bytes with no timestamp or software metadata (deterministic).

    The same data and arguments give the same bytes, however often and in whatever order a figure is
    saved (a copy is laid out and saved, never the caller's figure).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        From :func:`progress_figure`, :func:`forest_figure` or :func:`trend_figure`.
    fmt : {"png", "svg"}, default "png"
    dpi : int, default 150
        Resolution of a PNG.

    Returns
    -------
    bytes

    Raises
    ------
    SpecError
        If ``fmt`` is not ``"png"`` or ``"svg"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from gbvstats.targets import project
    >>> rounds = pd.DataFrame({"year": [2022, 2023, 2024], "estimate": [0.10, 0.12, 0.14],
    ...                        "ci_low": [0.08, 0.10, 0.12], "ci_high": [0.12, 0.14, 0.16]})
    >>> trend = project(rounds["year"], rounds["estimate"], [0.01, 0.01, 0.01], target_year=2026)
    >>> png = to_bytes(trend_figure(rounds, trend, target=0.2, target_year=2026), dpi=50)
    >>> png[1:4]
    b'PNG'
    >>> png == to_bytes(trend_figure(rounds, trend, target=0.2, target_year=2026), dpi=50)
    True
    >>> to_bytes(trend_figure(rounds), "pdf")
    Traceback (most recent call last):
    ...
    gbvstats.errors.SpecError: fmt = 'pdf' is not one of 'png', 'svg'
    """
    if fmt not in FORMATS:
        raise SpecError(f"fmt = {fmt!r} is not one of {', '.join(map(repr, FORMATS))}")
    import pickle

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # Save a copy: saving runs the layout engine on the figure it saves, so saving the caller's figure
    # twice (PNG then SVG, as publish does) would give bytes that depend on what was saved before.
    fig = pickle.loads(pickle.dumps(fig))
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    with _rc():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=metadata)
    return buf.getvalue()
