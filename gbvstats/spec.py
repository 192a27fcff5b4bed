"""Survey specs: a TOML file that says how to read, derive, check and protect a survey.

``load_spec(path)`` parses the file into frozen dataclasses (:class:`SurveySpec` and its parts) and
checks it: unknown keys, wrong types, bad choices and derived variables that refer to each other in a
circle are :class:`~gbvstats.errors.SpecError` naming the file, the key and close matches.
The format is documented in ``docs/spec.md``; ``surveys/example/survey.toml`` is a full example.

Sections::

    [survey]        name, year, id (respondent id), language, title {vi, en}
    [design]        weights, strata, psu (one name or a list: one per stage), fpc, lonely_psu
    [missing]       codes that mean missing in every coded variable: {8 = "refused", 9 = "don't know", 0 = "not asked"}
    [variables.X]   label {vi, en}, values {code = {vi, en}}, check ("labels" default, or "none")
    [derived.X]     analysis variables from raw codes: type recode | yes_no | any_of | flag | categorical
    [[skip]]        skip patterns: questions only asked when a condition holds
    [checks]        raise or report: codes_outside_labels, duplicate_ids, skip_pattern
    [disclosure]    identifiers, pseudonymise, quasi_identifiers, sensitive, importance, k, l, hierarchies
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, get_args

from .errors import SpecError, close_matches

__all__ = [
    "FileSpec",
    "Labels",
    "DesignSpec",
    "VariableSpec",
    "DerivedSpec",
    "SkipRule",
    "ChecksSpec",
    "Hierarchy",
    "DisclosureSpec",
    "SurveySpec",
    "load_spec",
    "parse_spec",
    "expression_names",
    "LONELY_PSU",
    "DERIVED_TYPES",
    "CHECK_ACTIONS",
]

LonelyPsu = Literal["fail", "remove", "certainty", "adjust", "average", "collapse"]
LONELY_PSU: tuple[str, ...] = get_args(LonelyPsu)
DerivedType = Literal["recode", "yes_no", "any_of", "flag", "categorical"]
DERIVED_TYPES: tuple[str, ...] = get_args(DerivedType)
MissingRule = Literal["propagate", "as_no"]
CheckAction = Literal["raise", "report", "set_missing"]
CHECK_ACTIONS: tuple[str, ...] = get_args(CheckAction)
#: what each check may do; duplicate ids cannot be "set to missing"
CHECK_CHOICES: dict[str, tuple[str, ...]] = {
    "codes_outside_labels": ("raise", "report", "set_missing"),
    "duplicate_ids": ("raise", "report"),
    "skip_pattern": ("raise", "report", "set_missing"),
}

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = {"and", "or", "not", "in", "True", "False", "None", "isna", "notna", "abs"}


@dataclass(frozen=True)
class Labels:
    """A label in Vietnamese and English; ``get(lang)`` falls back to the other language.

    In a spec a label is ``{ vi = "...", en = "..." }`` or a plain string (Vietnamese). An empty
    ``Labels()`` is false.

    Examples
    --------
    >>> yes = Labels(vi="Có", en="Yes")
    >>> yes.get(), yes.get("en")
    ('Có', 'Yes')
    >>> bool(Labels()), bool(Labels(en="Yes"))
    (False, True)
    """

    vi: str = ""
    en: str = ""

    def get(self, lang: str = "vi") -> str:
        """The label in ``lang`` (``"vi"`` or ``"en"``), else in the other language, else ``""``.

        Raises
        ------
        SpecError
            If ``lang`` is not ``"vi"`` or ``"en"``.

        Examples
        --------
        >>> Labels(vi="Tỉnh/thành phố", en="Province").get("en")
        'Province'
        >>> Labels(vi="Có").get("en")
        'Có'
        """
        if lang not in ("vi", "en"):
            raise SpecError(f"language {lang!r} is not one of 'vi', 'en'")
        first, other = (self.vi, self.en) if lang == "vi" else (self.en, self.vi)
        return first or other

    def __bool__(self) -> bool:
        return bool(self.vi or self.en)


@dataclass(frozen=True)
class DesignSpec:
    """The survey design variables (names of columns): the spec's ``[design]`` table.

    Attributes
    ----------
    weights, strata : str or None
    psu, fpc : tuple of str
        One column per sampling stage, stage 1 first.
    lonely_psu : str
        Policy for strata with one PSU (see :class:`gbvstats.design.Design`).

    Examples
    --------
    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> spec.design
    DesignSpec(weights='weight', strata='stratum', psu=('commune',), fpc=(), lonely_psu='fail', nest=False)
    """

    weights: str | None = None
    strata: str | None = None
    psu: tuple[str, ...] = ()
    fpc: tuple[str, ...] = ()
    lonely_psu: LonelyPsu = "fail"
    nest: bool = False

    def columns(self) -> tuple[str, ...]:
        """Every design column named: weights, strata, PSUs per stage, then fpc per stage.

        Examples
        --------
        >>> DesignSpec(weights="weight", strata="stratum", psu=("commune", "household")).columns()
        ('weight', 'stratum', 'commune', 'household')
        """
        cols = [c for c in (self.weights, self.strata) if c]
        return tuple(cols) + self.psu + self.fpc


@dataclass(frozen=True)
class VariableSpec:
    """Metadata for a raw (or derived) variable: labels and the codes it may take.

    From a ``[variables.NAME]`` table. ``values`` maps each valid code to its labels; with
    ``check_labels`` (``check = "labels"``, the default) codes outside them fail the
    ``codes_outside_labels`` check.

    Examples
    --------
    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> urban = spec.variables["urban"]
    >>> urban.label.get("en"), {code: lab.get("en") for code, lab in urban.values.items()}
    ('Urban/rural', {1.0: 'Urban', 2.0: 'Rural'})
    """

    name: str
    label: Labels = Labels()
    values: Mapping[float, Labels] = field(default_factory=dict)
    check_labels: bool = True


@dataclass(frozen=True)
class DerivedSpec:
    """How an analysis variable is made from raw codes.

    ``recode``: ``source`` codes mapped through ``map`` (unmapped codes become missing).
    ``yes_no``: ``source`` with ``yes`` codes -> 1, ``no`` codes -> 0, anything else missing.
    ``any_of``: 1 when any of ``sources`` is 1 (a derived 0/1) or one of ``yes`` (a raw code); 0 when all
    are known and none is; missing otherwise (``missing="as_no"`` counts missing items as no).
    ``flag``: 1 where the expression ``when`` holds, else 0.
    ``categorical``: the first of ``categories`` (code -> condition) whose condition holds, else missing.
    For every type: ``when`` (for any_of) is a condition that must also hold for a 1 (else 0);
    ``universe`` is who the variable is defined for (missing outside it).

    Examples
    --------
    From ``[derived.sought_help_formal]`` in the example spec:

    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> formal = spec.derived["sought_help_formal"]
    >>> formal.type, formal.sources[:2], formal.when, formal.universe
    ('any_of', ('src_police', 'src_health'), 'sought_help_any == 1', 'gbv_any_ever == 1')
    """

    name: str
    type: DerivedType
    source: str | None = None
    sources: tuple[str, ...] = ()
    map: Mapping[float, float] = field(default_factory=dict)
    yes: tuple[float, ...] = (1.0,)
    no: tuple[float, ...] = (2.0,)
    when: str = ""
    universe: str = ""
    missing: MissingRule = "propagate"
    categories: tuple[tuple[float, str], ...] = ()
    label: Labels = Labels()
    values: Mapping[float, Labels] = field(default_factory=dict)
    note: Labels = Labels()

    def depends_on(self) -> set[str]:
        """Names this definition reads (raw or derived variables).

        Taken from ``source``, ``sources`` and the names in ``when``, ``universe`` and the
        ``categories`` conditions.

        Returns
        -------
        set of str

        Examples
        --------
        >>> spec = parse_spec({"derived": {"ipv_12m": {
        ...     "type": "any_of", "sources": ["ipv_phys_12m", "ipv_sex_12m"],
        ...     "universe": "ever_partnered == 1"}}})
        >>> sorted(spec.derived["ipv_12m"].depends_on())
        ['ever_partnered', 'ipv_phys_12m', 'ipv_sex_12m']
        """
        names: set[str] = set()
        if self.source:
            names.add(self.source)
        names.update(self.sources)
        for expr in (self.when, self.universe, *(c for _, c in self.categories)):
            names |= expression_names(expr)
        return names


@dataclass(frozen=True)
class SkipRule:
    """Questions ``ask`` are only asked when ``when`` holds; ``not_asked`` codes mark the skip.

    From a ``[[skip]]`` table. A respondent outside ``when`` should hold a ``not_asked`` code
    (or nothing) in every ``ask`` question; the ``skip_pattern`` check acts on breaches.

    Examples
    --------
    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> spec.skip[1]
    SkipRule(ask=('ipv_phys_12m',), when='ipv_phys_ever == 1', not_asked=(0.0,))
    """

    ask: tuple[str, ...]
    when: str
    not_asked: tuple[float, ...] = (0.0,)


@dataclass(frozen=True)
class ChecksSpec:
    """What to do when a data check fails: ``raise`` (default) or ``report`` (or ``set_missing``).

    ``report`` keeps the data and lists the failure in ``survey.describe().issues`` (with an
    :class:`~gbvstats.errors.ExclusionWarning`); ``set_missing`` sets the offending values to
    missing and counts them in the exclusions. ``duplicate_ids`` cannot be ``set_missing``.

    Examples
    --------
    >>> ChecksSpec()
    ChecksSpec(codes_outside_labels='raise', duplicate_ids='raise', skip_pattern='raise')
    """

    codes_outside_labels: CheckAction = "raise"
    duplicate_ids: CheckAction = "raise"
    skip_pattern: CheckAction = "raise"

    def with_overrides(self, overrides: Mapping[str, str] | None) -> "ChecksSpec":
        """A copy with some checks' actions replaced (e.g. ``read_survey(..., checks=...)``).

        Parameters
        ----------
        overrides : mapping or None
            check name -> action; ``None`` or empty returns ``self``.

        Raises
        ------
        SpecError
            For an unknown check (with close matches) or an action the check does not allow.

        Examples
        --------
        >>> ChecksSpec().with_overrides({"skip_pattern": "report"})
        ChecksSpec(codes_outside_labels='raise', duplicate_ids='raise', skip_pattern='report')
        >>> ChecksSpec().with_overrides({"skip_patern": "report"})
        Traceback (most recent call last):
        ...
        gbvstats.errors.SpecError: unknown check 'skip_patern'; checks are codes_outside_labels, duplicate_ids, skip_pattern; did you mean 'skip_pattern'?
        """
        if not overrides:
            return self
        from dataclasses import replace

        values = {}
        for key, action in overrides.items():
            if key not in CHECK_CHOICES:
                raise SpecError(f"unknown check {key!r}; checks are {', '.join(CHECK_CHOICES)}"
                                + close_matches(key, list(CHECK_CHOICES)))
            _check_choice(f"checks.{key}", action, CHECK_CHOICES[key], "")
            values[key] = action
        return replace(self, **values)


@dataclass(frozen=True)
class Hierarchy:
    """A global-recoding hierarchy for one quasi-identifier, finest level first.

    ``bands``: each level is a tuple of break points (left-closed intervals), e.g. ages
    ``(15, 20, 25, ...)`` then ``(15, 25, 35, ...)``. ``levels``: each level is the name of a coarser
    column that replaces the variable (commune -> district -> province).

    Examples
    --------
    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> spec.disclosure.hierarchies["commune"]
    Hierarchy(variable='commune', kind='levels', levels=('district', 'province'))
    >>> spec.disclosure.hierarchies["age"].levels[-1]
    (15.0, 35.0, 50.0, 65.0)
    """

    variable: str
    kind: Literal["bands", "levels"]
    levels: tuple[Any, ...]


@dataclass(frozen=True)
class DisclosureSpec:
    """Disclosure-control roles of the variables: the spec's ``[disclosure]`` table.

    Attributes
    ----------
    identifiers : tuple of str
        Direct identifiers (names, phone numbers): never reach an output.
    pseudonymise : tuple of str
        Ids replaced by keyed HMAC pseudonyms (:mod:`gbvstats.keys`).
    quasi_identifiers : tuple of str
        Variables an intruder could match on (k-anonymity is checked on them).
    sensitive : tuple of str
        Variables l-diversity is checked on.
    importance : tuple of str
        Quasi-identifiers, most important first: local suppression gives up the last first.
    k, l : int
        Required k-anonymity and l-diversity.
    hierarchies : dict of str to Hierarchy
        Global-recoding hierarchies by variable.
    never_suppress : tuple of str
        Quasi-identifiers local suppression must not blank (e.g. the geography the strata and
        weights give away anyway).
    drop : tuple of str
        Columns not released in the anonymised file.
    on_inference : str
        What anonymise does when a released column gives a suppressed value back: "suppress"
        (default), "error" or "ignore".

    Examples
    --------
    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> d = spec.disclosure
    >>> d.identifiers, d.k, d.l
    (('full_name', 'phone', 'birth_date'), 3, 2)
    """

    identifiers: tuple[str, ...] = ()
    pseudonymise: tuple[str, ...] = ()
    quasi_identifiers: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    importance: tuple[str, ...] = ()
    k: int = 3
    l: int = 2
    hierarchies: Mapping[str, Hierarchy] = field(default_factory=dict)
    never_suppress: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    on_inference: str = "suppress"


@dataclass(frozen=True)
class FileSpec:
    """How to read a text or Excel file: the spec's ``[file]`` table; ``None`` means "detect".

    Attributes
    ----------
    encoding : text encoding of a CSV/text file ("utf-8", "cp1258", "cp1252", "utf-16", ...)
    delimiter : "," ";" "\\t" or "|"
    decimal : "." or "," (with "," a "." groups thousands, and the other way round)
    sheet : Excel sheet name, or 0-based number
    header_row : the row holding the column names (1 = the first row), for files with a title above it

    Examples
    --------
    >>> spec = parse_spec({"file": {"encoding": "cp1258", "delimiter": ";", "header_row": 3}})
    >>> spec.file.options()
    {'encoding': 'cp1258', 'delimiter': ';', 'header_row': 3}
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | int | None = None
    header_row: int | None = None

    def options(self) -> dict[str, Any]:
        """The options that are set, as keyword arguments of :func:`gbvstats.readers.read_raw`.

        Examples
        --------
        >>> FileSpec(decimal=",").options()
        {'decimal': ','}
        """
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class SurveySpec:
    """A parsed survey spec. Build with :func:`load_spec` or :func:`parse_spec`.

    Frozen; its parts are :class:`DesignSpec`, :class:`VariableSpec`, :class:`DerivedSpec`,
    :class:`SkipRule`, :class:`ChecksSpec` and :class:`DisclosureSpec`. ``SurveySpec()`` is the
    empty spec used when a survey is read without one.

    Examples
    --------
    >>> from gbvstats.spec import load_spec
    >>> spec = load_spec("surveys/example/survey.toml")
    >>> spec.name, spec.id, spec.design.weights
    ('community_gbv', 'resp_id', 'weight')
    >>> spec.missing_codes
    {8.0: 'refused', 9.0: "don't know", 0.0: 'not asked'}
    >>> len(spec.derived), len(spec.skip)
    (30, 9)
    """

    name: str = ""
    year: int | None = None
    id: str | None = None
    title: Labels = Labels()
    design: DesignSpec = DesignSpec()
    missing_codes: Mapping[float, str] = field(default_factory=dict)
    variables: Mapping[str, VariableSpec] = field(default_factory=dict)
    derived: Mapping[str, DerivedSpec] = field(default_factory=dict)
    skip: tuple[SkipRule, ...] = ()
    checks: ChecksSpec = ChecksSpec()
    disclosure: DisclosureSpec = DisclosureSpec()
    path: str | None = None
    file: FileSpec = FileSpec()

    def derivation_order(self) -> tuple[str, ...]:
        """Derived variables in an order where each comes after those it reads.

        Raises
        ------
        SpecError
            If derived variables refer to each other in a circle (the message shows the cycle).

        Examples
        --------
        >>> spec = parse_spec({"derived": {
        ...     "sought_help_any": {"type": "yes_no", "source": "sought_help", "universe": "gbv_any == 1"},
        ...     "gbv_any": {"type": "any_of", "sources": ["ipv_phys", "np_phys"]}}})
        >>> spec.derivation_order()
        ('gbv_any', 'sought_help_any')
        """
        return _topological(self.derived, self.path)

    def label(self, name: str, lang: str = "vi") -> str:
        """The spec's label of a raw or derived variable ('' if none).

        Parameters
        ----------
        name : str
        lang : {"vi", "en"}, default "vi"
            The other language is used when this one is empty.

        Examples
        --------
        >>> from gbvstats.spec import load_spec
        >>> spec = load_spec("surveys/example/survey.toml")
        >>> spec.label("urban", "en")
        'Urban/rural'
        >>> spec.label("ipv_12m", "en")
        'Physical, sexual or psychological intimate-partner violence in the past 12 months'
        >>> spec.label("no_such_variable")
        ''
        """
        for item in (self.derived.get(name), self.variables.get(name)):
            if item is not None and item.label:
                return item.label.get(lang)
        return ""

    def value_labels(self, name: str, lang: str = "vi") -> dict[float, str]:
        """The spec's value labels of a variable (derived first, then raw).

        Parameters
        ----------
        name : str
        lang : {"vi", "en"}, default "vi"

        Returns
        -------
        dict
            code (float) -> label; empty if the spec gives none.

        Examples
        --------
        >>> from gbvstats.spec import load_spec
        >>> spec = load_spec("surveys/example/survey.toml")
        >>> spec.value_labels("help_seeking", "en")
        {1.0: 'Sought help', 2.0: 'Told someone only', 3.0: 'Told no one'}
        >>> spec.value_labels("urban")
        {1.0: 'Thành thị', 2.0: 'Nông thôn'}
        """
        item = self.derived.get(name)
        if item is not None and item.values:
            return {k: v.get(lang) for k, v in item.values.items()}
        var = self.variables.get(name)
        return {k: v.get(lang) for k, v in var.values.items()} if var else {}


