"""Generate the synthetic example survey: a population, three survey rounds and the true values.

    python surveys/generate.py            # rewrites surveys/example/

Everything here is synthetic: real province and district names (``surveys/localities.py``), invented
people. The population is women 15-64 in the communes of the four example provinces, one eligible woman
per household. Each round is a stratified two-stage sample:

* strata: province x urban/rural (stratum code = province * 10 + urban, urban 1 / rural 2);
* stage 1: communes drawn with probability proportional to their number of households (systematic
  PPS, certainty communes taken with probability 1), or by simple random sampling (``method="srs"``);
* stage 2: a fixed number of households per commune by simple random sampling, with household
  non-response; the design weight is 1 / (P(commune) * respondents / households) — the inverse of the
  selection probability after the within-commune non-response adjustment.

Levels are set to resemble the Viet Nam national study on violence against women 2019: lifetime
physical or sexual violence by any perpetrator ~ 33%, ever-partnered ~ 88%, intimate-partner violence
in the past 12 months ~ 17%, non-partner sexual violence in the past 12 months ~ 2.5%; about half of the
women ever subjected to violence told no one, and 10-15% sought help from a formal service provider,
rising from round to round and higher in Cần Thơ.

Item non-response (8 refused, 9 don't know) is drawn completely at random, so estimates from complete
cases are unbiased for the true values written to ``truth.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from localities import PROVINCES, districts  # noqa: E402

YEARS = (2022, 2023, 2024)
FORMAL_SOURCES = ("src_police", "src_health", "src_social_work_centre", "src_hotline", "src_trusted_address",
                  "src_legal_aid", "src_womens_union", "src_local_leader", "src_religious")
INFORMAL_SOURCES = ("src_family", "src_friends", "src_neighbour")
SOURCES = FORMAL_SOURCES + INFORMAL_SOURCES
#: P(source cited | formal / informal help sought): the mix among those who sought that kind of help
_SOURCE_P = {
    "src_police": 0.45, "src_health": 0.30, "src_social_work_centre": 0.10, "src_hotline": 0.08,
    "src_trusted_address": 0.07, "src_legal_aid": 0.05, "src_womens_union": 0.35, "src_local_leader": 0.30,
    "src_religious": 0.03, "src_family": 0.75, "src_friends": 0.35, "src_neighbour": 0.15,
}
VIOLENCE_ITEMS = ("ipv_phys_ever", "ipv_phys_12m", "ipv_sex_ever", "ipv_sex_12m", "ipv_psych_ever",
                  "ipv_psych_12m", "np_phys_ever", "np_phys_12m", "np_sex_ever", "np_sex_12m")
AGE_BANDS = (15, 25, 35, 45, 55, 65)
#: province effects on help-seeking (logit scale) and yearly trend
_HELP_PROVINCE = {92: 0.45, 42: 0.05, 49: -0.05, 91: -0.25}
_HELP_TREND = 0.16
_QUANG_NAM_HIGHLAND = {"Đông Giang", "Tây Giang", "Nam Giang", "Phước Sơn", "Bắc Trà My", "Nam Trà My",
                       "Nông Sơn", "Hiệp Đức"}


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def make_population(seed: int = 2024, year: int = 2024) -> pd.DataFrame:
    """The synthetic population of women 15-64, one per household, with true answers (no non-response).

    The communes, households and women (age, ethnicity, education, marital status, violence history)
    depend on ``seed`` only; help-seeking also on ``year`` (an upward trend), so rounds share a population.

    Columns: ``province, district, commune, urban, stratum, commune_households, age, age_group, ethnicity,
    education, marital, ever_partnered`` (1 yes / 2 no), the violence items (1 yes / 2 no; IPV items 0 for
    never-partnered women, 12-month items 0 when the lifetime item is no), ``sought_help, told_someone``
    and the ``src_*`` items (1 / 2, 0 when not asked), and the true derived indicators
    ``gbv_any_ever, gbv_any_12m, ipv_12m, npsv_12m, sought_help_any, sought_help_formal, help_seeking``.

    Examples
    --------
    >>> pop = make_population(seed=1, year=2024)     # doctest: +SKIP
    >>> round(pop["gbv_any_ever"].mean(), 2)          # doctest: +SKIP
    0.33
    """
    rng = np.random.default_rng(seed)
    dist = pd.DataFrame(districts())
    # communes: 8-20 per district, urban with the district's urban share
    n_comm = rng.integers(8, 21, size=len(dist))
    comm = dist.loc[dist.index.repeat(n_comm)].reset_index(drop=True)
    comm["commune"] = comm["district"] * 100 + comm.groupby("district").cumcount() + 1
    comm["urban"] = np.where(rng.random(len(comm)) < comm["urban_share"], 1, 2)
    size = np.where(comm["urban"] == 1, rng.integers(250, 800, len(comm)), rng.integers(150, 550, len(comm)))
    comm["commune_households"] = size
    comm["district_effect"] = np.repeat(rng.normal(0, 0.25, len(dist)), n_comm)
    comm["commune_effect"] = rng.normal(0, 0.25, len(comm))
    comm["help_district"] = np.repeat(rng.normal(0, 0.3, len(dist)), n_comm)
    highland = comm["district_name"].isin(_QUANG_NAM_HIGHLAND).to_numpy()

    pop = comm.loc[comm.index.repeat(size)].reset_index(drop=True)
    n = len(pop)
    pop["stratum"] = pop["province"] * 10 + pop["urban"]
    urban = pop["urban"].to_numpy() == 1
    # age: flatter than a pyramid, fewer older women
    age = np.minimum(15 + np.floor(rng.beta(1.1, 1.35, n) * 50).astype(int), 64)
    pop["age"] = age
    pop["age_group"] = np.digitize(age, AGE_BANDS[1:-1]) + 1
    # ethnicity: 1 Kinh, 2 Khmer, 3 Hoa, 4 other minority
    prov = pop["province"].to_numpy()
    hl = np.repeat(highland, size)
    u = rng.random(n)
    khmer = np.where(prov == 91, 0.12, np.where(prov == 92, 0.03, 0.0))
    hoa = np.where(np.isin(prov, [91, 92]), 0.02, 0.003)
    other = np.where(hl, 0.65, 0.01)
    eth = np.ones(n, dtype=int)
    eth[u < khmer + hoa + other] = 4
    eth[u < khmer + hoa] = 3
    eth[u < khmer] = 2
    pop["ethnicity"] = eth
    # education 1 none/incomplete primary .. 5 college or university
    edu_score = rng.normal(0, 1, n) + 0.6 * urban - 0.03 * (age - 35) - 0.8 * (eth == 4) - 0.4 * (eth == 2)
    pop["education"] = np.digitize(edu_score, [-1.3, -0.5, 0.4, 1.2]) + 1
    # partnership
    p_never = np.select([age < 20, age < 25, age < 30], [0.72, 0.28, 0.08], 0.025)
    never = rng.random(n) < p_never
    ever_p = ~never
    marital = np.where(never, 5, 1)
    r = rng.random(n)
    marital = np.where(ever_p & (r < 0.04), 2, marital)
    marital = np.where(ever_p & (r >= 0.04) & (r < 0.10), 3, marital)
    marital = np.where(ever_p & (r >= 0.10) & (r < 0.10 + 0.004 * np.maximum(age - 35, 0)), 4, marital)
    pop["marital"] = marital
    pop["ever_partnered"] = np.where(ever_p, 1, 2)

    # violence: a shared frailty makes the items correlated
    frail = rng.normal(0, 1, n) + pop["district_effect"].to_numpy() + pop["commune_effect"].to_numpy()
    base = frail - 0.15 * (pop["education"].to_numpy() - 3) - 0.2 * urban
    lifetime = {  # (intercept, P(12 months | lifetime))
        "ipv_phys_ever": (-1.35, 0.22), "ipv_sex_ever": (-2.45, 0.36), "ipv_psych_ever": (-0.35, 0.30),
        "np_phys_ever": (-2.8, 0.18), "np_sex_ever": (-2.75, 0.30),
    }
    truth = {}
    for item, (a, p12) in lifetime.items():
        ever = rng.random(n) < _logistic(a + 0.9 * base)
        if item.startswith("ipv"):
            ever &= ever_p
        m12 = ever & (rng.random(n) < p12 * np.where(age < 35, 1.3, 0.8))
        truth[item] = ever
        truth[item.replace("_ever", "_12m")] = m12
        asked = ever_p if item.startswith("ipv") else np.ones(n, bool)
        pop[item] = np.where(asked, np.where(ever, 1, 2), 0)
        pop[item.replace("_ever", "_12m")] = np.where(ever, np.where(m12, 1, 2), 0)

    gbv_ever = truth["ipv_phys_ever"] | truth["ipv_sex_ever"] | truth["np_phys_ever"] | truth["np_sex_ever"]
    gbv_12m = truth["ipv_phys_12m"] | truth["ipv_sex_12m"] | truth["np_phys_12m"] | truth["np_sex_12m"]
    ipv_12m = truth["ipv_phys_12m"] | truth["ipv_sex_12m"] | truth["ipv_psych_12m"]

    # help-seeking, among women ever subjected to physical or sexual violence; depends on the year
    yrng = np.random.default_rng([seed, year])
    t = year - 2024
    lp = (-1.15 + _HELP_TREND * t + pd.Series(prov).map(_HELP_PROVINCE).to_numpy()
          + pop["help_district"].to_numpy() + 0.12 * (pop["education"].to_numpy() - 3) + 0.2 * urban
          - 0.4 * (eth == 4))
    sought = gbv_ever & (yrng.random(n) < _logistic(lp))
    told = gbv_ever & ~sought & (yrng.random(n) < 0.36)
    # formal help among those who sought help: rising too
    formal = sought & (yrng.random(n) < _logistic(0.0 + 0.12 * t + 0.5 * (prov == 92) + 0.2 * urban))
    informal = sought & (~formal | (yrng.random(n) < 0.6))
    pop["sought_help"] = np.where(gbv_ever, np.where(sought, 1, 2), 0)
    pop["told_someone"] = np.where(gbv_ever & ~sought, np.where(told, 1, 2), 0)
    cited = {}
    for group, mask in ((FORMAL_SOURCES, formal), (INFORMAL_SOURCES, informal)):
        probs = np.array([_SOURCE_P[s] for s in group])
        draws = yrng.random((n, len(group))) < probs
        none = mask & ~draws.any(axis=1)
        pick = yrng.choice(len(group), size=n, p=probs / probs.sum())
        draws[np.flatnonzero(none), pick[none]] = True
        draws &= mask[:, None]
        for j, s in enumerate(group):
            cited[s] = draws[:, j]
    for s in SOURCES:
        pop[s] = np.where(sought, np.where(cited[s], 1, 2), 0)
    # gender-equality knowledge (all women)
    pop["ge_knowledge"] = np.where(yrng.random(n) < _logistic(0.6 + 0.1 * t + 0.3 * (pop["education"].to_numpy() - 3)
                                                             + 0.3 * urban), 1, 2)

    # the true indicators, computed directly (not through the spec)
    pop["gbv_any_ever"] = gbv_ever.astype(float)
    pop["gbv_any_12m"] = gbv_12m.astype(float)
    pop["ipv_12m"] = np.where(ever_p, ipv_12m, np.nan)
    pop["npsv_12m"] = truth["np_sex_12m"].astype(float)
    pop["sought_help_any"] = np.where(gbv_ever, sought, np.nan)
    pop["sought_help_formal"] = np.where(gbv_ever, formal, np.nan)
    pop["help_seeking"] = np.where(gbv_ever, np.where(sought, 1, np.where(told, 2, 3)), np.nan)
    pop["year"] = year
    return pop.drop(columns=["urban_share", "district_effect", "commune_effect", "help_district"])


def _systematic_pps(size: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Systematic PPS of n units; returns (selected indices, inclusion probabilities of all units)."""
    size = size.astype(float)
    pi = np.zeros(len(size))
    certain = np.zeros(len(size), bool)
    for _ in range(len(size)):  # certainty units: at most a few passes
        rest = n - certain.sum()
        pi = np.where(certain, 1.0, rest * size / size[~certain].sum())
        new = (pi >= 1) & ~certain
        if not new.any():
            break
        certain |= new
    pi = np.minimum(pi, 1.0)
    order = rng.permutation(len(size))  # random order before systematic selection
    cum = np.cumsum(pi[order])
    start = rng.random()
    points = start + np.arange(int(round(pi.sum())))
    hit = np.searchsorted(cum, points, side="right")
    chosen = np.unique(order[np.minimum(hit, len(size) - 1)])
    return chosen, pi


