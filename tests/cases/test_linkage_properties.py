"""Property tests: linkage finds every person exactly once, and its output never holds an identifier or the key."""

from __future__ import annotations

import sys
import unicodedata
import warnings
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cases_helpers import SCHEMA, SECRET, row, test_key, write_csv  # noqa: E402

import gbvstats as gs  # noqa: E402
from gbvstats.cases import fold_text  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Đỗ", "Huỳnh", "Ngô"]
GIVEN = ["Lan", "Huệ", "Đào", "Hương", "Thảo", "Ngọc", "Yến", "Thủy", "Hạnh", "Phượng"]
AGENCIES = ["SWC", "HOTLINE", "POLICE", "HEALTH", "SAFEHOUSE", "LEGAL", "WU"]
COMMUNES = ["920101", "920102", "420503", "491201"]


def strip_marks(s: str) -> str:
    s = unicodedata.normalize("NFD", s.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in s if not unicodedata.combining(c))


SPELLINGS = [lambda s: s, strip_marks, str.upper, lambda s: "  " + s.replace(" ", "   ") + " ",
             lambda s: unicodedata.normalize("NFD", s), lambda s: strip_marks(s).lower()]
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"]

person = st.tuples(st.sampled_from(FAMILY), st.sampled_from(GIVEN),
                   st.dates(min_value=date(1950, 1, 1), max_value=date(2005, 12, 31)),
                   st.sampled_from(COMMUNES))
record_style = st.tuples(st.sampled_from(AGENCIES), st.integers(0, len(SPELLINGS) - 1),
                         st.integers(0, len(DATE_FORMATS) - 1), st.booleans())
people = st.lists(st.tuples(person, st.lists(record_style, min_size=1, max_size=3), st.integers(0, 300)),
                  min_size=1, max_size=8,
                  unique_by=lambda p: (strip_marks(p[0][0] + p[0][1]).lower(), p[0][2], p[0][3]))


def build_rows(spec):
    rows, raw = [], {"names": set(), "dates": set(), "communes": set()}
    seq = 0
    for (fam, giv, birth, commune), styles, day in spec:
        name = f"{fam} Thị {giv} Giả"  # every folded name contains "thi": never a hex substring
        incident = date(2024, 1, 1) + timedelta(days=day)
        for agency, sp, fmt, pad in styles:
            seq += 1
            spelled = SPELLINGS[sp](name)
            bd = birth.strftime(DATE_FORMATS[fmt])
            com = ("0" + commune) if pad else commune
            raw["names"].update({spelled, spelled.strip(), name})
            raw["dates"].update({bd, birth.isoformat()})
            raw["communes"].update({com, commune})
            prov = commune[:2]
            rows.append(row(incident_id=f"{agency}-{seq}", agency=agency, name=spelled, birth_date=bd, commune=com,
                            province=prov, district=commune[:4], incident_date=incident.isoformat(),
                            report_date=(incident + timedelta(days=2)).isoformat(),
                            service_health="provided" if seq % 2 else "referred"))
    return rows, raw


def all_text(linked) -> list[str]:
    texts = [repr(linked), str(linked), linked.summary(), linked._repr_html_()]
    for frame in (linked.records, linked.incidents, linked.survivors, linked.possible_matches, linked.overlap):
        texts.append(frame.to_csv())
        texts.extend(map(str, frame.columns))
        texts.extend(map(str, frame.index))
    ind = linked.indicator("help_received", by=["district"])
    texts += [repr(ind), ind.frame.to_csv()]
    return texts