# --------------------------------------------------------------------------------------------
# parsing


def load_spec(path: str | Path) -> SurveySpec:
    """Read a survey spec from a TOML file.

    Parameters
    ----------
    path : str or Path
        The ``.toml`` file.

    Returns
    -------
    SurveySpec

    Raises
    ------
    SpecError
        The file is missing, is not valid TOML, or has an unknown key, a wrong type or a bad choice.

    Examples
    --------
    >>> import gbvstats as gs
    >>> spec = gs.load_spec("surveys/example/survey.toml")
    >>> spec.design.psu
    ('commune',)
    """
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{p}: survey spec not found; give the path of a .toml file")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{p}: not a valid TOML file ({exc}); fix the syntax at the place shown") from None
    return parse_spec(data, path=str(p))


_TOP = {"survey", "design", "missing", "variables", "derived", "skip", "checks", "disclosure", "file"}


def parse_spec(data: Mapping[str, Any], path: str | None = None) -> SurveySpec:
    """Build a :class:`SurveySpec` from a parsed TOML mapping (see :func:`load_spec`).

    Examples
    --------
    >>> spec = parse_spec({"design": {"weights": "w", "psu": "psu"},
    ...                    "derived": {"hit": {"type": "yes_no", "source": "q1"}}})
    >>> spec.design.psu, spec.derived["hit"].yes
    (('psu',), (1.0,))
    """
    where = path or "<spec>"
    _known(data, _TOP, "", where)

    survey = _table(data, "survey", where)
    _known(survey, {"name", "year", "id", "title", "language"}, "survey", where)
    design_t = _table(data, "design", where)
    _known(design_t, {"weights", "strata", "psu", "fpc", "lonely_psu", "nest"}, "design", where)
    nest = design_t.get("nest", False)
    if not isinstance(nest, bool):
        raise SpecError(f"{where}: design.nest must be true or false (PSU numbers restart in every stratum), "
                        f"got {nest!r}")
    lonely = design_t.get("lonely_psu", "fail")
    _check_choice("design.lonely_psu", lonely, LONELY_PSU, where)
    design = DesignSpec(
        weights=_opt_str(design_t, "weights", "design", where),
        strata=_opt_str(design_t, "strata", "design", where),
        psu=_str_list(design_t.get("psu", ()), "design.psu", where),
        fpc=_str_list(design_t.get("fpc", ()), "design.fpc", where),
        lonely_psu=lonely,
        nest=nest,
    )
    if design.fpc and design.psu and len(design.fpc) > len(design.psu):
        raise SpecError(f"{where}: design.fpc has {len(design.fpc)} names but design.psu has "
                        f"{len(design.psu)} stages; give one fpc per sampling stage")

    missing_t = _table(data, "missing", where)
    _known(missing_t, {"codes"}, "missing", where)
    missing_codes = {_code(k, "missing.codes", where): str(v)
                     for k, v in _table(missing_t, "codes", where, "missing.").items()}

    variables = {}
    for name, t in _table(data, "variables", where).items():
        key = f"variables.{name}"
        if not isinstance(t, dict):
            raise SpecError(f"{where}: {key} must be a table")
        _known(t, {"label", "values", "check"}, key, where)
        check = t.get("check", "labels")
        _check_choice(f"{key}.check", check, ("labels", "none"), where)
        variables[name] = VariableSpec(
            name=name,
            label=_labels(t.get("label"), f"{key}.label", where),
            values=_value_labels(t.get("values", {}), f"{key}.values", where),
            check_labels=check == "labels",
        )

    derived = {}
    for name, t in _table(data, "derived", where).items():
        derived[name] = _derived(name, t, where)

    skip = []
    raw_skip = data.get("skip", [])
    if not isinstance(raw_skip, list):
        raise SpecError(f"{where}: 'skip' must be an array of tables ([[skip]])")
    for i, t in enumerate(raw_skip):
        key = f"skip[{i}]"
        _known(t, {"ask", "when", "not_asked"}, key, where)
        if "ask" not in t or "when" not in t:
            raise SpecError(f"{where}: {key} needs 'ask' (the follow-up questions) and 'when' (who is asked)")
        skip.append(SkipRule(
            ask=_str_list(t["ask"], f"{key}.ask", where),
            when=_expr(t["when"], f"{key}.when", where),
            not_asked=tuple(_code(c, f"{key}.not_asked", where) for c in _list(t.get("not_asked", [0]), f"{key}.not_asked", where)),
        ))

    checks_t = _table(data, "checks", where)
    _known(checks_t, set(CHECK_CHOICES), "checks", where)
    for key, action in checks_t.items():
        _check_choice(f"checks.{key}", action, CHECK_CHOICES[key], where)
    checks = ChecksSpec(**checks_t)

    disclosure = _disclosure(_table(data, "disclosure", where), where)
    file = _file(_table(data, "file", where), where)

    year = survey.get("year")
    if year is not None and not isinstance(year, int):
        raise SpecError(f"{where}: survey.year must be an integer, got {year!r}")
    spec = SurveySpec(
        name=str(survey.get("name", "")),
        year=year,
        id=_opt_str(survey, "id", "survey", where),
        title=_labels(survey.get("title"), "survey.title", where),
        design=design,
        missing_codes=missing_codes,
        variables=variables,
        derived=derived,
        skip=tuple(skip),
        checks=checks,
        disclosure=disclosure,
        path=path,
        file=file,
    )
    spec.derivation_order()  # fail early on cycles
    return spec


