"""Generate the synthetic administrative case records of the example (all people are fake).

Eight agencies of the four example provinces record GBV incidents of 2024. The same survivor is
often recorded by several agencies, each writing her identifying fields its own way (diacritics
dropped, upper case, extra spaces, decomposed Unicode, another date format, zero-padded commune
codes), so linkage has to normalise before it can match. Some rows are invalid on purpose and some
survivors did not consent to statistical use. The true numbers go to ``cases_truth.json``.

Names are obviously fake: every one ends in "Giả" ("fake").

Run alone: ``python surveys/generate_cases.py`` (writes into surveys/example/), or call
``main(outdir, seed)`` (surveys/generate.py does, at the end).
"""

from __future__ import annotations

import csv
import json
import sys
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from localities import districts  # noqa: E402

AGENCIES = ["SWC", "HOTLINE", "CHILD111", "POLICE", "HEALTH", "SAFEHOUSE", "LEGAL", "WU"]
FILES = {
    "SWC": "swc_2024.xlsx",
    "HOTLINE": "hotline_18008065_2024.csv",
    "CHILD111": "child_helpline_111_2024.csv",
    "POLICE": "police_2024.csv",
    "HEALTH": "health_2024.csv",
    "SAFEHOUSE": "safe_house_2024.csv",
    "LEGAL": "legal_aid_2024.csv",
    "WU": "womens_union_2024.csv",
}
# how each agency writes dates (all among the schema's date_formats)
DATE_FORMAT = {"SWC": "excel", "HOTLINE": "%d/%m/%Y", "CHILD111": "%d/%m/%Y", "POLICE": "%d.%m.%Y",
               "HEALTH": "%Y-%m-%d", "SAFEHOUSE": "%Y-%m-%d", "LEGAL": "%d-%m-%Y", "WU": "%Y-%m-%d"}
ENTRY_WEIGHTS = {"SWC": 0.18, "HOTLINE": 0.22, "CHILD111": 0.0, "POLICE": 0.2, "HEALTH": 0.18, "SAFEHOUSE": 0.06,
                 "LEGAL": 0.04, "WU": 0.12}
REFERRAL_CODE = {"SWC": "swc", "HOTLINE": "hotline", "CHILD111": "hotline", "POLICE": "police", "HEALTH": "health",
                 "SAFEHOUSE": "other", "LEGAL": "other", "WU": "community"}
SERVICES = ["safe_house", "health", "psychosocial", "legal", "police", "livelihoods", "child_protection"]
GBV_TYPES = ["rape", "sexual_assault", "physical_assault", "forced_marriage", "denial_of_resources",
             "psychological_abuse"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý"]
GIVEN_F = ["Lan", "Hoa", "Huệ", "Mai", "Đào", "Cúc", "Hương", "Thảo", "Ngọc", "Yến", "Trang", "Hằng", "Thủy",
           "Nga", "Hạnh", "Loan", "Liên", "Phượng", "Diệu", "Oanh", "Tuyết", "Nhung"]
GIVEN_M = ["Nam", "Hùng", "Dũng", "Tuấn", "Minh", "Đức"]
HEADER = ["incident_id", "agency", "report_date", "incident_date", "name", "birth_date", "commune", "sex", "age",
          "province", "district", "gbv_type", "context", "perpetrator", "referral_source", "consent",
          *[f"service_{s}" for s in SERVICES]]
# the hotline writes Vietnamese headers (aliases in the schema)
HOTLINE_HEADER = {"incident_id": "ma_vu", "report_date": "ngay_tiep_nhan", "incident_date": "ngay_xay_ra",
                  "name": "ho_ten", "birth_date": "ngay_sinh", "commune": "ma_xa", "age": "tuoi",
                  "consent": "dong_y"}

N_SURVIVORS = 420


def _strip_marks(text: str) -> str:
    out = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in out if not unicodedata.combining(ch))


def _variant(name: str, rng: np.random.Generator) -> str:
    """How one agency may write a name: the same person, written differently."""
    k = rng.integers(0, 6)
    if k == 0:
        return _strip_marks(name)
    if k == 1:
        return name.upper()
    if k == 2:
        return "  " + name.replace(" ", "  ") + " "
    if k == 3:
        return unicodedata.normalize("NFD", name)
    if k == 4:
        return _strip_marks(name).lower()
    return name