def draw_sample(
    population: pd.DataFrame,
    seed: int,
    n_per_psu: int = 20,
    psus_per_province: int = 44,
    method: str = "pps",
    response_rate: float = 0.9,
    item_nonresponse: bool = True,
    identifiers: bool = True,
) -> pd.DataFrame:
    """Draw one stratified two-stage sample from ``make_population`` output.

    Parameters
    ----------
    population : DataFrame from :func:`make_population`.
    seed : int
    n_per_psu : households selected per commune (before non-response).
    psus_per_province : communes per province, split between its urban and rural strata in proportion
        to households (at least 2 each).
    method : "pps" (probability proportional to households, systematic) or "srs" for the communes.
    response_rate : mean household response rate (varies by commune).
    item_nonresponse : add refused (8) / don't know (9) answers completely at random.
    identifiers : add the synthetic direct identifiers ``full_name, phone, birth_date``.

    Returns
    -------
    DataFrame with the raw survey columns, ``weight`` and the true derived indicators prefixed
    ``true_`` (for coverage studies; not written to the example files).
    """
    if method not in ("pps", "srs"):
        raise ValueError(f"method={method!r} is not one of 'pps', 'srs'")
    rng = np.random.default_rng(seed)
    comm = population.groupby("commune", sort=True).agg(
        stratum=("stratum", "first"), province=("province", "first"),
        households=("commune_households", "first")).reset_index()
    hh_stratum = comm.groupby("stratum")["households"].transform("sum")
    prov_hh = comm.groupby("province")["households"].transform("sum")
    comm["share"] = hh_stratum / prov_hh
    alloc = (comm.groupby("stratum").agg(share=("share", "first"), ncomm=("commune", "size")))
    alloc["n"] = np.clip(np.round(alloc["share"] * psus_per_province).astype(int), 2, alloc["ncomm"])
    chosen, probs = [], np.zeros(len(comm))
    for stratum, idx in comm.groupby("stratum").indices.items():  # 8 strata
        n_h = int(alloc.loc[stratum, "n"])
        if method == "pps":
            sel, pi = _systematic_pps(comm["households"].to_numpy()[idx], n_h, rng)
        else:
            sel = rng.choice(len(idx), size=n_h, replace=False)
            pi = np.full(len(idx), n_h / len(idx))
        probs[idx] = pi
        chosen.append(idx[sel])
    chosen = np.sort(np.concatenate(chosen))
    comm["p_commune"] = probs
    sel_comm = comm.iloc[chosen]

    pop_comm = population["commune"].to_numpy()
    in_sel = np.isin(pop_comm, sel_comm["commune"].to_numpy())
    cand = population.loc[in_sel]
    # SRS of households within each commune: random keys, take the first n_per_psu
    key = rng.random(len(cand))
    rank = pd.Series(key, index=cand.index).groupby(cand["commune"]).rank(method="first")
    sample = cand.loc[rank.to_numpy() <= n_per_psu].copy()
    # household non-response, rate varying by commune
    rr = pd.Series(np.clip(rng.normal(response_rate, 0.05, len(sel_comm)), 0.6, 1.0),
                   index=sel_comm["commune"].to_numpy())
    sample = sample.loc[rng.random(len(sample)) < sample["commune"].map(rr).to_numpy()]
    sample = sample.sort_values(["stratum", "commune"], kind="stable").reset_index(drop=True)
    resp = sample.groupby("commune")["commune"].transform("size").to_numpy()
    p1 = sample["commune"].map(comm.set_index("commune")["p_commune"]).to_numpy()
    sample["weight"] = np.round(1.0 / (p1 * resp / sample["commune_households"].to_numpy()), 4)

    year = int(sample["year"].iloc[0])
    n = len(sample)
    sample.insert(0, "resp_id", [f"R{year % 100:02d}-{c}-{i:03d}" for c, i in
                                 zip(sample["commune"], sample.groupby("commune").cumcount() + 1)])
    if item_nonresponse:
        _add_item_nonresponse(sample, rng)
    truth_cols = ["gbv_any_ever", "gbv_any_12m", "ipv_12m", "npsv_12m", "sought_help_any", "sought_help_formal",
                  "help_seeking"]
    sample = sample.rename(columns={c: f"true_{c}" for c in truth_cols})
    if identifiers:
        fam = np.array(["Mẫu", "Thử", "Giả", "Ví Dụ"])
        sample["full_name"] = [f"Người {fam[i % 4]} {i:05d}" for i in rng.permutation(n)]
        sample["phone"] = [f"000-000-{i:04d}" for i in rng.permutation(n)]
        doy = rng.integers(0, 365, n)
        born = pd.to_datetime([f"{y}-01-01" for y in year - sample["age"].to_numpy() - 1]) + pd.to_timedelta(doy, unit="D")
        sample["birth_date"] = born.strftime("%Y-%m-%d")
    return sample


