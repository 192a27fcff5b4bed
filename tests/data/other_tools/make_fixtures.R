# Writes small survey files with R's haven and foreign packages, so that gbvstats is tested on files
# written by other tools (tests/foundation/test_other_tools.py). Synthetic data only.
#
# Run from this folder:   Rscript make_fixtures.R
# Then:                    pspp make_fixtures.sps     (reads foreign_spss.sps's data; see README.md)
#
# Next to each data file the script writes <file>.truth.json: what R itself says the data are (values as
# R sees them, value labels, variable labels, user-missing counts), so the tests compare gbvstats with the
# writing tool and not with gbvstats' own output.
suppressPackageStartupMessages({
  library(haven)
  library(foreign)
  library(jsonlite)
})

set.seed(2232)
n <- 12L
vi <- list(
  yes = "C\u00f3", no = "Kh\u00f4ng", refused = "T\u1eeb ch\u1ed1i tr\u1ea3 l\u1eddi",
  dk = "Kh\u00f4ng bi\u1ebft", not_asked = "Kh\u00f4ng h\u1ecfi",
  violence = "T\u1eebng b\u1ecb b\u1ea1o l\u1ef1c th\u1ec3 x\u00e1c ho\u1eb7c t\u00ecnh d\u1ee5c",
  sought = "\u0110\u00e3 t\u00ecm ki\u1ebfm s\u1ef1 tr\u1ee3 gi\u00fap",
  urban = "Th\u00e0nh th\u1ecb", rural = "N\u00f4ng th\u00f4n",
  weight = "Tr\u1ecdng s\u1ed1", stratum = "T\u1ea7ng m\u1eabu", psu = "X\u00e3/ph\u01b0\u1eddng",
  income = "Thu nh\u1eadp h\u00e0ng th\u00e1ng",
  date = "Ng\u00e0y ph\u1ecfng v\u1ea5n",
  province = "T\u1ec9nh/th\u00e0nh ph\u1ed1 n\u01a1i ph\u1ecfng v\u1ea5n"
)
stratum <- rep(c(1, 2), each = 6)
psu <- c(11, 11, 12, 12, 13, 13, 21, 21, 22, 22, 23, 23)
weight <- c(1.5, 1.5, 2.0, 2.0, 2.5, 2.5, 1.0, 1.0, 3.25, 3.25, 0.75, 0.75)
violence <- c(1, 2, 1, 8, 9, 1, 2, 1, 2, -1, 1, 2)   # 8 refused, 9 don't know, -1 not asked
sought <- c(1, 2, 99, 0, 0, 1, 0, 2, 0, 0, 1, 97)   # 0 not asked; 97..99 user-missing (range)
income <- c(3500, 4200.5, 98, 99, 5100, 2800, 99, 7300, 6100, 3900, 4400, 8800)  # 98/99 refused/don't know
# the SPSS file holds income in million dong, so its codes can be user-missing as the open range 98 THRU HI
income_sav <- ifelse(income %in% c(98, 99), income, income / 1000)
dates <- as.Date("2024-03-01") + c(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
province <- c("C\u1ea7n Th\u01a1", "H\u00e0 T\u0129nh", "Qu\u1ea3ng Nam", "Ki\u00ean Giang")[rep(1:4, 3)]

yn <- setNames(c(1, 2, 8, 9, -1), c(vi$yes, vi$no, vi$refused, vi$dk, vi$not_asked))

# ------------------------------------------------------------------------------------------- SPSS
sav <- tibble::tibble(
  resp_id = seq_len(n),
  stratum = labelled(stratum, setNames(c(1, 2), c(vi$urban, vi$rural)), label = vi$stratum),
  psu = labelled(psu, label = vi$psu),
  weight = labelled(weight, label = vi$weight),
  violence = labelled_spss(violence, yn, na_values = c(8, 9, -1), label = vi$violence),
  sought_help = labelled_spss(sought, setNames(c(1, 2, 0, 97, 98, 99),
                                               c(vi$yes, vi$no, vi$not_asked, "Kh\u00e1c", vi$refused, vi$dk)),
                              na_values = 0, na_range = c(97, 99), label = vi$sought),
  income = labelled_spss(income_sav, setNames(c(98, 99), c(vi$refused, vi$dk)), na_range = c(98, Inf),
                         label = vi$income),
  interview_date = structure(dates, label = vi$date),
  sex = structure(rep(c("F", "M", "F"), 4), label = "Gi\u1edbi t\u00ednh"),
  tinh_thanh_pho_noi_phong_van_nguoi_tra_loi_nam_2024 = labelled(province, label = vi$province)
)
write_sav(sav, "haven_survey.sav")
write_sav(sav, "haven_survey.zsav", compress = "zsav")

truth_of <- function(df) {
  # what R says the data are: values with user-missing as NA (haven's zap_missing), counts of each
  # user-missing code, labels
  out <- list(n = nrow(df), columns = names(df), variables = list())
  for (v in names(df)) {
    x <- df[[v]]
    rec <- list(label = if (is.null(attr(x, "label"))) "" else attr(x, "label"))
    labs <- attr(x, "labels")
    if (!is.null(labs)) {
      codes <- if (is.character(labs)) unname(labs) else {
        lv <- unname(unclass(labs))
        ifelse(is_tagged_na(lv), paste0(".", na_tag(lv)), format(lv, trim = TRUE))  # Stata .a, .b, ...
      }
      rec$value_labels <- setNames(as.list(names(labs)), codes)
    }
    if (inherits(x, "haven_labelled_spss")) {
      um <- is.na(x) & !is.na(unclass(x))
      tab <- table(format(unclass(x)[um], trim = TRUE))
      rec$user_missing <- as.list(setNames(as.integer(tab), names(tab)))
    }
    if (is.double(unclass(x)) && any(is_tagged_na(unclass(x)))) {
      tags <- na_tag(unclass(x))
      tab <- table(paste0(".", tolower(tags[!is.na(tags)])))
      rec$user_missing <- as.list(setNames(as.integer(tab), names(tab)))
    }
    z <- zap_labels(zap_missing(x))
    rec$values <- if (inherits(z, "Date")) format(z) else unname(unclass(z))
    rec$system_missing <- sum(is.na(unclass(x)) & !(if (is.double(unclass(x))) is_tagged_na(unclass(x)) else FALSE)
                              & !(inherits(x, "haven_labelled_spss")))
    out$variables[[v]] <- rec
  }
  out
}
write_truth <- function(df, file) {
  write_json(truth_of(df), paste0(file, ".truth.json"), auto_unbox = TRUE, digits = NA, na = "null",
             pretty = TRUE)
}
write_truth(sav, "haven_survey.sav")

# ------------------------------------------------------------------------------------------- Stata
ta <- function(x) { x[x == 8] <- tagged_na("a"); x[x == 9] <- tagged_na("b"); x[x == -1] <- tagged_na("c"); x }
dta_labels <- setNames(c(1, 2, tagged_na("a"), tagged_na("b"), tagged_na("c")),
                       c(vi$yes, vi$no, vi$refused, vi$dk, vi$not_asked))
dta <- tibble::tibble(
  resp_id = seq_len(n),
  stratum = labelled(stratum, setNames(c(1, 2), c(vi$urban, vi$rural)), label = vi$stratum),
  psu = labelled(psu, label = vi$psu),
  weight = labelled(weight, label = vi$weight),
  violence = labelled(ta(violence), dta_labels, label = vi$violence),
  income = labelled(ifelse(income == 98, tagged_na("a"), ifelse(income == 99, tagged_na("b"), income)),
                    setNames(c(tagged_na("a"), tagged_na("b")), c(vi$refused, vi$dk)), label = vi$income),
  interview_date = structure(dates, label = vi$date),
  sex = structure(rep(c("F", "M", "F"), 4), label = "Gi\u1edbi t\u00ednh"),
  province = labelled(province, label = vi$province)
)
for (ver in 8:15) {
  f <- sprintf("haven_stata%d.dta", ver)
  d <- dta
  if (ver < 14) {
    # before Stata 14, .dta files hold Windows-1252 text: Vietnamese does not fit, so those files carry
    # ASCII labels (what a Stata 13 user would have to do)
    for (v in names(d)) {
      lab <- attr(d[[v]], "label")
      if (!is.null(lab)) attr(d[[v]], "label") <- iconv(lab, "UTF-8", "ASCII//TRANSLIT")
      labs <- attr(d[[v]], "labels")
      if (!is.null(labs)) names(attr(d[[v]], "labels")) <- iconv(names(labs), "UTF-8", "ASCII//TRANSLIT")
    }
    attr(d$sex, "label") <- "Sex"
    d$province <- labelled(iconv(province, "UTF-8", "ASCII//TRANSLIT"), label = "Province")
  }
  write_dta(d, f, version = ver)
  write_truth(d, f)
}

# Stata long strings (strL): an open answer longer than 2045 bytes, and short ones stored as strL too
story <- paste(rep("B\u1ea1o l\u1ef1c gia \u0111\u00ecnh k\u00e9o d\u00e0i nhi\u1ec1u n\u0103m. ", 80), collapse = "")
for (ver in 13:15) {
  note <- c(story, "ng\u1eafn", "", paste0(story, "!"))
  if (ver == 13) note <- iconv(note, "UTF-8", "ASCII//TRANSLIT")  # Stata 13 text is Windows-1252
  d <- data.frame(resp_id = 1:4, note = note, stringsAsFactors = FALSE)
  f <- sprintf("haven_strl%d.dta", ver)
  write_dta(d, f, version = ver, strl_threshold = 100)
  write_truth(d, f)
}

# ------------------------------------------------------------------------------------------- SAS
# SAS special missing values: .A refused, .B don't know, .C not asked
viol_sas <- violence
viol_sas[violence == 8] <- tagged_na("A")
viol_sas[violence == 9] <- tagged_na("B")
viol_sas[violence == -1] <- tagged_na("C")
xpt <- data.frame(RESPID = seq_len(n), STRATUM = stratum, PSU = psu, WEIGHT = weight,
                  VIOL = viol_sas, IDATE = dates,
                  PROV = iconv(province, "UTF-8", "ASCII//TRANSLIT"))
attr(xpt$VIOL, "label") <- "Ever physical or sexual violence"
attr(xpt$WEIGHT, "label") <- "Survey weight"
write_xpt(xpt, "haven_v5.xpt", version = 5, name = "SURVEY")
write_truth(xpt, "haven_v5.xpt")
xpt8 <- xpt
names(xpt8)[names(xpt8) == "PROV"] <- "province_of_interview"   # v8 allows names up to 32 characters
xpt8$province_of_interview <- province
attr(xpt8$VIOL, "label") <- vi$violence
write_xpt(xpt8, "haven_v8.xpt", version = 8, name = "SURVEY")
write_truth(xpt8, "haven_v8.xpt")
ok <- tryCatch({ suppressWarnings(write_sas(xpt, "haven_survey.sas7bdat")); TRUE }, error = function(e) FALSE)
if (ok) write_truth(xpt, "haven_survey.sas7bdat")

# ------------------------------------------------------------------------------------------- foreign
old <- data.frame(resp_id = seq_len(n), stratum = stratum, psu = psu, weight = weight,
                  violence = factor(ifelse(violence %in% c(8, 9, -1), NA, violence), levels = 1:2,
                                    labels = c("Yes", "No")),
                  age = c(23, 31, 45, 52, 19, 37, 28, 61, 40, 33, 29, 48))
attr(old, "var.labels") <- c("Respondent", "Stratum", "Commune", "Weight", "Ever violence", "Age")
write.dta(old, "foreign_stata7.dta", version = 7L)
write.dta(old, "foreign_stata10.dta", version = 10L)
write.foreign(old, datafile = "foreign_spss.txt", codefile = "foreign_spss.sps", package = "SPSS")
f_truth <- list(n = nrow(old), columns = names(old), variables = lapply(old, function(x)
  list(values = if (is.factor(x)) as.integer(x) else x, labels = if (is.factor(x)) levels(x) else NULL)))
write_json(f_truth, "foreign.truth.json", auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)

# ------------------------------------------------------------------------------------------- CSV from R
csv_df <- data.frame(resp_id = seq_len(n), stratum = stratum, psu = psu, weight = weight,
                     income = ifelse(income %in% c(98, 99), NA, income + 0.25), province = province)
csv_df$province[3] <- NA
write.csv(csv_df, "r_write_csv.csv", fileEncoding = "UTF-8")               # row names, "NA", quoted text
write.csv2(csv_df, "r_write_csv2.csv", row.names = FALSE, fileEncoding = "UTF-8")  # ";" and decimal comma
write_json(list(n = nrow(csv_df), columns = names(csv_df), values = as.list(csv_df)), "r_write_csv.truth.json",
           auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE)

versions <- list(R = R.version.string, haven = as.character(packageVersion("haven")),
                 foreign = as.character(packageVersion("foreign")), readstat_sas7bdat_written = ok)
write_json(versions, "r_versions.json", auto_unbox = TRUE, pretty = TRUE)

# ------------------------------------------------------------------------------------------- estimates
# Design-based estimates from the files as R reads them back (survey package), so the tests check the
# whole path file -> gbvstats estimate against R. User-missing codes are NA (haven's default).
suppressPackageStartupMessages(library(survey))
est <- list(survey_version = as.character(packageVersion("survey")), files = list())
for (f in c("haven_survey.sav", "haven_stata15.dta", "haven_stata8.dta")) {
  d <- if (grepl("sav$", f)) read_sav(f) else read_dta(f)
  d <- as.data.frame(zap_labels(zap_missing(d)))
  d$viol_yes <- as.numeric(d$violence == 1)
  des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE, data = d)
  m_inc <- svymean(~income, des, na.rm = TRUE)
  m_vio <- svymean(~viol_yes, des, na.rm = TRUE)
  est$files[[f]] <- list(
    call = "svymean(~x, svydesign(ids = ~psu, strata = ~stratum, weights = ~weight, nest = TRUE), na.rm = TRUE)",
    income = list(mean = unname(coef(m_inc)), se = as.numeric(SE(m_inc))),
    violence_yes = list(mean = unname(coef(m_vio)), se = as.numeric(SE(m_vio))))
  print(f); print(m_inc); print(m_vio)
}
write_json(est, "r_estimates.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