def _fmt_date(d: date | None, fmt: str):
    if d is None:
        return None
    if fmt == "excel":
        return datetime(d.year, d.month, d.day)
    return d.strftime(fmt)


def _make_survivors(rng: np.random.Generator) -> list[dict]:
    dist = districts()
    people = []
    for i in range(N_SURVIVORS):
        d = dist[int(rng.integers(0, len(dist)))]
        child = rng.random() < 0.15
        male = rng.random() < (0.3 if child else 0.05)
        given = GIVEN_M if male else GIVEN_F
        middle = "Văn" if male else "Thị"
        name = f"{FAMILY[rng.integers(0, len(FAMILY))]} {middle} {given[rng.integers(0, len(given))]} Giả"
        age = int(rng.integers(6, 18)) if child else int(rng.integers(18, 66))
        people.append({
            "pid": i, "name": name, "sex": "M" if male else "F", "child": child, "age0": age,
            "province": d["province"], "district": d["district"],
            "commune": d["district"] * 100 + int(rng.integers(1, 13)),
            "birth": None,
        })
    # planted namesakes: same name and birth date, another commune; same name and commune, another birth date
    for a, b in [(0, 1), (2, 3)]:
        people[b]["name"] = people[a]["name"]
        people[b]["sex"] = people[a]["sex"]
        people[b]["age0"] = people[a]["age0"]
        people[b]["child"] = people[a]["child"]
        people[b]["same_birth_as"] = a
        if people[b]["commune"] == people[a]["commune"]:
            people[b]["commune"] += 1 if people[b]["commune"] % 100 < 12 else -1
    for a, b in [(4, 5), (6, 7)]:
        people[b]["name"] = people[a]["name"]
        people[b]["sex"] = people[a]["sex"]
        people[b]["province"], people[b]["district"], people[b]["commune"] = (
            people[a]["province"], people[a]["district"], people[a]["commune"])
    return people


def _build(rng: np.random.Generator):
    people = _make_survivors(rng)
    records: list[dict] = []
    incidents: list[dict] = []
    entry = [a for a in AGENCIES if ENTRY_WEIGHTS[a] > 0]
    p_entry = np.array([ENTRY_WEIGHTS[a] for a in entry])
    p_entry /= p_entry.sum()
    year_start = date(2024, 1, 1)
    for p in people:
        n_inc = 1 if rng.random() < 0.85 else 2
        first_report = year_start + timedelta(days=int(rng.integers(0, 330)))
        for k in range(n_inc):
            report = first_report + timedelta(days=int(rng.integers(0, 20)) if k == 0 else int(rng.integers(30, 300)))
            if report.year > 2024:
                report = date(2024, 12, int(rng.integers(1, 29)))
            lag = int(rng.choice([0, 1, 2, 3, 4, 5, 8, 12, 20, 28, 45, 90]))
            incident = report - timedelta(days=lag)
            if any(i["pid"] == p["pid"] and i["incident_date"] == incident for i in incidents[-1:]):
                incident -= timedelta(days=1)  # two incidents of one survivor never share a date
            inc_id = len(incidents)
            if p["birth"] is None:
                if "same_birth_as" in p:
                    p["birth"] = people[p["same_birth_as"]]["birth"]
                else:
                    bd = incident - timedelta(days=int(365.25 * p["age0"] + rng.integers(0, 360)))
                    p["birth"] = bd
            gtype = str(rng.choice(GBV_TYPES, p=[0.08, 0.10, 0.38, 0.04, 0.12, 0.28]))
            if p["child"]:
                context, perp = str(rng.choice(["family", "non_partner"])), str(rng.choice(["parent", "relative", "acquaintance"]))
            else:
                context = str(rng.choice(["ipv", "family", "non_partner"], p=[0.7, 0.15, 0.15]))
                perp = {"ipv": str(rng.choice(["husband", "former_partner"])), "family": "relative",
                        "non_partner": str(rng.choice(["acquaintance", "stranger"]))}[context]
            # agencies that saw this incident, first one is the entry point
            if p["child"]:
                first_ag = "CHILD111" if rng.random() < 0.6 else str(rng.choice(entry, p=p_entry))
            else:
                first_ag = str(rng.choice(entry, p=p_entry))
            n_ag = int(rng.choice([1, 2, 3], p=[0.5, 0.32, 0.18]))
            others = [a for a in AGENCIES if a != first_ag and a != "CHILD111"]
            chain = [first_ag] + [str(a) for a in rng.choice(others, size=n_ag - 1, replace=False)]
            # needs of the incident (some state none); the agencies split the services between them
            needs = [] if rng.random() < 0.1 else list(rng.choice(SERVICES[:6] if not p["child"] else SERVICES,
                                                               size=int(rng.integers(1, 4)), replace=False))
            incidents.append({"incident": inc_id, "pid": p["pid"], "incident_date": incident, "needs": needs})
            day = report
            for j, ag in enumerate(chain):
                if j:
                    day = day + timedelta(days=int(rng.integers(0, 15)))
                services = {}
                for s in needs:
                    if rng.random() < 0.75 or j == 0:
                        services[s] = str(rng.choice(["provided", "referred", "pending", "declined", "unavailable"],
                                                     p=[0.45, 0.3, 0.1, 0.07, 0.08]))
                ref = (str(rng.choice(["self", "family", "community", "school", "other"], p=[0.45, 0.25, 0.2, 0.05, 0.05]))
                       if j == 0 else REFERRAL_CODE[chain[j - 1]])
                records.append({
                    "pid": p["pid"], "incident": inc_id, "agency": ag, "report_date": min(day, date(2024, 12, 31)),
                    "incident_date": incident, "gbv_type": gtype, "context": context, "perpetrator": perp,
                    "referral_source": ref, "services": services, "consent": "yes", "invalid": None,
                })
    return people, records, incidents