def _add_item_nonresponse(sample: pd.DataFrame, rng: np.random.Generator) -> None:
    """Refused (8) / don't know (9) answers at random; follow-ups of a refused item become 'not asked' (0)."""
    n = len(sample)
    for item in ("ipv_phys_ever", "ipv_sex_ever", "ipv_psych_ever", "np_phys_ever", "np_sex_ever"):
        v = sample[item].to_numpy().copy()
        asked = v != 0
        r = rng.random(n)
        v = np.where(asked & (r < 0.012), 8, np.where(asked & (r >= 0.012) & (r < 0.017), 9, v))
        sample[item] = v
        m12 = item.replace("_ever", "_12m")
        w = sample[m12].to_numpy().copy()
        w = np.where(v >= 8, 0, w)  # not asked after a refusal
        r = rng.random(n)
        w = np.where((w != 0) & (r < 0.01), 8, w)
        sample[m12] = w
    # re-route the help-seeking block: a woman is asked only if she reported violence in the answers kept
    yes = np.zeros(n, bool)
    for item in ("ipv_phys_ever", "ipv_sex_ever", "np_phys_ever", "np_sex_ever"):
        yes |= sample[item].to_numpy() == 1
    for col in ("sought_help", "told_someone", *SOURCES):
        sample[col] = np.where(yes, sample[col].to_numpy(), 0)
    sh = sample["sought_help"].to_numpy().copy()
    r = rng.random(n)
    sh = np.where((sh != 0) & (r < 0.01), 8, sh)
    sample["sought_help"] = sh
    sample["told_someone"] = np.where(sh == 2, sample["told_someone"], 0)
    for s in SOURCES:
        v = np.where(sh == 1, sample[s].to_numpy(), 0)
        v = np.where((v != 0) & (rng.random(n) < 0.004), 9, v)
        sample[s] = v
    ge = sample["ge_knowledge"].to_numpy()
    sample["ge_knowledge"] = np.where(rng.random(n) < 0.01, 9, ge)