def _file(t: Mapping[str, Any], where: str) -> FileSpec:
    _known(t, {"encoding", "delimiter", "decimal", "sheet", "header_row"}, "file", where)
    enc = _opt_str(t, "encoding", "file", where)
    if enc is not None:
        import codecs

        try:
            codecs.lookup(enc)
        except LookupError:
            raise SpecError(f"{where}: file.encoding = {enc!r} is not a known text encoding; use e.g. 'utf-8', "
                            "'cp1258' (Windows Vietnamese), 'cp1252' (Windows Western) or 'utf-16'") from None
    delim = _opt_str(t, "delimiter", "file", where)
    if delim is not None and len(delim.replace("\\t", "\t")) != 1:
        raise SpecError(f"{where}: file.delimiter = {delim!r} must be one character, e.g. ',', ';' or '\\t'")
    dec = t.get("decimal")
    if dec is not None:
        _check_choice("file.decimal", dec, (".", ","), where)
    sheet = t.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, (str, int))):
        raise SpecError(f"{where}: file.sheet must be a sheet name or a 0-based sheet number, got {sheet!r}")
    row = t.get("header_row")
    if row is not None and (isinstance(row, bool) or not isinstance(row, int) or row < 1):
        raise SpecError(f"{where}: file.header_row must be a row number (1 = the first row), got {row!r}")
    return FileSpec(encoding=enc, delimiter=delim.replace("\\t", "\t") if delim else None, decimal=dec,
                    sheet=sheet, header_row=row)