def _plant_problems(people, records, rng):
    """Non-consent and invalid rows. Invalid rows belong to fresh survivors seen nowhere else."""
    # non-consent: 8 records of survivors seen elsewhere too, and 6 survivors seen only once
    multi = {}
    for r in records:
        multi.setdefault(r["pid"], []).append(r)
    several = [pid for pid, rs in multi.items() if len(rs) >= 2]
    single = [pid for pid, rs in multi.items() if len(rs) == 1]
    for pid in rng.choice(several, size=8, replace=False):
        multi[int(pid)][-1]["consent"] = "no"
    for pid in rng.choice(single, size=6, replace=False):
        multi[int(pid)][0]["consent"] = "no"
    # three single-record survivors whose birth date the agency did not record
    rest = [pid for pid in single if multi[pid][0]["consent"] == "yes"]
    for pid in rng.choice(rest, size=3, replace=False):
        multi[int(pid)][0]["no_birth"] = True
    # invalid rows: fresh fake survivors
    kinds = (["bad_date"] * 3 + ["incident_after_report"] * 3 + ["age_out_of_range"] * 2 + ["unknown_code"] * 3
             + ["locality_mismatch"] * 1 + ["missing_consent"] * 2 + ["duplicate_incident_id"] * 2)
    dist = districts()
    for k, kind in enumerate(kinds):
        d = dist[int(rng.integers(0, len(dist)))]
        pid = len(people)
        people.append({"pid": pid, "name": f"{FAMILY[k % len(FAMILY)]} Thị Lỗi {k} Giả", "sex": "F", "child": False,
                       "age0": 30, "province": d["province"], "district": d["district"],
                       "commune": d["district"] * 100 + 1, "birth": date(1994, 1, 1 + k)})
        ag = AGENCIES[[0, 1, 3, 4, 5, 6, 7][k % 7]]
        rep = date(2024, 6, 1 + k)
        records.append({"pid": pid, "incident": -1, "agency": ag, "report_date": rep,
                        "incident_date": rep - timedelta(days=3), "gbv_type": "physical_assault", "context": "ipv",
                        "perpetrator": "husband", "referral_source": "self", "services": {"health": "provided"},
                        "consent": "yes", "invalid": kind})


