"""Localities of the synthetic example: real province and district names, synthetic codes and people.

Province codes are the GSO two-digit codes; district codes are synthetic (province * 100 + i).
``urban_share`` is the share of the district's women living in urban communes (synthetic).
Shared by the survey generator (generate.py) and the case-record generator (generate_cases.py).
"""

from __future__ import annotations

PROVINCES: dict[int, dict] = {
    92: {
        "name": "Cần Thơ",
        "name_en": "Can Tho",
        "districts": [
            ("Ninh Kiều", 0.98), ("Bình Thủy", 0.85), ("Cái Răng", 0.80), ("Ô Môn", 0.60),
            ("Thốt Nốt", 0.55), ("Phong Điền", 0.25), ("Cờ Đỏ", 0.15), ("Thới Lai", 0.15),
            ("Vĩnh Thạnh", 0.12),
        ],
    },
    42: {
        "name": "Hà Tĩnh",
        "name_en": "Ha Tinh",
        "districts": [
            ("TP Hà Tĩnh", 0.90), ("Hồng Lĩnh", 0.70), ("TX Kỳ Anh", 0.50), ("Hương Sơn", 0.12),
            ("Đức Thọ", 0.10), ("Vũ Quang", 0.10), ("Nghi Xuân", 0.12), ("Can Lộc", 0.10),
            ("Hương Khê", 0.10), ("Thạch Hà", 0.08), ("Cẩm Xuyên", 0.10), ("Kỳ Anh", 0.05),
            ("Lộc Hà", 0.08),
        ],
    },
    49: {
        "name": "Quảng Nam",
        "name_en": "Quang Nam",
        "districts": [
            ("Tam Kỳ", 0.85), ("Hội An", 0.80), ("Điện Bàn", 0.40), ("Duy Xuyên", 0.15),
            ("Đại Lộc", 0.12), ("Thăng Bình", 0.10), ("Núi Thành", 0.15), ("Quế Sơn", 0.10),
            ("Phú Ninh", 0.08), ("Tiên Phước", 0.08), ("Hiệp Đức", 0.10), ("Nông Sơn", 0.05),
            ("Đông Giang", 0.08), ("Tây Giang", 0.03), ("Nam Giang", 0.08), ("Phước Sơn", 0.08),
            ("Bắc Trà My", 0.08), ("Nam Trà My", 0.03),
        ],
    },
    91: {
        "name": "Kiên Giang",
        "name_en": "Kien Giang",
        "districts": [
            ("Rạch Giá", 0.92), ("Hà Tiên", 0.70), ("Phú Quốc", 0.60), ("Kiên Lương", 0.25),
            ("Hòn Đất", 0.12), ("Tân Hiệp", 0.12), ("Châu Thành", 0.15), ("Giồng Riềng", 0.08),
            ("Gò Quao", 0.08), ("An Biên", 0.10), ("An Minh", 0.08), ("Vĩnh Thuận", 0.10),
            ("U Minh Thượng", 0.05), ("Giang Thành", 0.03), ("Kiên Hải", 0.05),
        ],
    },
}


def districts() -> list[dict]:
    """One dict per district: code, name, province code and name, urban share."""
    rows = []
    for pcode, prov in PROVINCES.items():
        for i, (name, urban) in enumerate(prov["districts"], start=1):
            rows.append({
                "district": pcode * 100 + i,
                "district_name": name,
                "province": pcode,
                "province_name": prov["name"],
                "urban_share": urban,
            })
    return rows