# ------------------------------------------------------------------------------------------ labels

YES_NO = {1: "Có", 2: "Không", 8: "Từ chối trả lời", 9: "Không biết", 0: "Không hỏi"}
YES_NO_EN = {1: "Yes", 2: "No", 8: "Refused", 9: "Don't know", 0: "Not asked"}

VARIABLE_LABELS = {  # name: (vi, en)
    "resp_id": ("Mã người trả lời", "Respondent id"),
    "province": ("Tỉnh/thành phố", "Province"),
    "district": ("Quận/huyện", "District"),
    "commune": ("Xã/phường/thị trấn", "Commune"),
    "urban": ("Thành thị/nông thôn", "Urban/rural"),
    "stratum": ("Tầng mẫu (tỉnh × thành thị/nông thôn)", "Stratum (province × urban/rural)"),
    "commune_households": ("Số hộ có phụ nữ đủ điều kiện trong xã", "Households with an eligible woman in the commune"),
    "weight": ("Trọng số thiết kế", "Design weight"),
    "age": ("Tuổi", "Age"),
    "age_group": ("Nhóm tuổi", "Age group"),
    "ethnicity": ("Dân tộc", "Ethnicity"),
    "education": ("Trình độ học vấn", "Education"),
    "marital": ("Tình trạng hôn nhân", "Marital status"),
    "ever_partnered": ("Đã từng có chồng/bạn tình", "Ever partnered"),
    "ipv_phys_ever": ("Từng bị chồng/bạn tình bạo lực thể xác", "Physical IPV, ever"),
    "ipv_phys_12m": ("Bị chồng/bạn tình bạo lực thể xác trong 12 tháng qua", "Physical IPV, past 12 months"),
    "ipv_sex_ever": ("Từng bị chồng/bạn tình bạo lực tình dục", "Sexual IPV, ever"),
    "ipv_sex_12m": ("Bị chồng/bạn tình bạo lực tình dục trong 12 tháng qua", "Sexual IPV, past 12 months"),
    "ipv_psych_ever": ("Từng bị chồng/bạn tình bạo lực tinh thần", "Psychological IPV, ever"),
    "ipv_psych_12m": ("Bị chồng/bạn tình bạo lực tinh thần trong 12 tháng qua", "Psychological IPV, past 12 months"),
    "np_phys_ever": ("Từng bị người khác (không phải chồng/bạn tình) bạo lực thể xác", "Non-partner physical violence, ever"),
    "np_phys_12m": ("Bị người khác bạo lực thể xác trong 12 tháng qua", "Non-partner physical violence, past 12 months"),
    "np_sex_ever": ("Từng bị người khác bạo lực tình dục", "Non-partner sexual violence, ever"),
    "np_sex_12m": ("Bị người khác bạo lực tình dục trong 12 tháng qua", "Non-partner sexual violence, past 12 months"),
    "sought_help": ("Đã tìm kiếm sự trợ giúp", "Sought help"),
    "told_someone": ("Đã kể với người khác", "Told someone"),
    "src_police": ("Tìm trợ giúp: công an", "Help sought from: police"),
    "src_health": ("Tìm trợ giúp: cơ sở y tế", "Help sought from: health facility"),
    "src_social_work_centre": ("Tìm trợ giúp: Trung tâm Công tác xã hội", "Help sought from: Social Work Centre"),
    "src_hotline": ("Tìm trợ giúp: tổng đài (18008065, 111)", "Help sought from: hotline (18008065, 111)"),
    "src_trusted_address": ("Tìm trợ giúp: địa chỉ tin cậy – nhà tạm lánh", "Help sought from: trusted address – safe house"),
    "src_legal_aid": ("Tìm trợ giúp: trợ giúp pháp lý", "Help sought from: legal aid"),
    "src_womens_union": ("Tìm trợ giúp: Hội Liên hiệp Phụ nữ", "Help sought from: Women's Union"),
    "src_local_leader": ("Tìm trợ giúp: lãnh đạo địa phương", "Help sought from: local leader"),
    "src_religious": ("Tìm trợ giúp: chức sắc tôn giáo", "Help sought from: religious leader"),
    "src_family": ("Tìm trợ giúp: gia đình", "Help sought from: family"),
    "src_friends": ("Tìm trợ giúp: bạn bè", "Help sought from: friends"),
    "src_neighbour": ("Tìm trợ giúp: hàng xóm", "Help sought from: neighbour"),
    "ge_knowledge": ("Được tiếp cận kiến thức cơ bản về bình đẳng giới", "Has access to basic gender-equality knowledge"),
    "full_name": ("Họ và tên (giả)", "Full name (synthetic)"),
    "phone": ("Số điện thoại (giả)", "Phone (synthetic)"),
    "birth_date": ("Ngày sinh (giả)", "Birth date (synthetic)"),
}