def _row(r: dict, p: dict, seq: int, rng: np.random.Generator) -> dict:
    ag = r["agency"]
    fmt = DATE_FORMAT[ag]
    inv = r["invalid"]
    age = (r["incident_date"] - p["birth"]).days // 365 if p["birth"] else p["age0"]
    if p["birth"]:
        b, i = p["birth"], r["incident_date"]
        age = i.year - b.year - ((i.month, i.day) < (b.month, b.day))
    commune = str(p["commune"])
    if ag == "POLICE":
        commune = "0" + commune  # the police system pads commune codes
    row = {
        "incident_id": f"{ag[:3]}-2024-{seq:04d}", "agency": ag,
        "report_date": _fmt_date(r["report_date"], fmt), "incident_date": _fmt_date(r["incident_date"], fmt),
        "name": _variant(p["name"], rng) if ag != "SWC" else p["name"],
        "birth_date": None if r.get("no_birth") else _fmt_date(p["birth"], fmt), "commune": commune,
        "sex": p["sex"], "age": None if (ag == "HOTLINE" and rng.random() < 0.4) else age,
        "province": p["province"], "district": p["district"], "gbv_type": r["gbv_type"], "context": r["context"],
        "perpetrator": r["perpetrator"], "referral_source": r["referral_source"], "consent": r["consent"],
    }
    for s in SERVICES:
        row[f"service_{s}"] = r["services"].get(s)
    if inv == "bad_date":
        row["incident_date"] = "31/02/2024"
    elif inv == "incident_after_report":
        row["incident_date"] = _fmt_date(r["report_date"] + timedelta(days=5), fmt)
    elif inv == "age_out_of_range":
        row["age"], row["birth_date"] = 130, None
    elif inv == "unknown_code":
        row["gbv_type"] = "assault"
    elif inv == "locality_mismatch":
        row["district"] = 4201 if p["province"] != 42 else 9201
    elif inv == "missing_consent":
        row["consent"] = None
    return row