def cells(linked) -> set[str]:
    out = set()
    for frame in (linked.records, linked.incidents, linked.survivors, linked.possible_matches, linked.overlap):
        for c in frame.columns:
            out.update(frame[c].astype(str).tolist())
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=people)
def test_linkage_finds_each_person_once_and_leaks_nothing(tmp_path_factory, spec):
    tmp = tmp_path_factory.mktemp("link")
    rows, raw = build_rows(spec)
    # split the records over two files of different agencies' habits
    f1 = write_csv(tmp / "a.csv", rows[::2])
    files = [f1] + ([write_csv(tmp / "b.csv", rows[1::2])] if len(rows) > 1 else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        cases = gs.read_cases(files, schema=SCHEMA)
    assert cases.report.rows_kept == len(rows)
    linked = cases.link(key=test_key())

    # every person found exactly once (the spellings differ only in ways normalisation removes)
    assert linked.n_survivors == len(spec)
    assert linked.n_records == len(rows)

    # no identifying column, value or the key anywhere in the output
    for frame in (linked.records, linked.incidents, linked.survivors, linked.possible_matches):
        assert not {"name", "birth_date", "commune", "incident_id"} & set(frame.columns)
    texts = all_text(linked)
    blob = "\n".join(texts)
    folded = {v for v in fold_text(sorted(raw["names"])) if v}
    for value in raw["names"] | folded | raw["dates"]:
        assert value not in blob, value
    values = cells(linked)
    assert not raw["communes"] & values
    secret = SECRET.decode()
    assert secret not in blob and SECRET.hex() not in blob
    assert secret not in repr(test_key())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corrupt=st.lists(st.sampled_from(["ok", "bad_date", "after", "age", "code", "consent", "no", "dup",
                                         "district", "blank_sex"]), min_size=1, max_size=25))
def test_rows_in_equal_rows_kept_plus_rows_excluded(tmp_path_factory, corrupt):
    tmp = tmp_path_factory.mktemp("val")
    rows = []
    for i, kind in enumerate(corrupt):
        r = row(incident_id=f"id{i}", name=f"Lê Thị Số{i} Giả")
        if kind == "bad_date":
            r["report_date"] = "2024-13-40"
        elif kind == "after":
            r["incident_date"] = "2024-04-01"
        elif kind == "age":
            r["age"], r["birth_date"] = "-3", ""
        elif kind == "code":
            r["gbv_type"] = "other"
        elif kind == "consent":
            r["consent"] = ""
        elif kind == "no":
            r["consent"] = "không"
        elif kind == "dup":
            r["incident_id"] = "id0"
        elif kind == "district":
            r["district"] = "9101"
        elif kind == "blank_sex":
            r["sex"] = ""
        rows.append(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        cases = gs.read_cases([write_csv(tmp / "p.csv", rows)], schema=SCHEMA)
    rep = cases.report
    assert rep.rows_read == len(rows) == rep.rows_kept + rep.excluded_total
    expected_kept = sum(k == "ok" or (k == "dup" and i == 0) for i, k in enumerate(corrupt))
    assert rep.rows_kept == expected_kept
    assert len(cases.records) == rep.rows_kept
    errors = rep.issues[rep.issues["severity"].isin(["error", "excluded"])]
    assert set(errors["row"]) == {i + 1 for i, k in enumerate(corrupt) if not (k == "ok" or (k == "dup" and i == 0))}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệ"
                                                       "íìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ ĐÂ-.")),
                         min_size=1, max_size=30), min_size=1, max_size=20))
def test_folding_is_invariant_to_case_spacing_diacritics_and_nfd(names):
    base = fold_text(names)
    for f in (str.upper, strip_marks, lambda s: unicodedata.normalize("NFD", s), lambda s: " " + s + "  "):
        assert list(fold_text([f(n) for n in names])) == list(base)
    for v in base:
        assert v is None or (v.isascii() and v.isalnum() and v == v.lower())


def test_hmac_matches_the_reference_pseudonym_function():
    from gbvstats.cases import _hmac_many
    from gbvstats.disclosure.pseudonym import hmac_hex

    key = test_key()
    values = ["a", "nguyenthilan\x1f1990-05-17\x1f920101", "đ", ""]
    hexes, order = _hmac_many(values, key, "ctx")
    assert list(hexes) == [hmac_hex(v, key, context="ctx")[:16] for v in values]
    assert list(np.argsort(order)) == list(np.argsort(hexes))
    long_key = gs.keys.Key(bytes(range(100)), "long")
    assert _hmac_many(["x"], long_key, "c")[0][0] == hmac_hex("x", long_key, context="c")[:16]


def test_pickling_linked_output_never_carries_the_key(tmp_path):
    import pickle

    rows, _ = build_rows([(("Lê", "Lan", date(1990, 1, 2), "920101"), [("SWC", 0, 0, False)], 5)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.ExclusionWarning)
        linked = gs.read_cases([write_csv(tmp_path / "a.csv", rows)], schema=SCHEMA).link(key=test_key())
    data = pickle.dumps((linked.records, linked.survivors, linked.incidents))
    assert SECRET not in data
    assert isinstance(linked.survivors, pd.DataFrame)