CODED = {  # name: {code: (vi, en)}
    "urban": {1: ("Thành thị", "Urban"), 2: ("Nông thôn", "Rural")},
    "age_group": {1: ("15–24", "15–24"), 2: ("25–34", "25–34"), 3: ("35–44", "35–44"), 4: ("45–54", "45–54"),
                  5: ("55–64", "55–64")},
    "ethnicity": {1: ("Kinh", "Kinh"), 2: ("Khmer", "Khmer"), 3: ("Hoa", "Hoa"), 4: ("Dân tộc khác", "Other")},
    "education": {1: ("Chưa học xong tiểu học", "Less than primary"), 2: ("Tiểu học", "Primary"),
                  3: ("Trung học cơ sở", "Lower secondary"), 4: ("Trung học phổ thông", "Upper secondary"),
                  5: ("Cao đẳng, đại học trở lên", "College or university")},
    "marital": {1: ("Đang có chồng", "Married"), 2: ("Sống chung như vợ chồng", "Living with a partner"),
                3: ("Ly hôn/ly thân", "Divorced or separated"), 4: ("Góa", "Widowed"),
                5: ("Chưa từng kết hôn/có bạn tình", "Never partnered")},
    "ever_partnered": {1: ("Có", "Yes"), 2: ("Không", "No")},
}
YES_NO_ITEMS = VIOLENCE_ITEMS + ("sought_help", "told_someone") + SOURCES + ("ge_knowledge",)


