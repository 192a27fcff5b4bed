# Reference values from R `survey` for gbvstats' agreement tests (issue 3).
#
#   R version 4.2.2 (2022-10-31), survey 4.1.1 (Lumley), Debian packages r-base-core, r-cran-survey.
#   Regenerate (from the repository root):
#       Rscript tests/reference/export_api.R      # api data -> tests/reference/data/*.csv (once)
#       Rscript tests/reference/r_reference.R > tests/reference/r_output.txt 2>&1
#   Writes tests/reference/r_values.csv (one row per quantity, full precision, "%.17g") and the derived
#   data sets and replicate weights in tests/reference/data/. The `call` column of r_values.csv holds
#   the exact R call that produced each row; this header lists the designs they refer to.
#
# Input data are read back from the CSV files the Python tests read (never from data(api)), so both sides
# see the same numbers. Derived 0/1 variables (defined identically in test_against_r.py):
#   sch_wide_yes = sch.wide == "Yes";  awards_yes = awards == "Yes";  both_yes = both == "Yes"
#   zero_in_HM   = stype == "E" & api00 > 700   (0% in strata H and M)
#   all_in_E     = stype == "E" | api00 > 800   (100% in domain E)
#
# Designs (weights always the file's pw):
#   dstrat      svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
#   dstrat_nofpc svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat)
#   dclus1      svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
#   dclus1_nofpc svydesign(id=~dnum, weights=~pw, data=apiclus1)
#   dclus2      svydesign(id=~dnum+snum, weights=~pw, fpc=~fpc1+fpc2, data=apiclus2)
#   dclus2_nofpc svydesign(id=~dnum+snum, weights=~pw, data=apiclus2)
#   dstrat2_<policy> svydesign(id=~psu2+snum, strata=~stype, fpc=~fpc1+fpc2, weights=~pw, data=apistrat2)
#               stratified two-stage with lonely units at stage 2 (see that section), every lonely policy
#   dlonely     svydesign(id=~1, strata=~stratum_l, weights=~pw, data=apistrat_lonely)
#               apistrat_lonely.csv = apistrat with the H school of smallest snum moved to its own stratum "L"
#               (a planted singleton stratum), under options(survey.lonely.psu = fail/remove/certainty/
#               adjust/average)
#   dbrr        svydesign(id=~dnum, strata=~stratum_brr, weights=~pw, data=apiclus2_brr)
#               apiclus2_brr.csv = apiclus2 with its 40 districts, sorted by dnum, paired into 20 strata
#               (stratum_brr = 1 + (rank(dnum) - 1) %/% 2): exactly 2 PSUs per stratum
#   Replicates: as.svrepdesign(dclus1_nofpc, type="JK1"), as.svrepdesign(dstrat_nofpc, type="JKn"),
#               as.svrepdesign(dbrr, type="BRR"), as.svrepdesign(dbrr, type="Fay", fay.rho=0.3),
#               as.svrepdesign(dclus1_nofpc, type="bootstrap", replicates=50) after set.seed(20240101);
#               all with compress=FALSE; their analysis weights (combined) are written to
#               data/repw_<name>.csv (columns rw1..rwR) and scale/rscales/mse to data/repw_meta.csv, and
#               the same statistics are recomputed from svrepdesign(repweights=..., combined.weights=TRUE)
#               ("user-supplied" cases).
#   Calibration (population totals from the api population, as in R's own examples):
#               pop.types = E 4421, H 755, M 1018; pop.schwide = No 1072, Yes 5122;
#               postStratify(dclus1, ~stype, pop.types); rake(dclus1, list(~stype, ~sch.wide), ...);
#               calibrate(dclus1, ~stype + api99, c(6194, 755, 1018, 3914069), calfun = "linear" / "raking")
#               and postStratify / rake on the JK1 replicate design.
#   gbv         the example GBV survey (data/gbv_example.csv, exported by export_gbv.py from the
#               generator's 2024 round) -- only when that file exists.
#
# CIs: svyciprop with every method (by domain: svyby's ci_l/ci_u columns -- confint() of a svyby object
# would give coef -/+ qnorm * SE whatever the method) (logit, likelihood, asin, beta, mean, xlogit), df = degf(design) of
# the domain's subset design (svyby passes the subset; degf counts PSUs and strata with nonzero weight).
# Means/totals/ratios: confint(.., df = degf) ("t") and confint(..) ("wald", normal quantile).
# deff: deff=TRUE (vs SRS without replacement) -> column deff; deff="replace" -> column deff_wr.
# n: rows with nonzero weight in the domain (R's "inset"); n_weighted: sum of the domain's weights.