def _derived(name: str, t: Any, where: str) -> DerivedSpec:
    key = f"derived.{name}"
    if not isinstance(t, dict):
        raise SpecError(f"{where}: {key} must be a table")
    if not _NAME_RE.fullmatch(name):
        raise SpecError(f"{where}: {key}: a derived variable's name must be letters, digits and _")
    allowed = {"type", "source", "sources", "map", "yes", "no", "when", "universe", "missing",
               "categories", "label", "values", "note"}
    _known(t, allowed, key, where)
    typ = t.get("type")
    if typ is None:
        raise SpecError(f"{where}: {key} needs a 'type', one of {', '.join(map(repr, DERIVED_TYPES))}")
    _check_choice(f"{key}.type", typ, DERIVED_TYPES, where)
    missing = t.get("missing", "propagate")
    _check_choice(f"{key}.missing", missing, get_args(MissingRule), where)
    need = {"recode": ("source", "map"), "yes_no": ("source",), "any_of": ("sources",),
            "flag": ("when",), "categorical": ("categories",)}[typ]
    for n in need:
        if n not in t:
            raise SpecError(f"{where}: {key} (type {typ!r}) needs '{n}'")
    source = t.get("source")
    if source is not None and not isinstance(source, str):
        raise SpecError(f"{where}: {key}.source must be a variable name (a string)")
    mapping = {}
    for k, v in _table(t, "map", where, f"{key}.").items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise SpecError(f"{where}: {key}.map.{k} must be a number, got {v!r}")
        mapping[_code(k, f"{key}.map", where)] = float(v)
    categories = []
    for k, cond in _table(t, "categories", where, f"{key}.").items():
        categories.append((_code(k, f"{key}.categories", where), _expr(cond, f"{key}.categories.{k}", where)))
    values = _value_labels(t.get("values", {}), f"{key}.values", where)
    if typ in ("yes_no", "any_of", "flag") and not values:
        values = {1.0: Labels("Có", "Yes"), 0.0: Labels("Không", "No")}
    return DerivedSpec(
        name=name,
        type=typ,
        source=source,
        sources=_str_list(t.get("sources", ()), f"{key}.sources", where),
        map=mapping,
        yes=tuple(_code(c, f"{key}.yes", where) for c in _list(t.get("yes", [1]), f"{key}.yes", where)),
        no=tuple(_code(c, f"{key}.no", where) for c in _list(t.get("no", [2]), f"{key}.no", where)),
        when=_expr(t.get("when", ""), f"{key}.when", where),
        universe=_expr(t.get("universe", ""), f"{key}.universe", where),
        missing=missing,
        categories=tuple(categories),
        label=_labels(t.get("label"), f"{key}.label", where),
        values=values,
        note=_labels(t.get("note"), f"{key}.note", where),
    )