def _province_district_labels() -> tuple[dict, dict, dict, dict]:
    pv = {code: p["name"] for code, p in PROVINCES.items()}
    pe = {code: p["name_en"] for code, p in PROVINCES.items()}
    dv = {d["district"]: d["district_name"] for d in districts()}
    return pv, pe, dv, dv


RAW_COLUMNS = ["resp_id", "province", "district", "commune", "urban", "stratum", "commune_households", "weight",
               "age", "age_group", "ethnicity", "education", "marital", "ever_partnered", *VIOLENCE_ITEMS,
               "sought_help", "told_someone", *SOURCES, "ge_knowledge", "full_name", "phone", "birth_date"]


def write_sav(sample: pd.DataFrame, path: Path, year: int) -> None:
    """Write one round as SPSS .sav: Vietnamese labels, MISSING VALUES 8 9 0 on the coded items."""
    import pyreadstat

    df = sample[RAW_COLUMNS].copy()
    for c in RAW_COLUMNS:
        if c not in ("resp_id", "full_name", "phone", "birth_date", "weight"):
            df[c] = df[c].astype("float64")
    pv, _, dv, _ = _province_district_labels()
    strata = {p * 10 + u: f"{pv[p]} – {'thành thị' if u == 1 else 'nông thôn'}" for p in pv for u in (1, 2)}
    value_labels = {"province": pv, "district": dv, "stratum": strata}
    for name, codes in CODED.items():
        value_labels[name] = {k: v[0] for k, v in codes.items()}
    for name in YES_NO_ITEMS:
        value_labels[name] = dict(YES_NO)
    missing = {name: [8, 9, 0] for name in YES_NO_ITEMS}
    pyreadstat.write_sav(
        df, str(path),
        file_label=f"Điều tra cộng đồng về bạo lực trên cơ sở giới {year} (dữ liệu giả lập)",
        column_labels={k: v[0] for k, v in VARIABLE_LABELS.items()},
        variable_value_labels=value_labels,
        missing_ranges=missing,
        row_compress=True,
        note="Synthetic data made by surveys/generate.py; no real person is in this file.",
    )