suppressMessages(library(survey))
options(warn = 1)
cat(R.version.string, "\n")
cat("survey", as.character(packageVersion("survey")), "\n")

here <- file.path("tests", "reference")
dd <- file.path(here, "data")
rd <- function(f) read.csv(file.path(dd, f), stringsAsFactors = FALSE)
prep <- function(d) {
  d$sch_wide_yes <- as.numeric(d$sch.wide == "Yes")
  d$awards_yes <- as.numeric(d$awards == "Yes")
  d$both_yes <- as.numeric(d$both == "Yes")
  d$zero_in_HM <- as.numeric(d$stype == "E" & d$api00 > 700)
  d$all_in_E <- as.numeric(d$stype == "E" | d$api00 > 800)
  d
}
apistrat <- prep(rd("apistrat.csv"))
apiclus1 <- prep(rd("apiclus1.csv"))
apiclus2 <- prep(rd("apiclus2.csv"))

source(file.path(here, "r_helpers.R"))  # add(), whole(), byd(), ciprops() and the rows they collect

# ---- designs -----------------------------------------------------------------------------------------
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dstrat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus1_nofpc <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = apiclus2)
dclus2_nofpc <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
designs <- list(dstrat = dstrat, dstrat_nofpc = dstrat_nofpc, dclus1 = dclus1, dclus1_nofpc = dclus1_nofpc,
                dclus2 = dclus2, dclus2_nofpc = dclus2_nofpc)

for (dn in names(designs)) { cat("design", dn, "\n")
  d <- designs[[dn]]
  whole(dn, d, "mean", "api00")
  whole(dn, d, "total", "api.stu")
  whole(dn, d, "mean", "sch_wide_yes")
  whole(dn, d, "ratio", "api00", "api99")
  byd(dn, d, "mean", "api00", "stype")
  byd(dn, d, "total", "api.stu", "stype")
  byd(dn, d, "mean", "sch_wide_yes", "stype")
  byd(dn, d, "ratio", "api00", "stype", den = "api99")
  ciprops(dn, d, "sch_wide_yes")
  ciprops(dn, d, "sch_wide_yes", by = "stype")
  ciprops(dn, d, "awards_yes", by = "both_yes")
}
# other confidence levels
ciprops("dclus1", dclus1, "sch_wide_yes", by = "stype", level = 0.9)
ciprops("dclus2", dclus2, "awards_yes", level = 0.99)
# 0% and 100% domains
ciprops("dstrat", dstrat, "zero_in_HM", by = "stype")
ciprops("dstrat", dstrat, "all_in_E", by = "stype")
ciprops("dclus1", dclus1, "zero_in_HM", by = "stype")
ciprops("dclus1", dclus1, "all_in_E", by = "stype")

# ---- lonely units at the second stage ---------------------------------------------------------------
# apistrat2.csv = apistrat with psu2 = stype-dnum (districts nested in strata), fpc1 = 3 x the number of
# sampled districts in the stratum, fpc2 = 4 x the number of sampled schools in the district: synthetic
# population sizes, so that most districts have a single sampled school at stage 2 (a lonely unit).
st2 <- apistrat
st2$psu2 <- paste(st2$stype, st2$dnum, sep = "-")
st2$fpc1 <- 3 * ave(match(st2$psu2, unique(st2$psu2)), st2$stype, FUN = function(x) length(unique(x)))
st2$fpc2 <- 4 * ave(st2$snum, st2$psu2, FUN = length)
write.csv(st2[, setdiff(names(st2), c("sch_wide_yes", "awards_yes", "both_yes", "zero_in_HM", "all_in_E"))],
          file.path(dd, "apistrat2.csv"), row.names = FALSE)
