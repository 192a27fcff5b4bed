"""The indicator catalogue: what each published number means.

The catalogue is bundled as ``gbvstats/data/indicators.toml`` and holds the survey indicators
(help-seeking in the DHS DV17 shape, sources of help in the DV18 shape, formal help-seeking whose list
of formal sources is part of its definition, SDG 5.2.1 and 5.2.2) and the administrative ones
(``help_received``, service status, programme outputs). Each indicator carries its numerator,
denominator, universe (a ``where=`` expression), default CI method, reliability rule set and
Vietnamese/English labels. Users add or override indicators with their own TOML file of the same shape.

Examples
--------
>>> from gbvstats import indicators
>>> ind = indicators.get("help_seeking_formal")
>>> ind.universe
'gbv_any_ever == 1'
>>> "src_police" in ind.any_of and "src_family" not in ind.any_of
True
>>> ind.label["en"]
'People subjected to GBV who seek help from service providers'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Literal, Mapping, get_args

from .errors import SpecError, close_matches

__all__ = ["Indicator", "Catalogue", "catalogue", "get", "KINDS", "TYPES", "CI_METHODS", "RELIABILITY_RULES"]

Kind = Literal["survey", "administrative"]
IndicatorType = Literal["proportion", "categorical", "multiple", "count", "ratio"]
KINDS: tuple[str, ...] = get_args(Kind)
TYPES: tuple[str, ...] = get_args(IndicatorType)
CI_METHODS: tuple[str, ...] = ("logit", "korn-graubard", "wilson", "wald", "t", "clopper-pearson")
RELIABILITY_RULES: tuple[str, ...] = ("dhs", "case_counts", "none")
DIRECTIONS: tuple[str, ...] = ("increase", "decrease")
LANGUAGES: tuple[str, ...] = ("vi", "en")


@dataclass(frozen=True)
class Indicator:
    """One indicator's definition.

    Attributes
    ----------
    id : str
        Catalogue key, e.g. ``"help_seeking_formal"``.
    kind : {"survey", "administrative"}
        A survey estimate (with a sampling interval) or a count over administrative records.
    type : {"proportion", "categorical", "multiple", "count", "ratio"}
        Shape of the outcome.
    variable : str
        Survey variable holding the outcome (proportion, categorical), or ``""``.
    universe : str
        ``where=`` expression that defines the denominator (``""`` = everyone in the module).
    any_of, condition : tuple of str, str
        A derived proportion: 1 when any ``any_of`` variable equals 1 and ``condition`` holds.
    categories : mapping
        Category code -> ``{"vi", "en"}`` labels (categorical).
    items : mapping
        Item variable -> ``{"vi", "en"}`` labels (multiple answers).
    ci, reliability, direction : str
        Default CI method, reliability rule set, which way is progress.
    label, numerator, denominator, note : mapping
        ``{"vi": ..., "en": ...}`` texts for headers and footnotes.
    sdg : str
        The SDG indicator it reports (``"5.2.1"``), or ``""``.
    source : str
        Where the definition came from: ``"bundled"`` or the path of the user's TOML file.

    See Also
    --------
    catalogue, get : look indicators up.

    Examples
    --------
    >>> ind = get("ipv_12m")
    >>> ind
    Indicator('ipv_12m', survey, proportion: 'Intimate-partner violence in the past 12 months (SDG
    5.2.1)')
    >>> ind.variable, ind.universe, ind.ci, ind.direction, ind.sdg
    ('ipv_12m', 'ever_partnered == 1', 'logit', 'decrease', '5.2.1')
    >>> ind.label["vi"]
    'Bạo lực do chồng/bạn tình gây ra trong 12 tháng qua (SDG 5.2.1)'
    """

    id: str
    kind: str
    type: str
    label: Mapping[str, str]
    numerator: Mapping[str, str]
    denominator: Mapping[str, str]
    universe: str = ""
    variable: str = ""
    any_of: tuple[str, ...] = ()
    condition: str = ""
    categories: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    items: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    ci: str = "logit"
    reliability: str = "dhs"
    direction: str = "increase"
    sdg: str = ""
    note: Mapping[str, str] = field(default_factory=dict)
    source: str = "bundled"

    @property
    def is_survey(self) -> bool:
        """True for a survey estimate, False for an administrative count."""
        return self.kind == "survey"

    def text(self, what: str, lang: str = "en") -> str:
        """A label text (``label``, ``numerator``, ``denominator``, ``note``) in ``lang`` (vi/en).

        Parameters
        ----------
        what : {"label", "numerator", "denominator", "note"}
            Which text.
        lang : {"en", "vi"}
            Language.

        Returns
        -------
        str
            The text, or ``""`` when the indicator has none in that language (e.g. no note).

        Raises
        ------
        SpecError
            If ``lang`` is not ``"vi"`` or ``"en"``.

        Examples
        --------
        >>> ind = get("ipv_12m")
        >>> ind.text("denominator")
        'Ever-partnered women'
        >>> ind.text("denominator", "vi")
        'Phụ nữ từng có chồng/bạn tình'
        """
        _check_choice("lang", lang, LANGUAGES)
        return dict(getattr(self, what)).get(lang, "")

    def definition(self, lang: str = "en") -> str:
        """A one-paragraph definition for a footnote: numerator / denominator (+ note).

        Parameters
        ----------
        lang : {"en", "vi"}
            Language of the text.

        Returns
        -------
        str

        Examples
        --------
        >>> get("ipv_12m").definition()
        'Numerator: Ever-partnered women subjected to physical, sexual or psychological violence by
        a current or former partner in the past 12 months. Denominator: Ever-partnered women.'
        >>> get("ipv_12m").definition("vi")
        'Tử số: ... Mẫu số: Phụ nữ từng có chồng/bạn tình.'
        """
        _check_choice("lang", lang, LANGUAGES)
        if lang == "vi":
            out = f"Tử số: {self.numerator.get('vi', '')}. Mẫu số: {self.denominator.get('vi', '')}."
        else:
            out = f"Numerator: {self.numerator.get('en', '')}. Denominator: {self.denominator.get('en', '')}."
        if self.note.get(lang):
            out += " " + self.note[lang]
        return out

    def __repr__(self) -> str:
        return f"Indicator({self.id!r}, {self.kind}, {self.type}: {self.label.get('en', '')!r})"


@dataclass(frozen=True)
class Catalogue:
    """An immutable mapping of indicator id -> :class:`Indicator`.

    Made by :func:`catalogue`. ``catalogue()[id]`` raises a :class:`~gbvstats.errors.SpecError`
    naming close matches when the id is unknown; ``in``, ``len`` and iteration (over ids) work as
    for a dict.

    Attributes
    ----------
    indicators : mapping
        Indicator id -> :class:`Indicator` (read-only).

    Examples
    --------
    >>> cat = catalogue()
    >>> len(cat), "help_seeking_formal" in cat
    (20, True)
    >>> cat["ipv_12"]
    Traceback (most recent call last):
    ...
    gbvstats.errors.SpecError: unknown indicator 'ipv_12'; did you mean 'ipv_12m', 'npsv_12m'?; ...

    A project adds its own indicator (or replaces a bundled one) with a TOML file of the same
    shape as ``gbvstats/data/indicators.toml``:

    >>> import os, tempfile
    >>> toml = '''
    ... [indicators.hotline_calls]
    ... kind = "administrative"
    ... type = "count"
    ... label = { vi = "Số cuộc gọi đường dây nóng", en = "Calls to the hotline" }
    ... numerator = { vi = "Số cuộc gọi", en = "Calls received" }
    ... denominator = { vi = "Không áp dụng", en = "Not applicable" }
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "my_indicators.toml")
    ...     with open(path, "w", encoding="utf-8") as fh:
    ...         _ = fh.write(toml)
    ...     mine = catalogue(extra=path)
    >>> len(mine), mine["hotline_calls"].is_survey
    (21, False)
    """

    indicators: Mapping[str, Indicator]

    def __getitem__(self, key: str) -> Indicator:
        try:
            return self.indicators[key]
        except KeyError:
            raise SpecError(
                f"unknown indicator {key!r}{close_matches(key, list(self.indicators))}; "
                f"the catalogue has: {', '.join(sorted(self.indicators))}. "
                "Add your own with catalogue(extra='my_indicators.toml')."
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self.indicators

    def __iter__(self):
        return iter(self.indicators)

    def __len__(self) -> int:
        return len(self.indicators)

    def ids(self) -> list[str]:
        """The indicator ids, in catalogue order.

        Returns
        -------
        list of str

        Examples
        --------
        >>> catalogue().ids()[:4]
        ['gbv_any_ever', 'gbv_any_12m', 'ipv_12m', 'npsv_12m']
        """
        return list(self.indicators)

    def __repr__(self) -> str:
        return f"Catalogue({len(self)} indicators: {', '.join(self.indicators)})"


def _check_choice(name: str, value: object, options: tuple[str, ...], where: str = "") -> None:
    if value not in options:
        raise SpecError(
            f"{where}{name} = {value!r} is not one of {', '.join(map(repr, options))}"
            f"{close_matches(str(value), options)}"
        )


def _bilingual(raw: object, where: str, name: str, required: bool = True) -> Mapping[str, str]:
    if raw is None:
        if required:
            raise SpecError(f"{where}: {name} is missing; give {name} = {{ vi = \"...\", en = \"...\" }}")
        return MappingProxyType({})
    if isinstance(raw, str):
        raw = {"vi": raw, "en": raw}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise SpecError(f"{where}: {name} must be a table {{ vi = \"...\", en = \"...\" }}, got {raw!r}")
    missing = [lang for lang in LANGUAGES if lang not in raw]
    if required and missing:
        raise SpecError(f"{where}: {name} has no {', '.join(missing)} text; give both vi and en")
    return MappingProxyType(dict(raw))


_KNOWN_FIELDS = {
    "kind", "type", "label", "numerator", "denominator", "universe", "variable", "any_of", "condition",
    "categories", "items", "ci", "reliability", "direction", "sdg", "note",
}


def _parse_indicator(key: str, raw: dict, source: str) -> Indicator:
    where = f"{source}: [indicators.{key}]"
    if not isinstance(raw, dict):
        raise SpecError(f"{where} must be a table")
    unknown = sorted(set(raw) - _KNOWN_FIELDS)
    if unknown:
        raise SpecError(
            f"{where}: unknown field(s) {', '.join(map(repr, unknown))}"
            f"{close_matches(unknown[0], sorted(_KNOWN_FIELDS))}; known fields: {', '.join(sorted(_KNOWN_FIELDS))}"
        )
    for name, options in (("kind", KINDS), ("type", TYPES)):
        if name not in raw:
            raise SpecError(f"{where}: {name} is missing; give one of {', '.join(map(repr, options))}")
        _check_choice(name, raw[name], options, where + ": ")
    _check_choice("ci", raw.get("ci", "logit"), CI_METHODS, where + ": ")
    _check_choice("reliability", raw.get("reliability", "dhs"), RELIABILITY_RULES, where + ": ")
    _check_choice("direction", raw.get("direction", "increase"), DIRECTIONS, where + ": ")
    kind, typ = raw["kind"], raw["type"]
    variable = str(raw.get("variable", ""))
    any_of = raw.get("any_of", [])
    if not isinstance(any_of, list) or not all(isinstance(a, str) for a in any_of):
        raise SpecError(f"{where}: any_of must be a list of variable names")
    if kind == "survey" and typ in ("proportion", "categorical") and not (variable or any_of):
        raise SpecError(f"{where}: a survey {typ} needs variable = \"...\" (or any_of = [...])")
    categories: dict[int, Mapping[str, str]] = {}
    raw_cats = raw.get("categories", {})
    if typ == "categorical" and not raw_cats:
        raise SpecError(f"{where}: a categorical indicator needs [indicators.{key}.categories] code = {{vi, en}}")
    for code, lab in raw_cats.items():
        try:
            icode = int(code)
        except ValueError:
            raise SpecError(f"{where}: category code {code!r} is not an integer") from None
        categories[icode] = _bilingual(lab, where, f"categories.{code}")
    items = {str(k): _bilingual(v, where, f"items.{k}") for k, v in raw.get("items", {}).items()}
    if typ == "multiple" and kind == "survey" and not items:
        raise SpecError(f"{where}: a multiple-answer indicator needs [indicators.{key}.items] variable = {{vi, en}}")
    return Indicator(
        id=key,
        kind=kind,
        type=typ,
        label=_bilingual(raw.get("label"), where, "label"),
        numerator=_bilingual(raw.get("numerator"), where, "numerator"),
        denominator=_bilingual(raw.get("denominator"), where, "denominator"),
        universe=str(raw.get("universe", "")),
        variable=variable,
        any_of=tuple(any_of),
        condition=str(raw.get("condition", "")),
        categories=MappingProxyType(categories),
        items=MappingProxyType(items),
        ci=raw.get("ci", "logit"),
        reliability=raw.get("reliability", "dhs"),
        direction=raw.get("direction", "increase"),
        sdg=str(raw.get("sdg", "")),
        note=_bilingual(raw.get("note"), where, "note", required=False),
        source=source,
    )


def _load_toml(path: Path | str, text: str | None = None) -> dict:
    try:
        if text is None:
            with open(path, "rb") as fh:
                return tomllib.load(fh)
        return tomllib.loads(text)
    except FileNotFoundError:
        from .errors import ReadError

        raise ReadError(f"{path}: no such file; give the path of an indicator TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc}); fix the syntax at the place named") from None


def parse(data: dict, source: str) -> dict[str, Indicator]:
    """Parse a decoded TOML document ``{"indicators": {id: {...}}}`` into indicators."""
    if "indicators" not in data or not isinstance(data["indicators"], dict):
        raise SpecError(f"{source}: no [indicators.<id>] tables found; see gbvstats/data/indicators.toml")
    return {key: _parse_indicator(key, raw, source) for key, raw in data["indicators"].items()}


def bundled_text() -> str:
    """The text of the bundled catalogue (hashed into publication manifests)."""
    return resources.files("gbvstats").joinpath("data/indicators.toml").read_text(encoding="utf-8")


def catalogue(extra: str | Path | None = None) -> Catalogue:
    """The bundled indicator catalogue, optionally extended or overridden by a user TOML file.

    Parameters
    ----------
    extra : path, optional
        A TOML file with ``[indicators.<id>]`` tables; an id already in the catalogue replaces it.

    Returns
    -------
    Catalogue

    Examples
    --------
    >>> from gbvstats.indicators import catalogue
    >>> cat = catalogue()
    >>> cat["ipv_12m"].sdg
    '5.2.1'
    >>> cat["help_received"].kind
    'administrative'
    """
    inds = parse(tomllib.loads(bundled_text()), "gbvstats/data/indicators.toml")
    if extra is not None:
        inds.update(parse(_load_toml(extra), str(extra)))
    return Catalogue(MappingProxyType(inds))


def get(indicator_id: str, extra: str | Path | None = None) -> Indicator:
    """One indicator from :func:`catalogue`.

    Parameters
    ----------
    indicator_id : str
        The indicator's id, e.g. ``"help_seeking"``.
    extra : path, optional
        A user TOML file extending the catalogue (see :func:`catalogue`).

    Returns
    -------
    Indicator

    Raises
    ------
    SpecError
        If the id is unknown (the message names close matches).

    Examples
    --------
    >>> from gbvstats.indicators import get
    >>> sorted(get("help_seeking").categories)
    [1, 2, 3]
    """
    return catalogue(extra)[indicator_id]