SPEC_HEAD = """# Survey spec of the synthetic example survey (made by surveys/generate.py; format: docs/spec.md).
# Raw items are coded 1 = yes, 2 = no; 8 = refused, 9 = don't know, 0 = not asked are SPSS user-missing.
# Derived variables are 0/1 unless stated; a derived variable may reuse a raw item's name (src_police,
# ipv_phys_ever, ...): survey.data then holds the 0/1 flag and survey.raw keeps the codes. In conditions a
# name means the derived variable where one is defined, else the raw codes.

[survey]
name = "community_gbv"
id = "resp_id"
title = { vi = "Điều tra cộng đồng về bạo lực trên cơ sở giới (dữ liệu giả lập)", en = "Community survey on gender-based violence (synthetic data)" }

[design]
weights = "weight"
strata = "stratum"
psu = "commune"
lonely_psu = "fail"

[missing]
codes = { 8 = "refused", 9 = "don't know", 0 = "not asked" }

[checks]
codes_outside_labels = "raise"
duplicate_ids = "raise"
skip_pattern = "raise"

# ---- violence items: lifetime (IPV items are 0 for never-partnered women: no partner, no IPV)
[derived.ipv_phys_ever]
type = "categorical"
categories = { 1 = "ipv_phys_ever == 1", 0 = "ipv_phys_ever == 2 or ever_partnered == 2" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.ipv_sex_ever]
type = "categorical"
categories = { 1 = "ipv_sex_ever == 1", 0 = "ipv_sex_ever == 2 or ever_partnered == 2" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.ipv_psych_ever]
type = "categorical"
categories = { 1 = "ipv_psych_ever == 1", 0 = "ipv_psych_ever == 2 or ever_partnered == 2" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.np_phys_ever]
type = "yes_no"
source = "np_phys_ever"

[derived.np_sex_ever]
type = "yes_no"
source = "np_sex_ever"

# ---- past 12 months: asked only after a lifetime "yes"; a lifetime "no" means no in the past 12 months
[derived.ipv_phys_12m]
type = "categorical"
categories = { 1 = "ipv_phys_12m == 1", 0 = "ipv_phys_12m == 2 or ipv_phys_ever == 0" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.ipv_sex_12m]
type = "categorical"
categories = { 1 = "ipv_sex_12m == 1", 0 = "ipv_sex_12m == 2 or ipv_sex_ever == 0" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.ipv_psych_12m]
type = "categorical"
categories = { 1 = "ipv_psych_12m == 1", 0 = "ipv_psych_12m == 2 or ipv_psych_ever == 0" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.np_phys_12m]
type = "categorical"
categories = { 1 = "np_phys_12m == 1", 0 = "np_phys_12m == 2 or np_phys_ever == 0" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

[derived.np_sex_12m]
type = "categorical"
categories = { 1 = "np_sex_12m == 1", 0 = "np_sex_12m == 2 or np_sex_ever == 0" }
values = { 1 = { vi = "Có", en = "Yes" }, 0 = { vi = "Không", en = "No" } }

# ---- indicators
[derived.gbv_any_ever]
type = "any_of"
sources = ["ipv_phys_ever", "ipv_sex_ever", "np_phys_ever", "np_sex_ever"]
label = { vi = "Từng bị bạo lực thể xác hoặc tình dục (bất kỳ ai gây ra)", en = "Ever subjected to physical or sexual violence (any perpetrator)" }

[derived.gbv_any_12m]
type = "any_of"
sources = ["ipv_phys_12m", "ipv_sex_12m", "np_phys_12m", "np_sex_12m"]
label = { vi = "Bị bạo lực thể xác hoặc tình dục trong 12 tháng qua (bất kỳ ai gây ra)", en = "Physical or sexual violence in the past 12 months (any perpetrator)" }

[derived.ipv_12m]
type = "any_of"
sources = ["ipv_phys_12m", "ipv_sex_12m", "ipv_psych_12m"]
universe = "ever_partnered == 1"
label = { vi = "Bạo lực thể xác, tình dục hoặc tinh thần do chồng/bạn tình gây ra trong 12 tháng qua", en = "Physical, sexual or psychological intimate-partner violence in the past 12 months" }

[derived.npsv_12m]
type = "any_of"
sources = ["np_sex_12m"]
label = { vi = "Bạo lực tình dục do người không phải chồng/bạn tình gây ra trong 12 tháng qua", en = "Non-partner sexual violence in the past 12 months" }

[derived.sought_help_any]
type = "yes_no"
source = "sought_help"
universe = "gbv_any_ever == 1"
label = { vi = "Đã tìm kiếm sự trợ giúp (bất kỳ nguồn nào)", en = "Sought help (any source)" }

[derived.help_seeking]
type = "categorical"
categories = { 1 = "sought_help == 1", 2 = "sought_help == 2 and told_someone == 1", 3 = "sought_help == 2 and told_someone == 2" }
universe = "gbv_any_ever == 1"
label = { vi = "Tìm kiếm sự trợ giúp", en = "Help-seeking" }
values = { 1 = { vi = "Đã tìm kiếm trợ giúp", en = "Sought help" }, 2 = { vi = "Chỉ kể với người khác", en = "Told someone only" }, 3 = { vi = "Không kể với ai", en = "Told no one" } }

# Formal sources: police, health, Social Work Centre, hotline (18008065, 111), trusted address - safe house,
# legal aid, Women's Union, local leader, religious leader. Family, friends and neighbours are not formal.
[derived.sought_help_formal]
type = "any_of"
sources = ["src_police", "src_health", "src_social_work_centre", "src_hotline", "src_trusted_address", "src_legal_aid", "src_womens_union", "src_local_leader", "src_religious"]
when = "sought_help_any == 1"
universe = "gbv_any_ever == 1"
label = { vi = "Đã tìm kiếm trợ giúp từ cơ quan cung cấp dịch vụ", en = "Sought help from a formal service provider" }
note = { vi = "Nguồn chính thức: công an, y tế, Trung tâm CTXH, tổng đài, địa chỉ tin cậy, trợ giúp pháp lý, Hội Phụ nữ, lãnh đạo địa phương, chức sắc tôn giáo.", en = "Formal sources: police, health, Social Work Centre, hotline, trusted address, legal aid, Women's Union, local leader, religious leader." }

[derived.ge_knowledge]
type = "yes_no"
source = "ge_knowledge"
"""

SPEC_TAIL = """
# ---- skip patterns: who is asked each follow-up (0 = not asked)
[[skip]]
ask = ["ipv_phys_ever", "ipv_sex_ever", "ipv_psych_ever"]
when = "ever_partnered == 1"

[[skip]]
ask = ["ipv_phys_12m"]
when = "ipv_phys_ever == 1"

[[skip]]
ask = ["ipv_sex_12m"]
when = "ipv_sex_ever == 1"

[[skip]]
ask = ["ipv_psych_12m"]
when = "ipv_psych_ever == 1"

[[skip]]
ask = ["np_phys_12m"]
when = "np_phys_ever == 1"

[[skip]]
ask = ["np_sex_12m"]
when = "np_sex_ever == 1"

[[skip]]
ask = ["sought_help"]
when = "gbv_any_ever == 1"

[[skip]]
ask = ["told_someone"]
when = "sought_help == 2"

[[skip]]
ask = ["src_police", "src_health", "src_social_work_centre", "src_hotline", "src_trusted_address", "src_legal_aid", "src_womens_union", "src_local_leader", "src_religious", "src_family", "src_friends", "src_neighbour"]
when = "sought_help == 1"

# ---- disclosure control
[disclosure]
identifiers = ["full_name", "phone", "birth_date"]
pseudonymise = ["resp_id"]
quasi_identifiers = ["province", "district", "commune", "urban", "age", "ethnicity", "education", "marital"]
sensitive = ["gbv_any_ever", "ipv_12m", "npsv_12m", "help_seeking"]
# most important first: local suppression gives up the last ones first
importance = ["province", "urban", "age", "district", "marital", "education", "ethnicity", "commune"]
k = 3
l = 2

[disclosure.hierarchies.age]
bands = [[15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65], [15, 25, 35, 45, 55, 65], [15, 35, 50, 65]]

[disclosure.hierarchies.commune]
levels = ["district", "province"]

[disclosure.hierarchies.district]
levels = ["province"]
"""

