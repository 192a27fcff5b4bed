* GNU PSPP syntax: writes pspp_ranges.sav, pspp_ranges.por (SPSS portable) and foreign_spss.sav.
* Run from this folder after make_fixtures.R:   pspp make_fixtures.sps
* Synthetic data. Missing values as ranges (LO THRU -1, 9 THRU HI) and a string user-missing code.
SET LOCALE='UTF-8'.
DATA LIST LIST /resp_id (F4.0) stratum (F4.0) psu (F4.0) weight (F6.2) violence (F4.0) n_children (F4.0) region (A12) consent (A3).
BEGIN DATA
1 1 11 1.5 1 2 "Bắc" "yes"
2 1 11 1.5 2 0 "Bắc" "yes"
3 1 12 2.0 -1 1 "Trung" "no"
4 1 12 2.0 -2 3 "Trung" "NA"
5 2 21 1.0 9 99 "Nam" "yes"
6 2 21 1.0 1 98 "Nam" "DK"
7 2 22 2.5 2 2 "Nam" "yes"
8 2 22 2.5 10 1 "Bắc" "NA"
9 2 22 2.5 1 0 "Trung" "yes"
10 1 11 1.5 2 4 "Bắc" "no"
END DATA.
FORMATS resp_id stratum psu violence n_children (F4.0) weight (F6.2).
VARIABLE LABELS
  violence 'Từng bị bạo lực thể xác hoặc tình dục'
  n_children 'Số con'
  region 'Vùng'
  consent 'Đồng ý'.
VALUE LABELS
  violence 1 'Có' 2 'Không' -1 'Không hỏi' -2 'Bỏ qua' 9 'Không biết' 10 'Từ chối'
  /n_children 98 'Từ chối' 99 'Không biết'
  /consent 'yes' 'Có' 'no' 'Không' 'NA' 'Không hỏi' 'DK' 'Không biết'.
MISSING VALUES violence (LO THRU -1) /n_children (98 THRU HI) /consent ('NA', 'DK').
SAVE OUTFILE='pspp_ranges.sav'.
* a second range form: 9 THRU HI on violence (codes 9 and 10)
MISSING VALUES violence (9 THRU HI).
SAVE OUTFILE='pspp_ranges_hi.sav'.
MISSING VALUES violence (LO THRU -1) /n_children (98 THRU HI) /consent ('NA', 'DK').
EXPORT OUTFILE='pspp_ranges.por'.

* the data and syntax written by R's foreign::write.foreign, saved as .sav by PSPP
INCLUDE FILE='foreign_spss.sps'.
SAVE OUTFILE='foreign_spss.sav'.

* the portable file converted back to .sav by PSPP (what gbvstats asks users to do with a .por file)
IMPORT FILE='pspp_ranges.por'.
SAVE OUTFILE='pspp_from_por.sav'.

* a file in the Windows Vietnamese code page, as SPSS wrote them before Unicode mode (keep this last:
* the locale applies to every command after it)
NEW FILE.
SET LOCALE='windows-1258'.
DATA LIST LIST /resp_id (F4.0) violence (F4.0) province (A20) note (A8).
BEGIN DATA
1 1 "Cần Thơ" "ok"
2 2 "Hà Tĩnh" "?"
3 9 "Thừa Thiên Huế" "ok"
4 1 "Đồng Tháp" "?"
END DATA.
VARIABLE LABELS violence 'Từng bị bạo lực thể xác hoặc tình dục' /province 'Tỉnh/thành phố'.
VALUE LABELS violence 1 'Có' 2 'Không' 9 'Không biết' /note '?' 'Không rõ'.
MISSING VALUES violence (9) /note ('?').
SAVE OUTFILE='pspp_windows_1258.sav'.
* what PSPP reads back from it, as UTF-8 CSV (user-missing values written as their codes)
SET LOCALE='UTF-8'.
GET FILE='pspp_windows_1258.sav'.
SAVE TRANSLATE /OUTFILE='pspp_windows_1258.truth.csv' /TYPE=CSV /FIELDNAMES /CELLS=VALUES /REPLACE.
