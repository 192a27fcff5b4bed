* Syntax for GNU PSPP: writes tests/data/pspp_survey.sav, a small survey file made by a tool other than gbvstats.
* Run from tests/data:  pspp pspp_survey.sps
* Vietnamese value labels (UTF-8), user-missing codes 8 refused, 9 don't know, 0 not asked.
SET LOCALE='UTF-8'.
DATA LIST LIST /resp_id stratum psu weight age ever_partnered violence sought_help.
BEGIN DATA
1 1 11 1.5 23 1 1 1
2 1 11 1.5 31 1 2 0
3 1 12 2.0 45 1 1 2
4 1 12 2.0 52 2 8 0
5 2 21 1.0 19 2 2 0
6 2 21 1.0 37 1 1 9
7 2 22 2.5 28 1 9 0
8 2 22 2.5 61 1 1 8
9 2 22 2.5 40 1 2 0
10 1 11 1.5 33 1 1 1
END DATA.
VARIABLE LABELS
  resp_id 'Mã người trả lời'
  stratum 'Tầng mẫu'
  psu 'Xã/phường'
  weight 'Trọng số'
  age 'Tuổi'
  ever_partnered 'Đã từng có chồng/bạn tình'
  violence 'Từng bị bạo lực thể xác hoặc tình dục'
  sought_help 'Đã tìm kiếm sự trợ giúp'.
VALUE LABELS
  ever_partnered 1 'Có' 2 'Không'
  /violence sought_help 1 'Có' 2 'Không' 8 'Từ chối trả lời' 9 'Không biết' 0 'Không hỏi'
  /stratum 1 'Thành thị' 2 'Nông thôn'.
MISSING VALUES violence sought_help (8, 9, 0).
SAVE OUTFILE='pspp_survey.sav' /UNCOMPRESSED.