def main(outdir: Path | str = Path(__file__).resolve().parent / "example", seed: int = 2024) -> dict:
    """Write the agency files into ``outdir/cases/`` and the truth into ``outdir/cases_truth.json``.

    Returns the truth dict. Same seed, same bytes (the .xlsx has fixed document properties).
    """
    outdir = Path(outdir)
    rng = np.random.default_rng(seed)
    people, records, incidents = _build(rng)
    _plant_problems(people, records, rng)
    by_pid = {p["pid"]: p for p in people}
    rows_by_agency: dict[str, list[dict]] = {a: [] for a in AGENCIES}
    records.sort(key=lambda r: (r["agency"], r["report_date"], r["pid"]))
    dup_rows = []
    for r in records:
        if r["invalid"] == "duplicate_incident_id":
            dup_rows.append(r)
            continue
        seq = len(rows_by_agency[r["agency"]]) + 1
        row = _row(r, by_pid[r["pid"]], seq, rng)
        r["incident_id"] = row["incident_id"]
        rows_by_agency[r["agency"]].append(row)
    for r in dup_rows:  # appended last, reusing the id of the agency's first row: the first is kept
        row = _row(r, by_pid[r["pid"]], 1, rng)
        rows_by_agency[r["agency"]].append(row)
    # the health facility switched date format part-way through the year (valid, but mixed: warned)
    mixed = 0
    for row in rows_by_agency["HEALTH"]:
        if row["report_date"] >= "2024-11-01":
            for col in ("report_date", "incident_date"):
                row[col] = datetime.strptime(row[col], "%Y-%m-%d").strftime("%d/%m/%Y")
            mixed += 1

    cases_dir = outdir / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    for ag, rows in rows_by_agency.items():
        path = cases_dir / FILES[ag]
        if path.suffix == ".xlsx":
            _write_xlsx(path, rows)
        else:
            header = [HOTLINE_HEADER.get(h, h) if ag == "HOTLINE" else h for h in HEADER]
            with path.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(header)
                for row in rows:
                    w.writerow(["" if row[h] is None else row[h] for h in HEADER])

    truth = _truth(people, records, incidents, rows_by_agency, mixed)
    (outdir / "cases_truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def _write_xlsx(path: Path, rows: list[dict]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "README"
    ws.append(["Synthetic case records of the Social Work Centre (fake people). Records are on sheet 'cases'."])
    cs = wb.create_sheet("cases")
    cs.append(HEADER)
    for row in rows:
        cs.append([row[h] for h in HEADER])
        for cell in cs[cs.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = "dd/mm/yyyy"
    fixed = datetime(2024, 12, 31, 0, 0, 0)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "gbvstats generate_cases.py"
    # zip entries carry the current time: rewrite them with a fixed one so the bytes are reproducible
    import io
    import zipfile

    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed_info = zipfile.ZipInfo(info.filename, date_time=(2024, 12, 31, 0, 0, 0))
            fixed_info.compress_type = zipfile.ZIP_DEFLATED
            fixed_info.external_attr = 0o600 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                import re

                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>2024-12-31T00:00:00Z\g<2>", data)
            dst.writestr(fixed_info, data)


def _truth(people, records, incidents, rows_by_agency, mixed) -> dict:
    valid = [r for r in records if r["invalid"] is None]
    counted = [r for r in valid if r["consent"] == "yes"]
    survivors = sorted({r["pid"] for r in counted})
    inc_ids = sorted({r["incident"] for r in counted})
    inc_by_id = {i["incident"]: i for i in incidents}
    # help_received over counted incidents: union of what the counted records of the incident say
    needs = {}
    helped = {}
    for r in counted:
        st = r["services"]
        needs[r["incident"]] = needs.get(r["incident"], False) or bool(st)
        helped[r["incident"]] = helped.get(r["incident"], False) or any(v in ("provided", "referred") for v in st.values())
    denom = sum(needs[i] for i in inc_ids)
    numer = sum(needs[i] and helped[i] for i in inc_ids)
    # possible matches: counted survivors agreeing on all linkage fields but one (fields known)
    by_pid = {p["pid"]: p for p in people}
    no_birth = {r["pid"] for r in counted if r.get("no_birth")}
    vals = {pid: (by_pid[pid]["name"], None if pid in no_birth else by_pid[pid]["birth"], by_pid[pid]["commune"])
            for pid in survivors}
    pairs = 0
    ids = list(vals)
    for x in range(len(ids)):
        for y in range(x + 1, len(ids)):
            a, b = vals[ids[x]], vals[ids[y]]
            for drop in range(3):
                if all(a[g] is not None and a[g] == b[g] for g in range(3) if g != drop):
                    pairs += 1
                    break
    excluded: dict[str, int] = {}
    for r in records:
        if r["invalid"]:
            excluded[r["invalid"]] = excluded.get(r["invalid"], 0) + 1
        elif r["consent"] == "no":
            excluded["no_consent"] = excluded.get("no_consent", 0) + 1
    per_agency = {a: len(rows) for a, rows in rows_by_agency.items()}
    multi_agency = {}
    for r in counted:
        multi_agency.setdefault(r["pid"], set()).add(r["agency"])
    return {
        "description": "True values behind the synthetic case records (generate_cases.py). Fake people only.",
        "rows_read": sum(per_agency.values()),
        "rows_per_agency": per_agency,
        "rows_kept": len(counted),
        "excluded": dict(sorted(excluded.items())),
        "mixed_date_format_rows": mixed * 2,
        "survivors_true": len(survivors),
        "survivors_seen_by_2plus_agencies": sum(len(v) > 1 for v in multi_agency.values()),
        "incidents_true": len(inc_ids),
        "incidents_by_type": {t: sum(inc_by_id[i]["incident"] == i and _type_of(counted, i) == t for i in inc_ids)
                              for t in GBV_TYPES},
        "records_without_birth_date": len(no_birth),
        "possible_match_pairs": pairs,
        "help_received": {"numerator": int(numer), "denominator": int(denom)},
    }


def _type_of(counted, inc):
    for r in counted:
        if r["incident"] == inc:
            return r["gbv_type"]
    return None


if __name__ == "__main__":
    out = main()
    print(json.dumps(out, indent=2, ensure_ascii=False))