SPEC_SOURCES = "".join(
    f"""
[derived.{src}]
type = "yes_no"
source = "{src}"
universe = "sought_help_any == 1"
""" for src in SOURCES)


def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def spec_text() -> str:
    """The example survey spec (TOML): hand-written derivations plus labels generated from the tables here."""
    pv, pe, dv, _ = _province_district_labels()
    lines = [SPEC_HEAD, "# ---- sources of help (0/1 among women who sought help)", SPEC_SOURCES,
             "# ---- labels (vi as in the .sav file, en here)"]
    for name, (vi, en) in VARIABLE_LABELS.items():
        lines.append(f"[variables.{name}]")
        lines.append(f"label = {{ vi = {_toml_str(vi)}, en = {_toml_str(en)} }}")
        codes: dict = {}
        if name == "province":
            codes = {k: (pv[k], pe[k]) for k in pv}
        elif name == "district":
            codes = {k: (v, v) for k, v in dv.items()}
        elif name == "stratum":
            codes = {p * 10 + u: (f"{pv[p]} – {'thành thị' if u == 1 else 'nông thôn'}",
                                  f"{pe[p]} – {'urban' if u == 1 else 'rural'}") for p in pv for u in (1, 2)}
        elif name in CODED:
            codes = CODED[name]
        elif name in YES_NO_ITEMS:
            codes = {k: (YES_NO[k], YES_NO_EN[k]) for k in YES_NO}
        if codes:
            lines.append("[variables." + name + ".values]")
            for k, (vi_, en_) in codes.items():
                lines.append(f"{k} = {{ vi = {_toml_str(vi_)}, en = {_toml_str(en_)} }}")
        lines.append("")
    lines.append(SPEC_TAIL)
    return "\n".join(lines)


def truth_table(pop: pd.DataFrame) -> dict:
    """True population values of the main indicators: national, by province and by district."""
    ind = {
        "gbv_any_ever": "gbv_any_ever", "gbv_any_12m": "gbv_any_12m", "ipv_12m": "ipv_12m",
        "npsv_12m": "npsv_12m", "sought_help_any": "sought_help_any", "sought_help_formal": "sought_help_formal",
    }
    frame = pop[["province", "district", *ind.values(), "help_seeking"]].copy()
    for k in (1, 2, 3):
        frame[f"help_seeking_{k}"] = np.where(frame["help_seeking"].isna(), np.nan, frame["help_seeking"] == k)
    cols = [*ind.values(), "help_seeking_1", "help_seeking_2", "help_seeking_3"]

    def level(by):
        g = frame.groupby(by)[cols].mean() if by else frame[cols].mean().to_frame().T
        cnt = frame.groupby(by).size() if by else pd.Series([len(frame)])
        out = {}
        for key, row in g.iterrows():
            out[str(key) if by else "all"] = {**{c: round(float(row[c]), 6) for c in cols},
                                              "women": int(cnt.loc[key])}
        return out

    return {"national": level(None)["all"], "province": level("province"), "district": level("district")}


def round_seed(seed: int, year: int) -> int:
    """The sampling seed of a round (so a test can redraw exactly the sample in the example file)."""
    return seed + 17 * (YEARS.index(year) + 1)


def main(outdir: str | Path = HERE / "example", seed: int = 2024, cases: bool = True) -> None:
    """Write the three rounds, survey.toml and truth.json, then (``cases=True``) the case records.

    The case records come from ``surveys/generate_cases.py`` (its ``main(outdir, seed)``), if present.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    truth = {"seed": seed, "note": "True population values (proportions; help_seeking_k = share in category k "
             "among women ever subjected to physical or sexual violence) that the example rounds were drawn "
             "from. Keys: round -> national / province / district (codes as strings).",
             "formal_sources": list(FORMAL_SOURCES), "rounds": {}}
    for i, year in enumerate(YEARS):
        pop = make_population(seed=seed, year=year)
        sample = draw_sample(pop, seed=round_seed(seed, year))
        write_sav(sample, out / f"community_{year}.sav", year)
        truth["rounds"][str(year)] = {"respondents": len(sample), **truth_table(pop)}
        print(f"community_{year}.sav: {len(sample)} respondents, {sample['commune'].nunique()} communes, "
              f"population {len(pop)} women")
    (out / "survey.toml").write_text(spec_text(), encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    cases_py = HERE / "generate_cases.py"
    if cases and cases_py.exists():
        import importlib.util

        spec = importlib.util.spec_from_file_location("generate_cases", cases_py)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(out, seed)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "example")
