"""Table plan → tables + figures + ``manifest.json``, reproducibly; and the check CI runs.

A table plan (TOML, see ``surveys/example/plan.toml``) names the inputs (survey rounds and their spec, case
records and their schema, extra indicators or targets) and lists the tables and figures to publish.
:func:`publish` builds every output in memory, writes them into a temporary folder beside ``out`` (each
file through a temporary file and ``os.replace``) and only then swaps that folder in: an interrupted run
leaves the previous publication untouched. :func:`check` regenerates into a temporary folder and lists
the files that differ from a published folder.

Same inputs → byte-identical outputs: no timestamps anywhere (XLSX dates and zip entries fixed, PNG/SVG
metadata removed), rows in a fixed order, numbers formatted with fixed decimals.

What the outputs never contain: identifiers (case records are linked with a run-time key and the
identifying fields dropped before any count; a survey's respondent ids are never read into a table), the
value of a cell suppressed by disclosure control (``x``/``xx``), or a survey estimate on fewer than 25
unweighted cases (``*``).

Examples
--------
>>> import gbvstats as gs
>>> result = gs.publish("surveys/example/plan.toml", out="published")      # doctest: +SKIP
>>> gs.publish("surveys/example/plan.toml", out="published", check=True).ok  # doctest: +SKIP
True
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from .errors import ExclusionWarning, ReadError, SpecError, close_matches

__all__ = ["Plan", "load_plan", "publish", "check", "build", "PublishResult", "CheckResult"]

TABLE_TYPES = ("profile", "estimates", "categorical", "multiple", "tracker", "cases", "cases_tracker", "sample_size")
FIGURE_TYPES = ("progress", "forest", "trend")
TABLE_FORMATS = ("csv", "xlsx", "md", "html")
FIGURE_FORMATS = ("png", "svg")
ALL_LABEL = {"vi": "Tất cả", "en": "All"}
WHOLE_PROVINCE = {"vi": "Toàn tỉnh", "en": "Whole province"}


# ============================================================================================ plan

@dataclass(frozen=True)
class Plan:
    """A parsed table plan. Paths are resolved relative to the plan's folder.

    Made by :func:`load_plan` (the plan format is described in ``docs/publish.md``; the example
    is ``surveys/example/plan.toml``).

    Attributes
    ----------
    path : Path
        The plan file.
    title : mapping
        ``{"vi": ..., "en": ...}`` title of the publication.
    id : str
        Publication id (default: the plan file's name).
    formats, figure_formats : tuple of str
        Table formats (``csv``, ``xlsx``, ``md``, ``html``) and figure formats (``png``, ``svg``).
    level : float
        Confidence level of every interval.
    lang : {"vi", "en", "both"}
        Language of headers and notes.
    survey_spec : Path or None
        The survey spec shared by all rounds.
    rounds : mapping
        Survey year -> data file.
    current : int or None
        The round the tables describe (default: the latest).
    cases, cases_schema, cases_period, cases_key
        Case-record files, their schema, the reporting period and the key source for linkage.
    indicators_extra, targets_extra : Path or None
        User TOML files extending the bundled indicators and targets.
    tables, figures : tuple of mapping
        The ``[[table]]`` and ``[[figure]]`` entries, as written.
    response_rate : float
        Expected response rate used by ``sample_size`` tables.

    Examples
    --------
    >>> plan = load_plan("surveys/example/plan.toml")
    >>> plan.id, plan.current, sorted(plan.rounds)
    ('example_gbv_2024', 2024, [2022, 2023, 2024])
    >>> [t["id"] for t in plan.tables][:3]
    ['profile', 'prevalence', 'help_seeking']
    >>> [p.name for p in plan.inputs][:3], len(plan.cases)
    (['community_2022.sav', 'community_2023.sav', 'community_2024.sav'], 8)
    """

    path: Path
    title: Mapping[str, str]
    id: str
    formats: tuple[str, ...]
    figure_formats: tuple[str, ...]
    level: float
    lang: str
    survey_spec: Path | None
    rounds: Mapping[int, Path]
    current: int | None
    cases: tuple[Path, ...]
    cases_schema: Path | None
    cases_period: str | None
    cases_key: str | None
    indicators_extra: Path | None
    targets_extra: Path | None
    tables: tuple[Mapping[str, Any], ...]
    figures: tuple[Mapping[str, Any], ...]
    response_rate: float = 0.9

    @property
    def inputs(self) -> list[Path]:
        """Every data file the plan reads."""
        return [self.rounds[y] for y in sorted(self.rounds)] + list(self.cases)

    @property
    def specs(self) -> list[Path]:
        """Every specification file the plan reads (survey spec, case schema, extra indicators, targets)."""
        return [p for p in (self.survey_spec, self.cases_schema, self.indicators_extra, self.targets_extra) if p]


_PLAN_KEYS = {"publication", "inputs", "table", "figure"}
_PUB_KEYS = {"id", "title", "formats", "figure_formats", "level", "lang", "response_rate"}
_INPUT_KEYS = {"survey_spec", "rounds", "current", "cases", "cases_schema", "cases_period", "cases_key",
               "indicators", "targets"}


def _known(d: Mapping, allowed: set, where: str) -> None:
    bad = sorted(set(d) - allowed)
    if bad:
        raise SpecError(f"{where}: unknown key {bad[0]!r}{close_matches(bad[0], sorted(allowed))}; "
                        f"known keys: {', '.join(sorted(allowed))}")


def load_plan(path: str | Path) -> Plan:
    """Read and check a table plan.

    Parameters
    ----------
    path : path-like
        The plan TOML file. Paths inside it are relative to its folder.

    Returns
    -------
    Plan

    Raises
    ------
    ReadError
        If the file does not exist.
    SpecError
        Invalid TOML, an unknown key, format, language or table/figure type, a duplicate or
        badly formed id, a table whose inputs are not given.

    Examples
    --------
    >>> from gbvstats.publish import load_plan
    >>> plan = load_plan("surveys/example/plan.toml")
    >>> [t["id"] for t in plan.tables][:2]
    ['profile', 'prevalence']
    >>> [p.name for p in plan.specs]
    ['survey.toml', 'cases.toml']
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ReadError(f"{path}: no such table plan; give the path of a plan TOML "
                        "(e.g. surveys/example/plan.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    where = str(path)
    _known(raw, _PLAN_KEYS, where)
    pub = raw.get("publication", {})
    _known(pub, _PUB_KEYS, f"{where} [publication]")
    inp = raw.get("inputs", {})
    _known(inp, _INPUT_KEYS, f"{where} [inputs]")
    base = path.parent

    def rel(p: str | None) -> Path | None:
        return None if not p else (base / p)

    formats = tuple(pub.get("formats", TABLE_FORMATS))
    for f in formats:
        if f not in TABLE_FORMATS:
            raise SpecError(f"{where}: format {f!r} is not one of {', '.join(TABLE_FORMATS)}{close_matches(f, TABLE_FORMATS)}")
    ffmts = tuple(pub.get("figure_formats", FIGURE_FORMATS))
    for f in ffmts:
        if f not in FIGURE_FORMATS:
            raise SpecError(f"{where}: figure format {f!r} is not one of {', '.join(FIGURE_FORMATS)}")
    lang = pub.get("lang", "both")
    if lang not in ("vi", "en", "both"):
        raise SpecError(f"{where}: lang = {lang!r} is not one of 'vi', 'en', 'both'")
    level = float(pub.get("level", 0.95))
    if not 0.5 <= level < 1:
        raise SpecError(f"{where}: level = {level!r} must be in [0.5, 1), e.g. 0.95")
    rounds_raw = inp.get("rounds", {})
    if not isinstance(rounds_raw, dict):
        raise SpecError(f"{where}: [inputs] rounds must be a table year = \"file\"")
    rounds = {int(y): base / p for y, p in rounds_raw.items()}
    current = int(inp["current"]) if "current" in inp else (max(rounds) if rounds else None)
    if rounds and current not in rounds:
        raise SpecError(f"{where}: current = {current} is not one of the rounds {sorted(rounds)}")
    cases = inp.get("cases", [])
    if isinstance(cases, str):
        cases = [cases]
    case_paths: list[Path] = []
    for c in cases:
        p = base / c
        if p.is_dir():
            case_paths += sorted(q for q in p.iterdir() if q.suffix.lower() in (".csv", ".xlsx", ".parquet"))
        else:
            case_paths.append(p)
    tables = tuple(raw.get("table", []))
    figures = tuple(raw.get("figure", []))
    ids = set()
    for kind, items, types in (("table", tables, TABLE_TYPES), ("figure", figures, FIGURE_TYPES)):
        for i, t in enumerate(items, start=1):
            w = f"{where} [[{kind}]] #{i}"
            if "id" not in t or "type" not in t:
                raise SpecError(f"{w}: give id = \"...\" and type = one of {', '.join(types)}")
            if t["type"] not in types:
                raise SpecError(f"{w}: type = {t['type']!r} is not one of {', '.join(types)}{close_matches(t['type'], types)}")
            if not str(t["id"]).replace("_", "").replace("-", "").isalnum():
                raise SpecError(f"{w}: id = {t['id']!r} must be letters, digits, '_' or '-' (it names files)")
            if t["id"] in ids:
                raise SpecError(f"{w}: id {t['id']!r} is used twice")
            ids.add(t["id"])
            if t["type"] in ("cases", "cases_tracker") and not case_paths:
                raise SpecError(f"{w}: a {t['type']} table needs [inputs] cases = [...] and cases_schema")
            if t["type"] not in ("cases", "cases_tracker") and not rounds:
                raise SpecError(f"{w}: a {t['type']} {kind} needs [inputs] rounds = {{ year = \"file\" }}")
    title = pub.get("title", {"vi": "Thống kê bạo lực trên cơ sở giới", "en": "Gender-based violence statistics"})
    if isinstance(title, str):
        title = {"vi": title, "en": title}
    return Plan(
        path=path, title=title, id=str(pub.get("id", path.stem)), formats=formats, figure_formats=ffmts,
        level=level, lang=lang, survey_spec=rel(inp.get("survey_spec")), rounds=rounds, current=current,
        cases=tuple(case_paths), cases_schema=rel(inp.get("cases_schema")), cases_period=inp.get("cases_period"),
        cases_key=inp.get("cases_key"), indicators_extra=rel(inp.get("indicators")),
        targets_extra=rel(inp.get("targets")), tables=tables, figures=figures,
        response_rate=float(pub.get("response_rate", 0.9)),
    )


# ============================================================================================ results

@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` wrote: ``out`` folder, ``files`` (relative path -> SHA-256), ``manifest``.

    Attributes
    ----------
    out : Path
        The output folder.
    files : mapping
        Relative path -> SHA-256 (hex) of every file written, ``manifest.json`` included.
    manifest : mapping
        The parsed ``manifest.json``: the plan, inputs and specs with their SHA-256, the bundled
        catalogues' hashes, package versions, parameters, notes and every output's hash.
    warnings : tuple of str
        Not filled by :func:`publish` at present (it is always empty): what the run noticed,
        such as rows left out of an estimate, is in ``manifest["notes"]``.

    Examples
    --------
    A one-table plan of our own, written to a temporary folder: the 2024 police records of the
    example, incidents by province and type of violence:

    >>> import tempfile
    >>> from pathlib import Path
    >>> example = Path("surveys/example").resolve().as_posix()
    >>> tmp = tempfile.TemporaryDirectory()
    >>> plan = Path(tmp.name, "plan.toml")
    >>> _ = plan.write_text(f'''
    ... [publication]
    ... id = "police_2024"
    ... formats = ["csv", "md"]
    ... lang = "en"
    ...
    ... [inputs]
    ... cases = ["{example}/cases/police_2024.csv"]
    ... cases_schema = "{example}/cases.toml"
    ... cases_period = "2024"
    ...
    ... [[table]]
    ... id = "cases_by_type"
    ... type = "cases"
    ... indicator = "cases_by_type"
    ... by = "province"
    ... split = "gbv_type"
    ... min_frequency = 10
    ... ''', encoding="utf-8")
    >>> result = publish(plan, out=Path(tmp.name, "published"))
    >>> sorted(result.files)
    ['csv/cases_by_type.csv', 'manifest.json', 'md/cases_by_type.md', 'tables.md']
    >>> result.manifest["parameters"]["cases_period"], [Path(i["path"]).name for i in result.manifest["inputs"]]
    ('2024', ['police_2024.csv'])
    >>> all(result.files[o["path"]] == o["sha256"] for o in result.manifest["outputs"])
    True
    >>> tmp.cleanup()
    """

    out: Path
    files: Mapping[str, str]
    manifest: Mapping[str, Any]
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"PublishResult({len(self.files)} files in {self.out})"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: files ``changed``, ``missing`` (in the fresh run, absent from the
    published folder) and ``extra`` (published but no longer produced). ``ok`` when all are empty.

    Attributes
    ----------
    out : Path
        The published folder that was checked.
    changed, missing, extra : tuple of str
        Relative paths, sorted.

    See Also
    --------
    check : makes it (an example there runs a real check).

    Examples
    --------
    What a failed check reports (the CLI prints this and exits 1):

    >>> from pathlib import Path
    >>> result = CheckResult(Path("published"), changed=("csv/formal_help.csv",), extra=("old.csv",))
    >>> result.ok
    False
    >>> print(result.report())
    published: outputs differ from a fresh run
      changed: csv/formal_help.csv
      extra:   old.csv (a fresh run no longer writes it)
    """

    out: Path
    changed: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no file changed, is missing or is extra."""
        return not (self.changed or self.missing or self.extra)

    def report(self) -> str:
        """The outcome as text: one line when identical, else one line per differing file.

        Returns
        -------
        str

        Examples
        --------
        >>> from pathlib import Path
        >>> print(CheckResult(Path("published")).report())
        published: every output is identical to a fresh run
        >>> print(CheckResult(Path("published"), missing=("csv/new_table.csv",)).report())
        published: outputs differ from a fresh run
          missing: csv/new_table.csv (a fresh run writes it)
        """
        if self.ok:
            return f"{self.out}: every output is identical to a fresh run"
        lines = [f"{self.out}: outputs differ from a fresh run"]
        lines += [f"  changed: {p}" for p in self.changed]
        lines += [f"  missing: {p} (a fresh run writes it)" for p in self.missing]
        lines += [f"  extra:   {p} (a fresh run no longer writes it)" for p in self.extra]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"CheckResult(ok={self.ok}, changed={list(self.changed)}, missing={list(self.missing)}, extra={list(self.extra)})"


# ============================================================================================ helpers

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _versions() -> dict[str, str]:
    from importlib import metadata

    from . import __version__

    out = {"gbvstats": __version__, "python": ".".join(map(str, sys.version_info[:3]))}
    for dist in ("numpy", "pandas", "scipy", "statsmodels", "pyreadstat", "matplotlib", "pyarrow", "openpyxl"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


class _Progress:
    def __init__(self, total: int, enabled: bool, stream=None):
        self.total, self.enabled, self.done = total, enabled, 0
        self.stream = stream or sys.stderr

    def step(self, what: str) -> None:
        self.done += 1
        if self.enabled:
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {what[:48]:<48}",
                  end="" if self.done < self.total else "\n", file=self.stream, flush=True)


def _both(d: Mapping[str, str]) -> Mapping[str, str]:
    return {"vi": d.get("vi", ""), "en": d.get("en", "")}


# ============================================================================================ context

@dataclass
class _Context:
    plan: Plan
    catalogue: Any
    target_set: Any
    surveys: dict = field(default_factory=dict)      # year -> Survey
    frames: dict = field(default_factory=dict)       # (year) -> analysis data with derived indicator columns
    designs: dict = field(default_factory=dict)      # year -> Design over frames[year]
    cache: dict = field(default_factory=dict)
    linked: Any = None
    notes: list = field(default_factory=list)
    excluded: dict = field(default_factory=dict)     # (year, indicator) -> rows left out (answer missing)

    def exclusion_note(self, year: int, ind) -> Mapping[str, str] | None:
        n = self.excluded.get((year, ind.id), 0)
        if not n:
            return None
        return {"vi": f"{ind.label['vi']}: {n} người thuộc mẫu số không có câu trả lời (từ chối, không biết, bỏ trống) "
                      "được loại khỏi ước lượng.",
                "en": f"{ind.label['en']}: {n} women in the denominator with no answer (refused, don't know, blank) "
                      "were left out of the estimate."}

    # ------------------------------------------------------------------ surveys
    def survey(self, year: int):
        if year not in self.surveys:
            from .readers import read_survey

            p = self.plan.rounds[year]
            if not p.exists():
                raise ReadError(f"{self.plan.path}: round {year} file {p} does not exist; fix [inputs] rounds")
            self.surveys[year] = read_survey(p, spec=self.plan.survey_spec)
        return self.surveys[year]

    def design(self, year: int):
        if year not in self.designs:
            s = self.survey(year)
            self.frames[year] = s.data.copy()
            self.designs[year] = s.design
        return self.designs[year]

    def _add_column(self, year: int, name: str, values: np.ndarray) -> None:
        self.design(year)
        if name not in self.frames[year].columns:
            self.frames[year][name] = values
            self.designs[year] = self.designs[year].replace(data=self.frames[year])

    def outcome(self, year: int, ind, code=None, item: str | None = None) -> str:
        """The 0/1 column (name) holding indicator ``ind``'s outcome in round ``year``."""
        self.design(year)
        data = self.frames[year]
        if item is not None:
            return item
        if ind.type == "categorical":
            name = f"_{ind.id}__{code}"
            v = pd.to_numeric(data[ind.variable], errors="coerce").to_numpy(float)
            self._add_column(year, name, np.where(np.isnan(v), np.nan, (v == code).astype(float)))
            return name
        if ind.any_of:
            name = f"_{ind.id}"
            missing = [c for c in ind.any_of if c not in data.columns]
            if missing:
                raise SpecError(f"indicator {ind.id!r} names source variable(s) {', '.join(missing)} that the "
                                f"survey {self.plan.rounds[year]} does not have{close_matches(missing[0], list(map(str, data.columns)))}")
            src = np.column_stack([pd.to_numeric(data[c], errors="coerce").to_numpy(float) for c in ind.any_of])
            # three-valued "any", as the spec's any_of derivation: 1 if any source is 1; unknown if
            # none is 1 but one is unknown ("don't know" could be a yes); 0 only when all are known
            anyv = np.where((src == 1).any(axis=1), 1.0, np.where(np.isnan(src).any(axis=1), np.nan, 0.0))
            if ind.condition:
                cond_raw = data.eval(ind.condition)
                names = [c for c in data.columns if c in ind.condition]
                unknown = np.zeros(len(data), bool)
                for c in names:
                    unknown |= pd.isna(data[c]).to_numpy()
                cond = cond_raw.fillna(False).to_numpy(bool)
                values = np.where(unknown, np.nan, np.where(cond, anyv, 0.0))
            else:
                values = anyv
            self._add_column(year, name, values)
            return name
        if ind.variable not in data.columns:
            raise SpecError(f"indicator {ind.id!r}: variable {ind.variable!r} is not in the survey "
                            f"{self.plan.rounds[year]}{close_matches(ind.variable, list(map(str, data.columns)))}")
        return ind.variable

    def universe(self, year: int, ind) -> np.ndarray | None:
        if not ind.universe:
            return None
        data = self.frames[year]
        try:
            return data.eval(ind.universe).fillna(False).to_numpy(bool)
        except Exception as exc:
            raise SpecError(f"indicator {ind.id!r}: universe {ind.universe!r} cannot be evaluated on "
                            f"{self.plan.rounds[year]} ({exc})") from None

    def labels(self, year: int, var: str) -> dict:
        s = self.survey(year)
        try:
            vl = s.value_labels(var, "vi")
        except Exception:
            vl = {}
        return {float(k): str(v) for k, v in (vl or {}).items()}

    def estimate(self, year: int, ind, geo: str, *, code=None, item=None, ci: str | None = None) -> pd.DataFrame:
        """Estimates of one outcome at ``geo`` level: 'all', 'province', 'district' (by province, district)."""
        key = (year, ind.id, code, item, geo, ci)
        if key in self.cache:
            return self.cache[key]
        col = self.outcome(year, ind, code=code, item=item)
        d = self.design(year)
        where = self.universe(year, ind)
        by = {"all": None, "province": "province", "district": ["province", "district"]}.get(geo, geo)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExclusionWarning)
            est = d.proportion(col, where=where, by=by, ci=ci or ind.ci, level=self.plan.level)
        if geo == "all":
            for w in caught:
                if issubclass(w.category, ExclusionWarning):
                    message = str(w.message)
                    if col.startswith("_"):  # an outcome built here: name what it is, not the work column
                        what = (f"{ind.variable} = {code}" if code is not None
                                else f"any of {', '.join(ind.any_of)}" if ind.any_of else ind.id)
                        message = message.replace(repr(col), f"the outcome ({what})")
                    self.notes.append(f"round {year}, {ind.id}" + (f" [{code or item}]" if (code or item) else "")
                                      + f": {message}")
        f = est.frame.copy()
        if geo == "all":
            try:
                self.excluded[(year, ind.id)] = max(self.excluded.get((year, ind.id), 0),
                                                    int(est.excluded["n_missing"].sum()))
            except (AttributeError, KeyError, TypeError):
                pass
            f["province"] = np.nan
        if geo not in ("province", "district"):
            f["province"] = np.nan
        if geo != "district":
            f["district"] = np.nan
        f["geo"] = geo
        self.cache[key] = f
        return f

    def hierarchy(self, year: int, ind, geo: str, **kw) -> pd.DataFrame:
        """Rows in publication order with ``province_name``/``district_name`` labels: all, then each
        province (then its districts when ``geo == 'district'``). Any other ``geo`` is a characteristic
        (``urban``, ``age_group``): all, then each of its categories, labelled as ``province_name``."""
        if geo not in ("province", "district"):
            self.design(year)
            if geo not in self.frames[year].columns:
                raise SpecError(f"by = {geo!r} is not a variable of {self.plan.rounds[year]}"
                                f"{close_matches(geo, list(map(str, self.frames[year].columns)))}")
            f = pd.concat([self.estimate(year, ind, "all", **kw), self.estimate(year, ind, geo, **kw)], ignore_index=True)
            codes = pd.to_numeric(f[geo], errors="coerce") if geo in f.columns else pd.Series(np.nan, index=f.index)
            names = self.labels(year, geo)
            f["province_name"] = [_name(c, names) for c in codes]
            f["district_name"] = ""
            order = np.argsort(codes.fillna(-np.inf).to_numpy(), kind="stable")
            return f.iloc[order].reset_index(drop=True)
        parts = [self.estimate(year, ind, "all", **kw), self.estimate(year, ind, "province", **kw)]
        if geo == "district":
            parts.append(self.estimate(year, ind, "district", **kw))
        f = pd.concat(parts, ignore_index=True)
        pnames = self.labels(year, "province")
        dnames = self.labels(year, "district")
        pcode = pd.to_numeric(f["province"], errors="coerce")
        dcode = pd.to_numeric(f["district"], errors="coerce")
        f["province_name"] = [_name(c, pnames) for c in pcode]
        f["district_name"] = [_name(c, dnames) for c in dcode]
        order = np.lexsort((dcode.fillna(-1).to_numpy(), pcode.fillna(-1).to_numpy()))
        return f.iloc[order].reset_index(drop=True)

    # ------------------------------------------------------------------ cases
    def cases(self):
        if self.linked is None:
            from .cases import read_cases
            from .keys import Key, resolve

            plan = self.plan
            if plan.cases_schema is None:
                raise SpecError(f"{plan.path}: [inputs] cases_schema is missing")
            records = read_cases(list(plan.cases), schema=plan.cases_schema, warn=False)
            source = plan.cases_key or os.environ.get("GBVSTATS_KEY") and "env:GBVSTATS_KEY"
            if source:
                key = resolve(source)
            else:
                # Linkage is by equality of the normalised fields, so the counts do not depend on the key;
                # pseudonyms never leave this run. A fresh random key is used and forgotten.
                key = Key(os.urandom(32), "ephemeral key for this run (never stored)")
                self.notes.append("case records linked with an ephemeral key (no GBVSTATS_KEY given); "
                                  "counts do not depend on the key")
            self.linked = records.link(key=key)
            self.cases_report = records.report
        return self.linked


def code_labels(variable: str) -> dict[str, Mapping[str, str]]:
    """Bundled bilingual labels of a coded variable (``gbvstats/data/labels.toml``): code -> {vi, en}."""
    from importlib import resources

    data = tomllib.loads(resources.files("gbvstats").joinpath("data/labels.toml").read_text(encoding="utf-8"))
    return {str(k): v for k, v in data.get(variable, {}).items()}


def _schema_labels(schema, column: str) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in schema.column(column).labels}
    except Exception:
        return {}


def _name(code, names: dict) -> str:
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return ""
    return names.get(float(code), str(int(code)) if float(code).is_integer() else str(code))


# ============================================================================================ tables

def _provenance(ctx: _Context, year: int | None, ind=None) -> dict:
    out = {}
    if year is not None:
        p = ctx.plan.rounds[year]
        out["survey"] = f"{p.name} (SHA-256 {sha256_file(p)[:16]}…)"
        out["year"] = str(year)
    if ind is not None:
        out["indicator"] = ind.id
        out["ci"] = ind.ci
    out["level"] = f"{ctx.plan.level:g}"
    return out


def _source_note(ctx: _Context, year: int, ind=None, ci: str | None = None) -> Mapping[str, str]:
    s = ctx.survey(year)
    title = getattr(s.spec, "name", "") or ctx.plan.rounds[year].stem
    method = ci or (ind.ci if ind is not None else "")
    lvl = f"{100 * ctx.plan.level:g}%"
    if not method:
        return {"vi": f"Nguồn: {title}, năm {year} (tệp {ctx.plan.rounds[year].name}). Số gia quyền theo trọng số thiết kế.",
                "en": f"Source: {title}, {year} (file {ctx.plan.rounds[year].name}). Weighted numbers use the design weights."}
    return {
        "vi": f"Nguồn: {title}, năm {year} (tệp {ctx.plan.rounds[year].name}). Ước lượng có gia quyền theo thiết kế "
              f"mẫu (phân tầng, chọn cụm); khoảng tin cậy {lvl} theo phương pháp {method}.",
        "en": f"Source: {title}, {year} (file {ctx.plan.rounds[year].name}). Design-weighted estimates (stratified, "
              f"clustered); {lvl} confidence intervals by the {method} method.",
    }


def _definition_note(ind) -> Mapping[str, str]:
    return {"vi": ind.definition("vi"), "en": ind.definition("en")}


def _locality_columns(geo: str, ctx: _Context | None = None, year: int | None = None):
    from .tables import Column

    if geo not in ("province", "district") and ctx is not None:
        s = ctx.survey(year)
        return [Column("province_label", {"vi": s.label(geo, "vi") or geo, "en": s.label(geo, "en") or geo}, "text")]
    cols = [Column("province_label", {"vi": "Tỉnh/thành phố", "en": "Province"}, "text")]
    if geo == "district":
        cols.append(Column("district_label", {"vi": "Huyện", "en": "District"}, "text"))
    return cols


def _label_rows(f: pd.DataFrame, geo: str, lang: str) -> pd.DataFrame:
    f = f.copy()
    is_all = f["geo"] == "all"
    is_prov = f["geo"] == "province"
    all_text = ALL_LABEL["vi"] + " / " + ALL_LABEL["en"] if lang == "both" else ALL_LABEL[lang]
    whole = WHOLE_PROVINCE["vi"] + " / " + WHOLE_PROVINCE["en"] if lang == "both" else WHOLE_PROVINCE[lang]
    f["province_label"] = np.where(is_all, all_text, f["province_name"])
    if geo == "district":
        # the whole-sample row sits under the "All" group heading: label it, never leave it blank
        everywhere = ("Toàn mẫu / Whole sample" if lang == "both"
                      else {"vi": "Toàn mẫu", "en": "Whole sample"}[lang])
        f["district_label"] = np.where(is_all, everywhere, np.where(is_prov, whole, f["district_name"]))
    return f


def _table_estimates(ctx: _Context, spec: Mapping) -> list:
    from .tables import Column, Table

    year = int(spec.get("year", ctx.plan.current))
    geo = spec.get("by", "province")
    ids = spec.get("indicators") or [spec.get("indicator")]
    parts = []
    for iid in ids:
        ind = ctx.catalogue[iid]
        f = ctx.hierarchy(year, ind, geo)
        f["indicator_label"] = ind.label["vi"] + " / " + ind.label["en"] if ctx.plan.lang == "both" else ind.label[ctx.plan.lang]
        parts.append(f)
    f = _label_rows(pd.concat(parts, ignore_index=True), geo, ctx.plan.lang)
    cols = []
    if len(ids) > 1:
        cols.append(Column("indicator_label", {"vi": "Chỉ tiêu", "en": "Indicator"}, "text"))
    cols += _locality_columns(geo, ctx, year)
    lvl = f"{100 * ctx.plan.level:g}%"
    cols += [
        Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent"),
        Column("ci", {"vi": f"KTC {lvl}", "en": f"{lvl} CI"}, "ci"),
        Column("n", {"vi": "Số trường hợp (chưa gia quyền)", "en": "Unweighted n"}, "count"),
        Column("n_weighted", {"vi": "Số trường hợp (gia quyền)", "en": "Weighted n"}, "count"),
    ]
    inds = [ctx.catalogue[i] for i in ids]
    notes = [_definition_note(i) | {} for i in inds]
    if len(inds) > 1:
        notes = [{"vi": f"{i.label['vi']}: {i.definition('vi')}", "en": f"{i.label['en']}: {i.definition('en')}"} for i in inds]
    notes += [n for n in (ctx.exclusion_note(year, i) for i in inds) if n]
    notes.append(_source_note(ctx, year, inds[0]))
    title = spec.get("title") or {"vi": f"{inds[0].label['vi']}, {year}", "en": f"{inds[0].label['en']}, {year}"}
    return [Table(spec["id"], _both(title), _drop_starred(f), tuple(cols), tuple(notes),
                  _provenance(ctx, year, inds[0]),
                  group="indicator_label" if len(ids) > 1 else ("province_label" if geo == "district" else ""))]


def _drop_starred(f: pd.DataFrame) -> pd.DataFrame:
    """Remove the numbers of estimates on fewer than 25 unweighted cases (shown as '*'), so they are not
    even in memory when a writer runs."""
    f = f.copy()
    n = pd.to_numeric(f["n"], errors="coerce").to_numpy(float)
    hide = ~(n >= 25)
    for c in [c for c in f.columns if c == "estimate" or c.startswith("ci_") or c.startswith("p_")
              or c.endswith("__est") or c.endswith("__est_low") or c.endswith("__est_high") or c == "se"]:
        f[c] = f[c].astype(object).where(~hide, None)
    return f


def _table_categories(ctx: _Context, spec: Mapping) -> list:
    """DV17 / DV18 shape: rows = localities, one column per category (or source), and the denominator n."""
    from .tables import Column, Table

    year = int(spec.get("year", ctx.plan.current))
    geo = spec.get("by", "province")
    ind = ctx.catalogue[spec["indicator"]]
    if ind.type == "categorical":
        keys = [(f"c{code}", {"code": code}, lab) for code, lab in sorted(ind.categories.items())]
    elif ind.type == "multiple":
        keys = [(item, {"item": item}, lab) for item, lab in ind.items.items()]
    else:
        raise SpecError(f"table {spec['id']!r}: indicator {ind.id!r} is a {ind.type}; "
                        "categorical/multiple tables need a categorical or multiple-answer indicator")
    base = None
    for k, kw, lab in keys:
        f = ctx.hierarchy(year, ind, geo, **kw)
        if base is None:
            base = f[["geo", "province", "district", "province_name", "district_name", "n", "n_weighted"]].copy()
        base[f"{k}__est"] = f["estimate"].to_numpy()
    base = _label_rows(base, geo, ctx.plan.lang)
    cols = _locality_columns(geo, ctx, year)
    cols += [Column(f"{k}__est", _both(lab), "percent") for k, _, lab in keys]
    cols += [Column("n", {"vi": "Số phụ nữ (chưa gia quyền)", "en": "Number of women (unweighted)"}, "count"),
             Column("n_weighted", {"vi": "Số phụ nữ (gia quyền)", "en": "Number of women (weighted)"}, "count")]
    notes = [_definition_note(ind)] + [n for n in [ctx.exclusion_note(year, ind)] if n] + [_source_note(ctx, year, ind)]
    title = spec.get("title") or {"vi": f"{ind.label['vi']}, {year}", "en": f"{ind.label['en']}, {year}"}
    return [Table(spec["id"], _both(title), _drop_starred(base), tuple(cols), tuple(notes), _provenance(ctx, year, ind))]


def _protect(counts: pd.DataFrame, dims: Mapping[str, list], threshold: int):
    """Primary (fewer than ``threshold``) and secondary suppression with the LP audit; a table with no
    sensitive cell is published whole (with its margins)."""
    from .disclosure.rules import MinFrequency
    from .disclosure.tables import protect_table

    names = list(dims)
    v = pd.to_numeric(counts["value"], errors="coerce").to_numpy(float)
    if ((v >= threshold) | (v == 0)).all():
        parts = [counts[names + ["value"]]]
        for k in range(len(names)):
            keep = names[:k] + names[k + 1:]
            if keep:
                g = counts.groupby(keep, sort=False)["value"].sum().reset_index()
                g[names[k]] = "Total"
                parts.append(g)
        if len(names) == 2:
            parts.append(pd.DataFrame({names[0]: ["Total"], names[1]: ["Total"], "value": [counts["value"].sum()]}))
        elif len(names) == 1:
            parts.append(pd.DataFrame({names[0]: ["Total"], "value": [counts["value"].sum()]}))
        frame = pd.concat(parts, ignore_index=True)
        frame["status"] = "published"
        frame["reason"] = ""
        return frame
    prot = protect_table(counts[names + ["value"]], dims, primary=[MinFrequency(threshold)])
    if not prot.ok:
        from .errors import DisclosureError

        raise DisclosureError("the suppression audit failed: a suppressed cell could be narrowed down; "
                              "not publishing the table")
    return prot.frame


def _table_profile(ctx: _Context, spec: Mapping) -> list:
    """Sample profile: unweighted and weighted numbers of women by province and a characteristic,
    with small counts suppressed (primary + secondary, audited)."""
    from .disclosure.tables import protect_table
    from .disclosure.rules import MinFrequency
    from .tables import Column, Table

    year = int(spec.get("year", ctx.plan.current))
    var = spec.get("by", "urban")
    ctx.design(year)
    data = ctx.frames[year]
    w = ctx.survey(year).spec.design.weights
    pnames = ctx.labels(year, "province")
    vnames = ctx.labels(year, var)
    prov = pd.to_numeric(data["province"], errors="coerce")
    cat = pd.to_numeric(data[var], errors="coerce")
    ok = prov.notna() & cat.notna()
    g = pd.DataFrame({"province": prov[ok].map(lambda c: _name(c, pnames)),
                      var: cat[ok].map(lambda c: _name(c, vnames)), "w": data.loc[ok, w].to_numpy(float)})
    counts = g.groupby(["province", var], sort=False).agg(value=("w", "size"), weighted=("w", "sum")).reset_index()
    pcats = [_name(c, pnames) for c in sorted(prov[ok].unique())]
    vcats = [_name(c, vnames) for c in sorted(cat[ok].unique())]
    threshold = int(spec.get("min_frequency", 5))
    pf = _protect(counts[["province", var, "value"]], {"province": pcats, var: vcats}, threshold).copy()
    wsum = g.groupby(["province", var]).w.sum()
    wtot_p = g.groupby("province").w.sum()
    wtot_v = g.groupby(var).w.sum()

    def weighted(row):
        if row["status"] != "published":
            return None
        p, v = row["province"], row[var]
        if p == "Total" and v == "Total":
            return float(g.w.sum())
        if p == "Total":
            return float(wtot_v.get(v, 0.0))
        if v == "Total":
            return float(wtot_p.get(p, 0.0))
        return float(wsum.get((p, v), 0.0))

    pf["weighted"] = pf.apply(weighted, axis=1)
    wide = None
    for v in ["Total"] + vcats:
        sub = pf[pf[var] == v].set_index("province")
        part = pd.DataFrame({f"n_{v}": sub["value"], f"s_{v}": sub["status"], f"w_{v}": sub["weighted"]})
        wide = part if wide is None else wide.join(part)
    wide = wide.reindex(["Total"] + pcats).reset_index()
    all_text = "Tất cả / All" if ctx.plan.lang == "both" else ALL_LABEL[ctx.plan.lang]
    wide["province_label"] = wide["province"].replace({"Total": all_text})
    cols = [Column("province_label", {"vi": "Tỉnh/thành phố", "en": "Province"}, "text")]
    var_label = ctx.survey(year).label(var, "vi") or var
    var_label_en = ctx.survey(year).label(var, "en") or var
    en_names = {}
    try:
        en_names = {_name(k, vnames): str(v) for k, v in ctx.survey(year).value_labels(var, "en").items()}
    except Exception:
        pass
    for v in ["Total"] + vcats:
        vl = {"vi": "Tổng" if v == "Total" else v, "en": "Total" if v == "Total" else en_names.get(v, v)}
        cols.append(Column(f"n_{v}", {"vi": f"{vl['vi']} (n)", "en": f"{vl['en']} (n)"}, "count", status=f"s_{v}"))
        cols.append(Column(f"w_{v}", {"vi": f"{vl['vi']} (gia quyền)", "en": f"{vl['en']} (weighted)"}, "count", status=f"s_{v}"))
    notes = [{"vi": f"Số phụ nữ được phỏng vấn theo tỉnh và {var_label}; ô dưới {threshold} trường hợp bị ẩn, "
                    "cùng các ô cần ẩn thêm để không tính ngược được.",
              "en": f"Women interviewed by province and {var_label_en}; cells with fewer than {threshold} cases are "
                    "suppressed, with the further cells needed so they cannot be recomputed."},
             _source_note(ctx, year)]
    title = spec.get("title") or {"vi": f"Đặc điểm mẫu, {year}", "en": f"Sample profile, {year}"}
    t = Table(spec["id"], _both(title), wide, tuple(cols), tuple(notes), _provenance(ctx, year), n_column="")
    return [t]


def _tracker_frame(ctx: _Context, spec: Mapping) -> tuple[pd.DataFrame, Any, int]:
    """Per locality: current estimate, target, verdict, probability, progress, projection, next target."""
    from .targets import assess, next_target, project

    ind = ctx.catalogue[spec.get("indicator", "help_seeking_formal")]
    year = int(spec.get("year", ctx.plan.current))
    key = ("tracker", ind.id, year, spec.get("districts", True))
    if key in ctx.cache:
        return ctx.cache[key], ind, year
    f = ctx.hierarchy(year, ind, "district")
    # rows: all, provinces, and the districts that have a target of their own
    own = {t.locality for t in ctx.target_set if t.indicator == ind.id and t.level == "district"}
    keep = (f["geo"] != "district") | f["district_name"].isin(own)
    f = f[keep].reset_index(drop=True)
    loc = np.where(f["geo"] == "all", "Việt Nam", np.where(f["geo"] == "province", f["province_name"], f["district_name"]))
    f["locality"] = loc
    f["parent"] = np.where(f["geo"] == "district", f["province_name"], None)
    starred = ~(pd.to_numeric(f["n"], errors="coerce") >= 25)
    est = f[["locality", "parent", "estimate", "se", "ci_low", "ci_high", "df"]].copy()
    est.loc[starred.to_numpy(), ["estimate", "se", "ci_low", "ci_high"]] = np.nan
    rounds = sorted(y for y in ctx.plan.rounds if y <= year)
    base_year = rounds[0] if len(rounds) > 1 else None
    baseline = None
    if base_year is not None:
        b = ctx.hierarchy(base_year, ind, "district")
        bl = np.where(b["geo"] == "all", "Việt Nam", np.where(b["geo"] == "province", b["province_name"], b["district_name"]))
        bstar = ~(pd.to_numeric(b["n"], errors="coerce") >= 25)
        baseline = {k: (np.nan if s else v) for k, v, s in zip(bl, b["estimate"], bstar)}
    a = assess(est, ctx.target_set, by="locality", province="parent", year=year, indicator=ind.id,
               year_rule=spec.get("year_rule", "next"), baseline=baseline, baseline_year=base_year).frame
    out = f[["geo", "province_name", "district_name", "locality", "n", "n_weighted"]].copy()
    for c in ("estimate", "ci_low", "ci_high", "target", "target_year", "target_locality", "verdict", "p_meets",
              "growth_ratio", "progress"):
        out[c] = a[c].to_numpy()
    # projection from every round up to this one, per locality
    proj_val, proj_lo, proj_hi, nxt = [], [], [], []
    series = {}
    for y in rounds:
        h = ctx.hierarchy(y, ind, "district")
        hl = np.where(h["geo"] == "all", "Việt Nam", np.where(h["geo"] == "province", h["province_name"], h["district_name"]))
        series[y] = {k: (e, s, n) for k, e, s, n in zip(hl, h["estimate"], h["se"], h["n"])}
    projections = {}
    from .targets import TargetSet

    own_targets = TargetSet(tuple(t for t in ctx.target_set if t.indicator == ind.id))
    ahead_value, ahead_year, ahead_loc = [], [], []
    for i, row in out.iterrows():  # a handful of localities; each is its own small regression
        # the target after this round (the locality's own, else its province's, else the national one)
        ahead = own_targets.for_locality(row["locality"], province=f.loc[i, "parent"], year=year + 1, year_rule="next")
        ahead_value.append(ahead.value if ahead else np.nan)
        ahead_year.append(ahead.year if ahead else None)
        ahead_loc.append(ahead.locality if ahead else "")
        pts = [(y, *series[y].get(row["locality"], (np.nan, np.nan, 0))) for y in rounds]
        pts = [(y, e, s) for y, e, s, n in pts if n >= 25 and 0 < e < 1 and s > 0]
        pr = None
        if len(pts) >= 2 and ahead is not None:
            pr = project([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], target_year=ahead.year,
                         level=ctx.plan.level)
            projections[row["locality"]] = pr
        proj_val.append(pr.projected if pr else np.nan)
        proj_lo.append(pr.pi_low if pr else np.nan)
        proj_hi.append(pr.pi_high if pr else np.nan)
        e = row["estimate"]
        if ahead is None or pd.isna(e):
            nxt.append(np.nan)
        else:
            nxt.append(next_target(float(e), year, ahead.value, ahead.year).value)
    out["ahead_target"], out["ahead_year"], out["ahead_locality"] = ahead_value, ahead_year, ahead_loc
    out["projected"], out["projected_low"], out["projected_high"] = proj_val, proj_lo, proj_hi
    out["next_target"] = nxt
    out["baseline_year"] = base_year
    ctx.cache[key] = out
    ctx.cache[("projections", ind.id, year)] = (projections, series, rounds)
    return out, ind, year


def _table_tracker(ctx: _Context, spec: Mapping) -> list:
    from .tables import Column, Table

    f, ind, year = _tracker_frame(ctx, spec)
    f = f.copy()
    lang = ctx.plan.lang
    all_text = "Toàn mẫu / All" if lang == "both" else {"vi": "Toàn mẫu", "en": "All"}[lang]
    f["locality_label"] = np.where(f["geo"] == "all", all_text,
                                   np.where(f["geo"] == "district", "  " + f["district_name"] + " (" + f["province_name"] + ")",
                                            f["province_name"]))
    f["target_label"] = [("" if pd.isna(t) else f"≥ {100 * t:.0f}% ({int(y)}, {loc})")
                         for t, y, loc in zip(f["target"], f["target_year"], f["target_locality"])]
    f["progress_label"] = f["progress"].map(_PROGRESS_TEXT.get).fillna("")
    f["ahead_label"] = [("" if pd.isna(t) else f"≥ {100 * t:.0f}% ({int(y)}, {loc})")
                        for t, y, loc in zip(f["ahead_target"], f["ahead_year"], f["ahead_locality"])]
    f["p_meets"] = pd.to_numeric(f["p_meets"], errors="coerce")
    f["projected_low"], f["projected_high"] = f["projected_low"], f["projected_high"]
    lvl = f"{100 * ctx.plan.level:g}%"
    cols = [
        Column("locality_label", {"vi": "Địa phương", "en": "Locality"}, "text"),
        Column("estimate", {"vi": f"Tỷ lệ {year} (%)", "en": f"Percent {year}"}, "percent"),
        Column("ci", {"vi": f"KTC {lvl}", "en": f"{lvl} CI"}, "ci"),
        Column("n", {"vi": "Số trường hợp", "en": "Unweighted n"}, "count"),
        Column("target_label", {"vi": "Chỉ tiêu", "en": "Target"}, "text"),
        Column("verdict", {"vi": "Đánh giá", "en": "Verdict"}, "verdict"),
        Column("p_meets", {"vi": "Xác suất đạt", "en": "P(met)"}, "probability"),
        Column("progress_label", {"vi": "Tiến độ", "en": "Progress"}, "text"),
        Column("ahead_label", {"vi": "Chỉ tiêu tiếp theo", "en": "Next target"}, "text"),
        Column("projected", {"vi": "Dự báo (%)", "en": "Projected (%)"}, "percent", reliability=False),
        Column("projected", {"vi": f"Khoảng dự báo {lvl}", "en": f"{lvl} projection interval"}, "ci", reliability=False),
        Column("next_target", {"vi": f"Đề xuất {year + 1} (%)", "en": f"Proposed {year + 1} (%)"}, "percent", reliability=False),
    ]
    base = f["baseline_year"].iloc[0] if len(f) else None
    notes = [
        _definition_note(ind),
        {"vi": "Đạt: cả khoảng tin cậy nằm trên chỉ tiêu; Chưa đạt: cả khoảng nằm dưới; Chưa kết luận được: khoảng "
               "tin cậy chứa chỉ tiêu. Xác suất đạt (giá trị thật đạt chỉ tiêu) tính trên thang logit. Chỉ tiêu: giá trị (năm, "
               "theo kế hoạch của). Địa phương không có chỉ tiêu riêng áp dụng "
               "chỉ tiêu của tỉnh, rồi của Chương trình quốc gia.",
         "en": "Met: the whole confidence interval is at or above the target; not met: the whole interval is below; "
               "cannot tell yet: the interval contains the target. P(met), the probability the true value meets the "
               "target, is computed on the logit scale. Target and next target: value (year, whose plan). "
               "A locality without a target of its own takes its province's, then the national programme's."},
        {"vi": (f"Tiến độ: tỷ số tăng trưởng (Open SDG) từ năm gốc {base}: ≥ 0,95 đáng kể; 0,6–0,95 vừa phải; 0–0,6 hạn chế; "
                "< 0 xấu đi. Dự báo: xu hướng bình phương tối thiểu có trọng số 1/SE² trên thang logit qua các vòng điều tra. "
                "Đề xuất chỉ tiêu năm sau: trên đường thẳng từ giá trị mới nhất đến chỉ tiêu cuối kỳ của kế hoạch.")
         if base else "Chỉ có một vòng điều tra: không tính tiến độ và dự báo.",
         "en": (f"Progress: Open SDG growth ratio since the baseline {base}: ≥ 0.95 substantial; 0.6–0.95 moderate; "
                "0–0.6 limited; < 0 deterioration. Projection: weighted (1/SE²) least-squares trend on the logit scale over "
                "the survey rounds, projected to the year of the next target. Proposed next-year target: on the straight path from "
                "the latest value to that next target.")
         if base else "Only one survey round: no progress status or projection."},
        _targets_note(ctx, ind.id),
        _source_note(ctx, year, ind),
    ]
    f["projected_low"] = f["projected_low"]
    title = spec.get("title") or {"vi": f"Theo dõi chỉ tiêu: {ind.label['vi']}, {year}",
                                  "en": f"Target tracker: {ind.label['en']}, {year}"}
    f = f.rename(columns={"projected_low": "projected_low", "projected_high": "projected_high"})
    return [Table(spec["id"], _both(title), _drop_starred(f), tuple(cols), tuple(notes), _provenance(ctx, year, ind))]


def _targets_note(ctx: _Context, indicator: str) -> Mapping[str, str]:
    docs = "; ".join(sorted({t.document for t in ctx.target_set if t.indicator == indicator}))
    text = f"Chỉ tiêu theo / Targets from: {docs}."
    return {"vi": text, "en": text}


_PROGRESS_TEXT = {
    "achieved": "Đã đạt / achieved",
    "substantial": "Đáng kể / substantial",
    "moderate": "Vừa phải / moderate",
    "limited": "Hạn chế / limited",
    "deterioration": "Xấu đi / deterioration",
    "": "",
}


def _table_sample_size(ctx: _Context, spec: Mapping) -> list:
    """Women to sample per province in the next round to tell met from not met at a margin."""
    from .tables import Column, Table
    from .targets import minimum_detectable_change, sample_size

    f, ind, year = _tracker_frame(ctx, {**spec, "indicator": spec.get("indicator", "help_seeking_formal")})
    margin = float(spec.get("margin", 0.05))
    elig_ind = ctx.catalogue[spec.get("eligibility_indicator", "gbv_any_ever")]
    el = ctx.hierarchy(year, elig_ind, "province")
    el_loc = np.where(el["geo"] == "all", "Việt Nam", el["province_name"])
    elig = dict(zip(el_loc, el["estimate"]))
    deffs = ctx.hierarchy(year, ind, "province")
    d_loc = np.where(deffs["geo"] == "all", "Việt Nam", deffs["province_name"])
    deff = dict(zip(d_loc, deffs["deff"]))
    n_round = dict(zip(el_loc, el["n"]))
    rows = []
    for _, r in f[f["geo"] != "district"].iterrows():
        loc = r["locality"]
        p = r["estimate"]
        p = 0.5 if pd.isna(p) or not 0 < p < 1 else float(p)
        de = float(deff.get(loc, 2.0))
        de = 2.0 if not np.isfinite(de) or de <= 0 else max(de, 1.0)
        e = float(elig.get(loc, 0.3))
        ss = sample_size(p, margin=margin, deff=de, eligibility=e, response_rate=ctx.plan.response_rate)
        n_now = float(n_round.get(loc, 0))
        mdc = minimum_detectable_change(p, max(n_now, 1), deff=de, eligibility=e) if n_now > 0 else np.nan
        rows.append({"locality": "Toàn mẫu / All" if loc == "Việt Nam" else loc, "p": p, "deff": de, "eligibility": e,
                     "n_eligible": ss.n_eligible, "n_interviews": ss.n_interviews, "n_sampled": ss.n_sampled,
                     "n_now": n_now, "mdc": mdc})
    t = pd.DataFrame(rows)
    cols = (
        Column("locality", {"vi": "Địa phương", "en": "Locality"}, "text"),
        Column("p", {"vi": f"Tỷ lệ dự kiến (%)", "en": "Assumed percent"}, "percent", reliability=False),
        Column("deff", {"vi": "Hệ số thiết kế", "en": "Design effect"}, "number", decimals=2),
        Column("eligibility", {"vi": "Tỷ lệ thuộc mẫu số (%)", "en": "Share in the denominator (%)"}, "percent", reliability=False),
        Column("n_eligible", {"vi": "Số phụ nữ thuộc mẫu số cần có", "en": "Women in the denominator needed"}, "count"),
        Column("n_interviews", {"vi": "Số phỏng vấn hoàn thành", "en": "Completed interviews"}, "count"),
        Column("n_sampled", {"vi": "Số phụ nữ cần chọn mẫu", "en": "Women to select"}, "count"),
        Column("n_now", {"vi": f"Số phỏng vấn {year}", "en": f"Interviews {year}"}, "count"),
        Column("mdc", {"vi": "Thay đổi nhỏ nhất phát hiện được giữa hai vòng cùng cỡ (%)",
                       "en": "Minimum detectable change between two rounds of this size (%)"}, "percent", reliability=False),
    )
    notes = [
        {"vi": f"Cỡ mẫu để khoảng tin cậy {100 * ctx.plan.level:g}% có nửa độ rộng ±{100 * margin:g} điểm phần trăm, "
               f"nhân hệ số thiết kế, chia tỷ lệ phụ nữ thuộc mẫu số (chỉ người từng bị bạo lực trả lời câu hỏi tìm "
               f"kiếm trợ giúp) và tỷ lệ trả lời {100 * ctx.plan.response_rate:g}%. Thay đổi nhỏ nhất phát hiện được: "
               "mức ý nghĩa 5%, lực kiểm định 80%.",
         "en": f"Sample size for a {100 * ctx.plan.level:g}% confidence interval of half-width ±{100 * margin:g} "
               f"percentage points, times the design effect, divided by the share of women in the denominator (only "
               f"survivors answer help-seeking) and by a {100 * ctx.plan.response_rate:g}% response rate. Minimum "
               "detectable change: 5% significance, 80% power."},
        _definition_note(ind),
        _source_note(ctx, year, ind),
    ]
    title = spec.get("title") or {"vi": f"Cỡ mẫu cho vòng điều tra tới: {ind.label['vi']}",
                                  "en": f"Sample size for the next round: {ind.label['en']}"}
    return [Table(spec["id"], _both(title), t, cols, tuple(notes), _provenance(ctx, year, ind), n_column="")]


_BY_HEADERS = {"province": {"vi": "Tỉnh/thành phố", "en": "Province"}, "district": {"vi": "Huyện", "en": "District"},
               "service": {"vi": "Dịch vụ", "en": "Service"}, "gbv_type": {"vi": "Loại bạo lực", "en": "Type of GBV"}}
_ALL_ROWS = {"service": {"vi": "Tất cả nhu cầu dịch vụ", "en": "All service needs"}}


def _table_cases(ctx: _Context, spec: Mapping) -> list:
    """Administrative counts by province × a category, protected (primary + secondary, audited)."""
    from .disclosure.tables import protect_table
    from .disclosure.rules import MinFrequency
    from .tables import Column, Table

    linked = ctx.cases()
    name = spec.get("indicator", "cases_by_type")
    by = spec.get("by", "province")
    split = spec.get("split", "gbv_type")
    period = spec.get("period", ctx.plan.cases_period)
    intrinsic = ("gbv_type", "time_to_report", "service", "status")  # columns the indicator makes itself
    res = linked.indicator(name, by=[] if by in intrinsic else [by], period=period)
    frame = res.frame.copy()
    value_col = "numerator" if "numerator" in frame.columns else "value"
    if split not in frame.columns:
        raise SpecError(f"table {spec['id']!r}: the {name} indicator has no column {split!r} "
                        f"(columns: {', '.join(map(str, frame.columns))})")
    frame[by] = frame[by].astype(str)
    frame[split] = frame[split].astype(str)
    counts = frame.groupby([by, split], sort=False)[value_col].sum().reset_index().rename(columns={value_col: "value"})
    bys = list(dict.fromkeys(counts[by])) if by in intrinsic else sorted(counts[by].unique())
    splits = list(dict.fromkeys(counts[split]))
    threshold = int(spec.get("min_frequency", getattr(res, "min_frequency", 10)))
    # neutral dimension names: a split column called "status" must not meet the protection's own "status"
    pf = _protect(counts.rename(columns={by: "row_key", split: "col_key"}), {"row_key": bys, "col_key": splits},
                  threshold)
    wide = None
    for s in ["Total"] + splits:
        sub = pf[pf["col_key"] == s].set_index("row_key")
        part = pd.DataFrame({f"v_{s}": sub["value"], f"s_{s}": sub["status"]})
        wide = part if wide is None else wide.join(part)
    wide = wide.reindex(["Total"] + bys)
    wide.index.name = by
    wide = wide.reset_index()
    lang = ctx.plan.lang
    pnames = _schema_labels(linked.schema, by)
    by_bundled = code_labels(by)

    def row_label(b: str) -> str:
        if b in by_bundled:
            lab = by_bundled[b]
            return f"{lab['vi']} / {lab['en']}" if lang == "both" else lab[lang]
        return pnames.get(str(b), str(b))

    all_label = _ALL_ROWS.get(by, ALL_LABEL)
    all_text = f"{all_label['vi']} / {all_label['en']}" if lang == "both" else all_label[lang]
    wide["label"] = [all_text if b == "Total" else row_label(b) for b in wide[by]]
    cols = [Column("label", _BY_HEADERS.get(by, {"vi": by, "en": by}), "text")]
    split_labels = _schema_labels(linked.schema, split)
    bundled = code_labels(split)
    for s in ["Total"] + splits:
        en = split_labels.get(s, s)
        lab = {"vi": "Tổng", "en": "Total"} if s == "Total" else dict(bundled.get(s, {"vi": en, "en": en}))
        cols.append(Column(f"v_{s}", lab, "count", status=f"s_{s}"))
    ind = ctx.catalogue[name] if name in ctx.catalogue else None
    notes = []
    if ind is not None:
        notes.append(_definition_note(ind))
    notes.append({"vi": f"Chỉ tính hồ sơ người bị bạo lực đồng ý cho báo cáo; một người được nhiều cơ quan ghi nhận chỉ "
                        f"tính một lần. Ô dưới {threshold} vụ bị ẩn (x) cùng các ô cần ẩn thêm (xx); đã kiểm tra bằng quy "
                        "hoạch tuyến tính rằng không ô ẩn nào tính ngược được.",
                  "en": f"Only records whose survivor consented to reporting; a survivor recorded by several agencies is "
                        f"counted once. Cells with fewer than {threshold} incidents are suppressed (x) with the further "
                        "cells needed (xx); a linear-programming audit confirmed no suppressed cell can be recomputed."})
    notes.append({"vi": f"Nguồn: hồ sơ vụ việc của {len(ctx.plan.cases)} tệp từ các cơ quan cung cấp dịch vụ"
                        + (f", kỳ {period}" if period else "") + ".",
                  "en": f"Source: case records, {len(ctx.plan.cases)} files from service providers"
                        + (f", period {period}" if period else "") + "."})
    title = spec.get("title") or {"vi": "Số vụ bạo lực trên cơ sở giới theo loại", "en": "GBV incidents by type"}
    prov = {"cases": f"{len(ctx.plan.cases)} files", "indicator": name, "period": str(period)}
    return [Table(spec["id"], _both(title), wide, tuple(cols), tuple(notes), prov, n_column="")]


def _table_cases_tracker(ctx: _Context, spec: Mapping) -> list:
    """An administrative ratio (help received) per province against targets: met / not met, no sampling CI."""
    from .disclosure.tables import protect_table
    from .disclosure.rules import MinFrequency
    from .tables import Column, Table
    from .targets import assess

    linked = ctx.cases()
    name = spec.get("indicator", "help_received")
    period = spec.get("period", ctx.plan.cases_period)
    year = int(spec.get("year", int(str(period)[:4]) if period else ctx.plan.current))
    res = linked.indicator(name, by=["province"], period=period)
    f = res.frame.copy()
    f["province"] = f["province"].astype(str)
    threshold = int(spec.get("min_frequency", 10))
    provs = sorted(f["province"].unique())
    # numerator and denominator counts are protected together (linked tables)
    from .disclosure.tables import protect_tables

    num = f[["province", "numerator"]].rename(columns={"numerator": "value"})
    den = f[["province", "denominator"]].rename(columns={"denominator": "value"})
    num["measure"], den["measure"] = "numerator", "denominator"
    both = pd.concat([num, den], ignore_index=True)
    pf = _protect(both, {"province": provs, "measure": ["numerator", "denominator"]}, threshold)
    pnames = _schema_labels(linked.schema, "province")
    rows = []
    for p in ["Total"] + provs:
        n_ = pf[(pf["province"] == p) & (pf["measure"] == "numerator")].iloc[0]
        d_ = pf[(pf["province"] == p) & (pf["measure"] == "denominator")].iloc[0]
        published = n_["status"] == "published" and d_["status"] == "published" and d_["value"] > 0
        rows.append({"province": p, "locality": "Việt Nam" if p == "Total" else pnames.get(p, p),
                     "numerator": n_["value"], "s_num": n_["status"], "denominator": d_["value"], "s_den": d_["status"],
                     "estimate": (n_["value"] / d_["value"]) if published else np.nan,
                     "s_est": "published" if published else ("primary" if "primary" in (n_["status"], d_["status"]) else "secondary")})
    t = pd.DataFrame(rows)
    a = assess(t[["locality", "estimate"]], ctx.target_set, by="locality", year=year, indicator=name,
               year_rule=spec.get("year_rule", "next"), administrative=True).frame
    t["target_label"] = [("" if pd.isna(v) else f"≥ {100 * v:.0f}% ({int(y)}, {loc})")
                         for v, y, loc in zip(a["target"], a["target_year"], a["target_locality"])]
    t["verdict"] = np.where(t["s_est"] == "published", a["verdict"], "")
    lang = ctx.plan.lang
    t["label"] = np.where(t["province"] == "Total", "Tất cả / All" if lang == "both" else ALL_LABEL[lang], t["locality"])
    cols = (
        Column("label", {"vi": "Tỉnh/thành phố", "en": "Province"}, "text"),
        Column("numerator", {"vi": "Số vụ được trợ giúp", "en": "Incidents helped"}, "count", status="s_num"),
        Column("denominator", {"vi": "Số vụ có nhu cầu trợ giúp", "en": "Incidents needing help"}, "count", status="s_den"),
        Column("estimate", {"vi": "Tỷ lệ (%)", "en": "Percent"}, "percent", reliability=False, status="s_est"),
        Column("target_label", {"vi": "Chỉ tiêu (năm, theo kế hoạch của)", "en": "Target (year, plan of)"}, "text"),
        Column("verdict", {"vi": "Đánh giá", "en": "Verdict"}, "verdict"),
    )
    ind = ctx.catalogue[name]
    notes = [
        _definition_note(ind),
        {"vi": "Số liệu hành chính (toàn bộ hồ sơ được ghi nhận, không phải mẫu): đánh giá Đạt/Chưa đạt theo chính giá trị, "
               "không có khoảng tin cậy chọn mẫu. Chỉ tiêu 100% chỉ đạt khi mọi vụ có nhu cầu đều được trợ giúp.",
         "en": "Administrative data (every recorded case, not a sample): met / not met on the value itself, with no "
               "sampling interval. A 100% target is met only when every incident needing help received it."},
        {"vi": f"Ô dưới {threshold} vụ bị ẩn (x) cùng các ô cần ẩn thêm (xx); tỷ lệ chỉ công bố khi cả tử số và mẫu số được công bố.",
         "en": f"Cells with fewer than {threshold} incidents are suppressed (x) with the further cells needed (xx); the "
               "percentage is shown only where both numerator and denominator are published."},
        _targets_note(ctx, name),
    ]
    title = spec.get("title") or {"vi": f"Theo dõi chỉ tiêu: {ind.label['vi']}, {year}",
                                  "en": f"Target tracker: {ind.label['en']}, {year}"}
    return [Table(spec["id"], _both(title), t, cols, tuple(notes),
                  {"cases": f"{len(ctx.plan.cases)} files", "indicator": name, "period": str(period)}, n_column="")]


_TABLE_BUILDERS: dict[str, Callable] = {
    "estimates": _table_estimates,
    "categorical": _table_categories,
    "multiple": _table_categories,
    "profile": _table_profile,
    "tracker": _table_tracker,
    "sample_size": _table_sample_size,
    "cases": _table_cases,
    "cases_tracker": _table_cases_tracker,
}


# ============================================================================================ figures

def _figure(ctx: _Context, spec: Mapping):
    from . import figures

    kind = spec["type"]
    ind = ctx.catalogue[spec.get("indicator", "help_seeking_formal")]
    year = int(spec.get("year", ctx.plan.current))
    if kind == "progress":
        f, _, _ = _tracker_frame(ctx, {"indicator": ind.id, "year": year})
        f = f.copy()
        f["label"] = np.where(f["geo"] == "all", "Toàn mẫu / All",
                              np.where(f["geo"] == "district", f["district_name"] + " (" + f["province_name"] + ")", f["province_name"]))
        starred = ~(pd.to_numeric(f["n"], errors="coerce") >= 25)
        f.loc[starred.to_numpy(), ["estimate", "ci_low", "ci_high"]] = np.nan
        title = spec.get("title", f"{ind.label['vi']}, {year}\n{ind.label['en']}, {year}")
        return figures.progress_figure(f, label="label", title=title)
    if kind == "forest":
        f = ctx.hierarchy(year, ind, "district")
        ref = float(f.loc[f["geo"] == "all", "estimate"].iloc[0])
        d = f[f["geo"] == "district"].copy()
        starred = ~(pd.to_numeric(d["n"], errors="coerce") >= 25)
        d.loc[starred.to_numpy(), ["estimate", "ci_low", "ci_high"]] = np.nan
        title = spec.get("title", f"{ind.label['vi']} theo huyện, {year}\n{ind.label['en']} by district, {year}")
        return figures.forest_figure(d, label="district_name", group="province_name", reference=ref,
                                     reference_label=f"toàn mẫu / all {100 * ref:.1f}%", title=title)
    if kind == "trend":
        _tracker_frame(ctx, {"indicator": ind.id, "year": year})
        projections, series, rounds = ctx.cache[("projections", ind.id, year)]
        rows = []
        wanted = spec.get("localities")
        for y in rounds:
            h = ctx.hierarchy(y, ind, "province")
            for _, r in h.iterrows():
                loc = "Toàn mẫu / All" if r["geo"] == "all" else r["province_name"]
                key = "Việt Nam" if r["geo"] == "all" else r["province_name"]
                if wanted and key not in wanted and loc not in wanted:
                    continue
                if r["n"] >= 25:
                    rows.append({"series": loc, "key": key, "year": y, "estimate": r["estimate"],
                                 "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
        rf = pd.DataFrame(rows)
        prs = {s: projections.get(k) for s, k in zip(rf["series"], rf["key"])}
        tg = ctx.target_set.for_locality(None, year=year, year_rule="next") if False else None
        nat = [t for t in ctx.target_set if t.indicator == ind.id and t.level == "national" and t.year >= year]
        target = min(nat, key=lambda t: t.year) if nat else None
        title = spec.get("title", f"{ind.label['vi']}: xu hướng và dự báo\n{ind.label['en']}: trend and projection")
        return figures.trend_figure(rf, prs, target=target.value if target else None,
                                    target_year=target.year if target else None, title=title, series="series")
    raise SpecError(f"figure type {kind!r} is not one of {', '.join(FIGURE_TYPES)}")


# ============================================================================================ build

def build(plan: Plan | str | Path, *, progress: bool = False, key: str | None = None) -> dict[str, bytes]:
    """Every output of the plan, in memory: relative path -> bytes (``manifest.json`` included).

    Nothing is written: :func:`publish` and :func:`check` call this and write or compare.

    Parameters
    ----------
    plan : path or Plan
        The table plan.
    progress : bool
        Show a progress bar on stderr.
    key : str, optional
        Key source for case linkage (``"env:NAME"``, ``"file:PATH"``); overrides the plan's
        ``cases_key``. Without either, ``$GBVSTATS_KEY`` is used if set, else a random key for
        this run only (the counts do not depend on the key).

    Returns
    -------
    dict
        Relative output path -> file contents (bytes).

    Raises
    ------
    ReadError
        An input or specification file named in the plan does not exist.

    Examples
    --------
    A one-table plan of our own, written to a temporary folder; it reads the example survey:

    >>> import tempfile
    >>> from pathlib import Path
    >>> example = Path("surveys/example").resolve().as_posix()
    >>> tmp = tempfile.TemporaryDirectory()
    >>> plan = Path(tmp.name, "plan.toml")
    >>> _ = plan.write_text(f'''
    ... [publication]
    ... id = "formal_help_2024"
    ... formats = ["csv", "md"]
    ... lang = "en"
    ...
    ... [inputs]
    ... survey_spec = "{example}/survey.toml"
    ... rounds = {{ 2024 = "{example}/community_2024.sav" }}
    ...
    ... [[table]]
    ... id = "formal_help"
    ... type = "estimates"
    ... indicator = "help_seeking_formal"
    ... by = "province"
    ... ''', encoding="utf-8")
    >>> files = build(plan)
    >>> sorted(files)
    ['csv/formal_help.csv', 'manifest.json', 'md/formal_help.md', 'tables.md']
    >>> print(files["csv/formal_help.csv"].decode("utf-8-sig"))
    Province,Percent,95% CI,Unweighted n,Weighted n
    All,...
    Hà Tĩnh,14.9,10.8–19.7,278,23052
    Quảng Nam,11.1,6.6–17.2,240,30818
    Kiên Giang,14.5,10.8–18.8,248,24801
    ...
    >>> tmp.cleanup()
    """
    from . import render
    from .indicators import catalogue
    from .targets import targets as all_targets

    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    if key is not None:
        plan = Plan(**{**plan.__dict__, "cases_key": key})
    for p in plan.inputs + plan.specs:
        if not p.exists():
            raise ReadError(f"{plan.path}: input {p} does not exist; fix the path in the plan")
    cat = catalogue(plan.indicators_extra)
    ctx = _Context(plan=plan, catalogue=cat, target_set=all_targets(extra=plan.targets_extra))
    steps = len(plan.tables) + len(plan.figures) + 1
    bar = _Progress(steps, progress)
    files: dict[str, bytes] = {}
    tables = []
    for spec in plan.tables:
        tables += _TABLE_BUILDERS[spec["type"]](ctx, spec)
        bar.step(f"table {spec['id']}")
    lang = plan.lang
    for t in tables:
        if "csv" in plan.formats:
            files[f"csv/{t.id}.csv"] = render.to_csv(t, lang)
        if "md" in plan.formats:
            files[f"md/{t.id}.md"] = render.to_markdown(t, lang).encode("utf-8")
    figure_refs = []
    for spec in plan.figures:
        fig = _figure(ctx, spec)
        for fmt in plan.figure_formats:
            files[f"figures/{spec['id']}.{fmt}"] = _figure_bytes(fig, fmt)
        caption = spec.get("caption", spec["id"])
        src = f"figures/{spec['id']}.{'svg' if 'svg' in plan.figure_formats else plan.figure_formats[0]}"
        figure_refs.append((src, caption if isinstance(caption, str) else " / ".join(caption.values())))
        bar.step(f"figure {spec['id']}")
    title = plan.title["vi"] + " / " + plan.title["en"] if lang == "both" else plan.title[lang]
    if "xlsx" in plan.formats:
        files["tables.xlsx"] = render.to_xlsx(tables, lang)
    if "html" in plan.formats:
        files["index.html"] = render.to_html(tables, title=title, lang=lang, figures=figure_refs).encode("utf-8")
    if "md" in plan.formats:
        md = [f"# {title}", ""] + [render.to_markdown(t, lang) for t in tables]
        md += [f"![{c}]({s})\n" for s, c in figure_refs]
        files["tables.md"] = "\n".join(md).encode("utf-8")
    files["manifest.json"] = _manifest(plan, files, ctx)
    bar.step("manifest")
    return files


def _figure_bytes(fig, fmt: str) -> bytes:
    from . import figures

    return figures.to_bytes(fig, fmt)


def _manifest(plan: Plan, files: Mapping[str, bytes], ctx: _Context) -> bytes:
    from . import indicators as _ind
    from . import targets as _tg

    base = plan.path.parent

    def relpath(p: Path) -> str:
        try:
            return os.path.relpath(p, base).replace(os.sep, "/")
        except ValueError:
            return str(p)

    man = {
        "gbvstats_manifest": 1,
        "plan": {"path": plan.path.name, "sha256": sha256_file(plan.path)},
        "inputs": [{"path": relpath(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in plan.inputs],
        "specs": [{"path": relpath(p), "sha256": sha256_file(p)} for p in plan.specs],
        "bundled": {"indicators.toml": _sha(_ind.bundled_text().encode("utf-8")),
                    "targets.toml": _sha(_tg.bundled_text().encode("utf-8"))},
        "versions": _versions(),
        "parameters": {"level": plan.level, "lang": plan.lang, "formats": list(plan.formats),
                       "figure_formats": list(plan.figure_formats), "current_round": plan.current,
                       "rounds": sorted(plan.rounds), "cases_period": plan.cases_period,
                       "response_rate": plan.response_rate},
        "notes": sorted(set(ctx.notes)),
        "outputs": [{"path": k, "sha256": _sha(v), "bytes": len(v)} for k, v in sorted(files.items())],
    }
    return (json.dumps(man, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def _write_tree(files: Mapping[str, bytes], folder: Path) -> None:
    from .render import write_atomic

    for rel, data in sorted(files.items()):
        write_atomic(folder / rel, data)


def publish(plan: Plan | str | Path, out: str | Path | None = None, *, check: bool = False, progress: bool = False,
            key: str | None = None):
    """Publish a table plan into ``out``, or with ``check=True`` compare a fresh run with ``out``.

    Parameters
    ----------
    plan : path or Plan
        The table plan TOML.
    out : path
        Output folder (replaced as a whole, atomically, on success).
    check : bool
        Do not write; regenerate in a temporary folder and compare with ``out`` (see :func:`check`).
    progress : bool
        Show a progress bar on stderr.
    key : str, optional
        Pseudonymisation key source for case linkage (``"env:NAME"``, ``"file:PATH"``); outputs do not
        depend on it.

    Returns
    -------
    PublishResult, or CheckResult with ``check=True``

    Raises
    ------
    SpecError
        No ``out`` given, or the plan is invalid (see :func:`load_plan`).
    ReadError
        An input named in the plan does not exist.

    See Also
    --------
    build : the outputs in memory, without writing.
    check : compare a fresh run with a published folder.

    Notes
    -----
    The outputs are written into a temporary folder beside ``out`` and swapped in with
    ``os.replace`` only when all are written, so an interrupted run leaves the previous
    publication untouched. The same inputs give byte-identical outputs.

    Examples
    --------
    A one-table plan of our own, written to a temporary folder: the 2024 police records of the
    example, incidents by province and type of violence:

    >>> import tempfile
    >>> from pathlib import Path
    >>> example = Path("surveys/example").resolve().as_posix()
    >>> tmp = tempfile.TemporaryDirectory()
    >>> plan = Path(tmp.name, "plan.toml")
    >>> _ = plan.write_text(f'''
    ... [publication]
    ... id = "police_2024"
    ... formats = ["csv", "md"]
    ... lang = "en"
    ...
    ... [inputs]
    ... cases = ["{example}/cases/police_2024.csv"]
    ... cases_schema = "{example}/cases.toml"
    ... cases_period = "2024"
    ...
    ... [[table]]
    ... id = "cases_by_type"
    ... type = "cases"
    ... indicator = "cases_by_type"
    ... by = "province"
    ... split = "gbv_type"
    ... min_frequency = 10
    ... ''', encoding="utf-8")
    >>> out = Path(tmp.name, "published")
    >>> publish(plan, out=out)
    PublishResult(4 files in ...published)

    ``x`` and ``xx`` mark counts suppressed by disclosure control (fewer than 10 incidents, and
    the cells that would give them away):

    >>> print((out / "csv" / "cases_by_type.csv").read_text(encoding="utf-8-sig"))
    Province,Total,Rape,Sexual assault,Physical assault,Forced marriage,"Denial of resources, opportunities or services",Psychological / emotional abuse
    All,139,xx,16,55,x,15,35
    Hà Tĩnh,36,x,x,14,x,x,x
    Quảng Nam,47,x,x,14,x,x,14
    Kiên Giang,33,x,0,15,x,x,x
    Cần Thơ,23,0,x,12,x,x,x
    <BLANKLINE>
    >>> tmp.cleanup()

    The example publication (``surveys/example/plan.toml``: eleven tables and three figures
    from three survey rounds and eight agencies' case files) is published the same way,
    ``publish("surveys/example/plan.toml", out="published")``.
    """
    if out is None:
        raise SpecError("publish needs out= (the folder to write, e.g. 'published')")
    if check:
        return globals()["check"](plan, out, progress=progress, key=key)
    out = Path(out)
    files = build(plan, progress=progress, key=key)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        _write_tree(files, tmp)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old.{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = json.loads(files["manifest.json"])
    return PublishResult(out, {k: _sha(v) for k, v in sorted(files.items())}, manifest)


def check(plan: Plan | str | Path, out: str | Path, *, progress: bool = False, key: str | None = None) -> CheckResult:
    """Regenerate the plan's outputs in a temporary folder and compare them, byte for byte, with ``out``.

    Returns a :class:`CheckResult` listing changed, missing and extra files (``.ok`` when none).

    Parameters
    ----------
    plan : path or Plan
        The table plan.
    out : path
        A folder written by :func:`publish`.
    progress : bool
        Show a progress bar on stderr.
    key : str, optional
        Key source for case linkage (outputs do not depend on it).

    Returns
    -------
    CheckResult

    Raises
    ------
    ReadError
        If ``out`` is not a folder.

    Examples
    --------
    A one-table plan of our own, written to a temporary folder: the 2024 police records of the
    example, incidents by province and type of violence:

    >>> import tempfile
    >>> from pathlib import Path
    >>> example = Path("surveys/example").resolve().as_posix()
    >>> tmp = tempfile.TemporaryDirectory()
    >>> plan = Path(tmp.name, "plan.toml")
    >>> _ = plan.write_text(f'''
    ... [publication]
    ... id = "police_2024"
    ... formats = ["csv", "md"]
    ... lang = "en"
    ...
    ... [inputs]
    ... cases = ["{example}/cases/police_2024.csv"]
    ... cases_schema = "{example}/cases.toml"
    ... cases_period = "2024"
    ...
    ... [[table]]
    ... id = "cases_by_type"
    ... type = "cases"
    ... indicator = "cases_by_type"
    ... by = "province"
    ... split = "gbv_type"
    ... min_frequency = 10
    ... ''', encoding="utf-8")
    >>> out = Path(tmp.name, "published")
    >>> _ = publish(plan, out=out)

    Someone edits a published number by hand; the check finds it:

    >>> csv = out / "csv" / "cases_by_type.csv"
    >>> _ = csv.write_bytes(csv.read_bytes().replace(b"All,139", b"All,140"))
    >>> result = check(plan, out)
    >>> result.ok, result.changed
    (False, ('csv/cases_by_type.csv',))
    >>> tmp.cleanup()
    """
    out = Path(out)
    if not out.is_dir():
        raise ReadError(f"{out}: no such published folder to check; run `gbvstats publish PLAN --out {out}` first")
    with tempfile.TemporaryDirectory(prefix="gbvstats-check-") as tmp:
        files = build(plan, progress=progress, key=key)
        _write_tree(files, Path(tmp))
        fresh = {str(p.relative_to(tmp)).replace(os.sep, "/") for p in Path(tmp).rglob("*") if p.is_file()}
    old = {str(p.relative_to(out)).replace(os.sep, "/") for p in out.rglob("*") if p.is_file()}
    changed = tuple(sorted(p for p in fresh & old if _sha((out / p).read_bytes()) != _sha(files[p])))
    return CheckResult(out, changed=changed, missing=tuple(sorted(fresh - old)), extra=tuple(sorted(old - fresh)))


# ``gbvstats.publish`` is both this module and the public function ``gs.publish(...)``: importing the
# submodule sets the package attribute to the module, so the module itself is made callable.
import types as _types


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return publish(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