st2 <- prep(rd("apistrat2.csv"))
for (opt in c("fail", "remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  dn <- paste0("dstrat2_", opt)
  d <- svydesign(id = ~psu2 + snum, strata = ~stype, fpc = ~fpc1 + fpc2, weights = ~pw, data = st2)
  if (opt == "fail") {
    msg <- tryCatch({ svymean(~api00, d); "no error" }, error = function(e) conditionMessage(e))
    add(paste0(dn, ":mean:api00:error"), dn, "error", "api00", call = "svymean(~api00, dstrat2)", note = msg)
    next
  }
  note <- ""
  r <- withCallingHandlers(svymean(~api00, d), warning = function(w) { note <<- conditionMessage(w); invokeRestart("muffleWarning") })
  if (any(is.na(SE(r)))) {
    add(paste0(dn, ":mean:api00:na"), dn, "na", "api00", estimate = coef(r), se = SE(r),
        call = "svymean(~api00, dstrat2)", note = paste("R returns NA", note))
    next
  }
  whole(dn, d, "mean", "api00")
  whole(dn, d, "total", "api.stu")
  byd(dn, d, "mean", "api00", "sch.wide")
}
options(survey.lonely.psu = "fail")

# ---- lonely PSU --------------------------------------------------------------------------------------
lonely <- apistrat
lonely$stratum_l <- lonely$stype
hsn <- min(lonely$snum[lonely$stype == "H"])
lonely$stratum_l[lonely$snum == hsn] <- "L"
write.csv(lonely[, setdiff(names(lonely), c("sch_wide_yes", "awards_yes", "both_yes", "zero_in_HM", "all_in_E"))],
          file.path(dd, "apistrat_lonely.csv"), row.names = FALSE)
lonely <- prep(rd("apistrat_lonely.csv"))
for (opt in c("fail", "remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  dn <- paste0("dlonely_", opt)
  d <- svydesign(id = ~1, strata = ~stratum_l, weights = ~pw, data = lonely)
  if (opt == "fail") {
    msg <- tryCatch({ svymean(~api00, d); "no error" }, error = function(e) conditionMessage(e))
    add(paste0(dn, ":mean:api00:error"), dn, "error", "api00", call = "svymean(~api00, dlonely)", note = msg)
    next
  }
  whole(dn, d, "mean", "api00")
  whole(dn, d, "total", "api.stu")
  byd(dn, d, "mean", "api00", "sch.wide")
  ciprops(dn, d, "awards_yes")
}
options(survey.lonely.psu = "fail")

# ---- replicate designs -------------------------------------------------------------------------------
brr <- apiclus2
ud <- sort(unique(brr$dnum))
brr$stratum_brr <- 1 + (match(brr$dnum, ud) - 1) %/% 2
write.csv(brr[, setdiff(names(brr), c("sch_wide_yes", "awards_yes", "both_yes", "zero_in_HM", "all_in_E"))],
          file.path(dd, "apiclus2_brr.csv"), row.names = FALSE)
brr <- prep(rd("apiclus2_brr.csv"))
dbrr <- svydesign(id = ~dnum, strata = ~stratum_brr, weights = ~pw, data = brr)
whole("dbrr", dbrr, "mean", "api00")
whole("dbrr", dbrr, "total", "api.stu")

set.seed(20240101)
reps <- list(
  jk1 = list(base = "dclus1_nofpc", data = "apiclus1.csv", d = as.svrepdesign(dclus1_nofpc, type = "JK1", compress = FALSE)),
  jkn = list(base = "dstrat_nofpc", data = "apistrat.csv", d = as.svrepdesign(dstrat_nofpc, type = "JKn", compress = FALSE)),
  brr = list(base = "dbrr", data = "apiclus2_brr.csv", d = as.svrepdesign(dbrr, type = "BRR", compress = FALSE)),
  fay = list(base = "dbrr", data = "apiclus2_brr.csv", d = as.svrepdesign(dbrr, type = "Fay", fay.rho = 0.3, compress = FALSE)),
  boot = list(base = "dclus1_nofpc", data = "apiclus1.csv", d = as.svrepdesign(dclus1_nofpc, type = "bootstrap", replicates = 50, compress = FALSE))
)
reps$jk1_mse <- list(base = "dclus1_nofpc", data = "apiclus1.csv",
                     d = as.svrepdesign(dclus1_nofpc, type = "JK1", compress = FALSE, mse = TRUE))
meta <- list()
for (nm in names(reps)) {
  r <- reps[[nm]]$d
  dn <- paste0("rep_", nm)
  rw <- as.matrix(weights(r, "analysis"))
  rwt <- apply(rw, 2, function(x) sprintf("%.17g", x))
  colnames(rwt) <- paste0("rw", seq_len(ncol(rw)))
  write.csv(rwt, file.path(dd, paste0("repw_", nm, ".csv")), row.names = FALSE, quote = FALSE)
  meta[[nm]] <- data.frame(name = nm, base = reps[[nm]]$base, data = reps[[nm]]$data, type = r$type,
                           replicates = ncol(rw), scale = sprintf("%.17g", r$scale),
                           rscales = paste(sprintf("%.17g", r$rscales), collapse = ";"),
                           mse = r$mse, rho = if (is.null(r$rho)) NA else r$rho, degf = degf(r))
  wide <- function(dn2, d) {
    whole(dn2, d, "mean", "api00")
    whole(dn2, d, "total", "api.stu")
    whole(dn2, d, "mean", "sch_wide_yes")
    whole(dn2, d, "ratio", "api00", "api99")
    byd(dn2, d, "mean", "api00", "stype")
    byd(dn2, d, "total", "api.stu", "stype")
    byd(dn2, d, "ratio", "api00", "stype", den = "api99")
  }
  wide(dn, r)
  if (nm != "boot") ciprops(dn, r, "sch_wide_yes", by = "stype")
  # the same from the exported weights, as a user would supply them
  ud <- rd(reps[[nm]]$data)
  ud <- prep(ud)
  rwu <- rd(paste0("repw_", nm, ".csv"))
  u <- svrepdesign(data = ud, weights = ~pw, repweights = as.matrix(rwu), type = "other",
                   scale = r$scale, rscales = r$rscales, mse = r$mse, combined.weights = TRUE)
  wide(paste0("user_", nm), u)
  if (nm == "boot") ciprops(paste0("user_", nm), u, "sch_wide_yes", by = "stype")
}
write.csv(do.call(rbind, meta), file.path(dd, "repw_meta.csv"), row.names = FALSE)

# ---- calibration -------------------------------------------------------------------------------------
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
cal <- list(
  ps_dclus1 = postStratify(dclus1, ~stype, pop.types),
  rake_dclus1 = rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide)),
  callin_dclus1 = calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069),
                            calfun = "linear"),
  calrake_dclus1 = calibrate(dclus1, ~stype + api99, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069),
                             calfun = "raking"),
  ps_jk1 = postStratify(reps$jk1$d, ~stype, pop.types),
  rake_jk1 = rake(reps$jk1$d, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
)
for (nm in names(cal)) {
  d <- cal[[nm]]
  whole(nm, d, "mean", "api00")
  whole(nm, d, "total", "api.stu")
  whole(nm, d, "total", "enroll")
  whole(nm, d, "mean", "sch_wide_yes")
  byd(nm, d, "mean", "api00", "stype")
  byd(nm, d, "mean", "api00", "awards")
  ciprops(nm, d, "awards_yes", by = "stype")
}

# ---- the example GBV survey --------------------------------------------------------------------------
gbv_file <- file.path(dd, "gbv_example.csv")
if (file.exists(gbv_file)) {
  source(file.path(here, "r_reference_gbv.R"))
}

out <- do.call(rbind, rows)
stopifnot(!anyDuplicated(out$case))
num <- c("level", "estimate", "se", "ci_low", "ci_high", "df", "deff", "deff_wr", "n", "n_weighted")
for (cn in num) out[[cn]] <- ifelse(is.na(out[[cn]]), "NA", sprintf("%.17g", out[[cn]]))
write.csv(out, file.path(here, "r_values.csv"), row.names = FALSE)
cat("wrote", nrow(out), "reference rows to", file.path(here, "r_values.csv"), "\n")
print(head(out[, c("case", "estimate", "se", "ci_low", "ci_high", "df")], 20))