def _disclosure(t: Mapping[str, Any], where: str) -> DisclosureSpec:
    allowed = {"identifiers", "pseudonymise", "quasi_identifiers", "sensitive", "importance", "k", "l",
               "hierarchies", "never_suppress", "drop", "on_inference"}
    _known(t, allowed, "disclosure", where)
    hier = {}
    for var, h in _table(t, "hierarchies", where, "disclosure.").items():
        key = f"disclosure.hierarchies.{var}"
        if not isinstance(h, dict):
            raise SpecError(f"{where}: {key} must be a table with 'bands' or 'levels'")
        _known(h, {"bands", "levels"}, key, where)
        if ("bands" in h) == ("levels" in h):
            raise SpecError(f"{where}: {key} needs exactly one of 'bands' (lists of break points, finest "
                            "first) or 'levels' (coarser column names, finest first)")
        if "bands" in h:
            levels = []
            for i, breaks in enumerate(_list(h["bands"], f"{key}.bands", where)):
                b = tuple(float(x) for x in _list(breaks, f"{key}.bands[{i}]", where))
                if len(b) < 2 or any(b2 <= b1 for b1, b2 in zip(b, b[1:])):
                    raise SpecError(f"{where}: {key}.bands[{i}] must be at least two increasing break points")
                levels.append(b)
            hier[var] = Hierarchy(var, "bands", tuple(levels))
        else:
            hier[var] = Hierarchy(var, "levels", _str_list(h["levels"], f"{key}.levels", where))
    on_inference = t.get("on_inference", "suppress")
    if on_inference not in ("suppress", "error", "ignore"):
        raise SpecError(f"{where}: disclosure.on_inference must be 'suppress', 'error' or 'ignore', got "
                        f"{on_inference!r}")
    k, l_ = t.get("k", 3), t.get("l", 2)
    for nm, v in (("k", k), ("l", l_)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise SpecError(f"{where}: disclosure.{nm} must be a positive integer, got {v!r}")
    return DisclosureSpec(
        identifiers=_str_list(t.get("identifiers", ()), "disclosure.identifiers", where),
        pseudonymise=_str_list(t.get("pseudonymise", ()), "disclosure.pseudonymise", where),
        quasi_identifiers=_str_list(t.get("quasi_identifiers", ()), "disclosure.quasi_identifiers", where),
        sensitive=_str_list(t.get("sensitive", ()), "disclosure.sensitive", where),
        importance=_str_list(t.get("importance", ()), "disclosure.importance", where),
        k=k,
        l=l_,
        hierarchies=hier,
        never_suppress=_str_list(t.get("never_suppress", ()), "disclosure.never_suppress", where),
        drop=_str_list(t.get("drop", ()), "disclosure.drop", where),
        on_inference=on_inference,
    )


# --------------------------------------------------------------------------------------------
# helpers


def expression_names(expr: str) -> set[str]:
    """Variable names used in a condition such as ``"a == 1 and b in [2, 3]"``.

    Quoted strings, keywords (``and``, ``or``, ``not``, ``in``) and the functions ``isna``,
    ``notna`` and ``abs`` are not names.

    Parameters
    ----------
    expr : str
        A condition as written in a spec (``when``, ``universe``, ``categories``).

    Returns
    -------
    set of str

    Examples
    --------
    >>> sorted(expression_names("gbv_any_ever == 1 and not (x > 2)"))
    ['gbv_any_ever', 'x']
    """
    if not expr:
        return set()
    stripped = re.sub(r"(['\"]).*?\1", " ", expr)
    return {m.group(0) for m in re.finditer(r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*", stripped)} - _KEYWORDS


def _topological(derived: Mapping[str, DerivedSpec], path: str | None) -> tuple[str, ...]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> None:
        s = state.get(name, 0)
        if s == 2:
            return
        if s == 1:
            cyc = " -> ".join(chain[chain.index(name):] + [name])
            raise SpecError(f"{path or '<spec>'}: derived variables refer to each other in a circle "
                            f"({cyc}); define each from raw variables or earlier ones")
        state[name] = 1
        for dep in sorted(derived[name].depends_on()):
            if dep in derived and dep != name:
                visit(dep, chain + [name])
        state[name] = 2
        order.append(name)

    for name in derived:
        visit(name, [])
    return tuple(order)


def _known(t: Mapping[str, Any], allowed: set[str], prefix: str, where: str) -> None:
    for k in t:
        if k not in allowed:
            full = f"{prefix}.{k}" if prefix else k
            raise SpecError(f"{where}: unknown key {full!r}" + close_matches(k, sorted(allowed))
                            + f" (allowed here: {', '.join(sorted(allowed))})")


def _table(t: Mapping[str, Any], key: str, where: str, prefix: str = "") -> dict:
    v = t.get(key, {})
    if not isinstance(v, dict):
        raise SpecError(f"{where}: {prefix}{key} must be a table, got {type(v).__name__}")
    return v


def _list(v: Any, key: str, where: str) -> list:
    if not isinstance(v, list):
        raise SpecError(f"{where}: {key} must be a list, got {v!r}")
    return v


def _str_list(v: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    v = _list(list(v) if isinstance(v, tuple) else v, key, where)
    if not all(isinstance(x, str) for x in v):
        raise SpecError(f"{where}: {key} must be a name or a list of names, got {v!r}")
    return tuple(v)


def _opt_str(t: Mapping[str, Any], key: str, prefix: str, where: str) -> str | None:
    v = t.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise SpecError(f"{where}: {prefix}.{key} must be a column name (a string), got {v!r}")
    return v


def _code(k: Any, key: str, where: str) -> float:
    try:
        c = float(k)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: {key}: {k!r} is not a numeric code") from None
    if not math.isfinite(c):
        raise SpecError(f"{where}: {key}: {k!r} is not a finite code")
    return c


def _expr(v: Any, key: str, where: str) -> str:
    if not isinstance(v, str):
        raise SpecError(f"{where}: {key} must be a condition written as a string, got {v!r}")
    return v.strip()


def _labels(v: Any, key: str, where: str) -> Labels:
    if v is None:
        return Labels()
    if isinstance(v, str):
        return Labels(vi=v)
    if not isinstance(v, dict):
        raise SpecError(f"{where}: {key} must be a string or {{ vi = ..., en = ... }}")
    _known(v, {"vi", "en"}, key, where)
    return Labels(vi=str(v.get("vi", "")), en=str(v.get("en", "")))


def _value_labels(v: Any, key: str, where: str) -> dict[float, Labels]:
    if not isinstance(v, dict):
        raise SpecError(f"{where}: {key} must be a table of code = label")
    return {_code(k, key, where): _labels(lab, f"{key}.{k}", where) for k, lab in v.items()}


def _check_choice(key: str, value: Any, options: tuple[str, ...], where: str) -> None:
    if value not in options:
        shown = ", ".join(repr(o) for o in options if o)
        raise SpecError(f"{where + ': ' if where else ''}{key} = {value!r} is not one of {shown}"
                        + (close_matches(str(value), [o for o in options if o]) if isinstance(value, str) else ""))
