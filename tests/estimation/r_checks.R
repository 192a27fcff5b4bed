# Direct R survey checks for the estimation core (a small set; the full reference set is tests/reference/).
#   R 4.2.2, survey 4.1.1.  Regenerate from the repository root:
#       Rscript tests/estimation/r_checks.R
#   Writes tests/estimation/r_values.csv: id, domain, estimate, se, ci_low, ci_high, df, deff, with the R
#   call in column `call`. Data: tests/reference/data/api*.csv (R's data(api), exported by the reference engineer).
suppressMessages(library(survey))
d <- "tests/reference/data"
apistrat <- read.csv(file.path(d, "apistrat.csv"))
apiclus1 <- read.csv(file.path(d, "apiclus1.csv"))
apiclus2 <- read.csv(file.path(d, "apiclus2.csv"))
for (nm in c("apistrat", "apiclus1", "apiclus2")) {
  x <- get(nm); x$yes <- as.numeric(x$sch.wide == "Yes"); x$big <- as.numeric(x$enroll > 600)
  x$top <- as.numeric(x$api00 > 850)
  x$stratum_l <- x$stype; assign(nm, x)
}
# a planted lonely stratum: the H school with the smallest snum alone in stratum "L"
i <- which(apistrat$stype == "H")[which.min(apistrat$snum[apistrat$stype == "H"])]
apistrat$stratum_l[i] <- "L"
write.csv(apistrat[, c("snum", "stratum_l")], "tests/estimation/apistrat_lonely.csv", row.names = FALSE)

rows <- list()
add <- function(id, call, dom, est, se, lo = NA, hi = NA, df = NA, deff = NA) {
  u <- function(v) as.numeric(unname(unlist(v)))
  rows[[length(rows) + 1]] <<- data.frame(id = id, domain = as.character(dom), estimate = u(est), se = u(se),
    ci_low = u(lo), ci_high = u(hi), df = u(df), deff = u(deff), call = call, row.names = NULL)
}
byrows <- function(id, call, res, df = NA) {
  ci <- confint(res, df = df)
  add(id, call, res[[1]], coef(res), SE(res), ci[, 1], ci[, 2], df, if (!is.null(attr(res, "deffs")) || "DEff" %in% names(res)) deff(res) else NA)
}
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus1n <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, weights = ~pw, fpc = ~fpc1 + fpc2, data = apiclus2)
dclus2n <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)

m <- svymean(~api00, dstrat, deff = TRUE)
add("strat_mean", "svymean(~api00, dstrat, deff=TRUE)", "all", coef(m), SE(m), df = degf(dstrat), deff = deff(m))
m <- svymean(~api00, dstrat, deff = "replace")
add("strat_mean_wr", "svymean(~api00, dstrat, deff='replace')", "all", coef(m), SE(m), deff = deff(m))
m <- svytotal(~enroll, dstrat, deff = TRUE)
add("strat_total", "svytotal(~enroll, dstrat, deff=TRUE)", "all", coef(m), SE(m), deff = deff(m))
r <- svyby(~api00, ~stype, dclus1, svymean, deff = TRUE)
add("clus1_mean_by", "svyby(~api00, ~stype, dclus1, svymean, deff=TRUE)", r$stype, r$api00, SE(r), deff = deff(r))
r <- svyby(~enroll, ~stype, dclus1n, svytotal, deff = TRUE)
add("clus1n_total_by", "svyby(~enroll, ~stype, dclus1n, svytotal, deff=TRUE)", r$stype, r$enroll, SE(r), deff = deff(r))
m <- svymean(~api00, dclus2, deff = TRUE)
add("clus2_mean", "svymean(~api00, dclus2, deff=TRUE)", "all", coef(m), SE(m), df = degf(dclus2), deff = deff(m))
m <- svytotal(~enroll, dclus2, na.rm = TRUE)
add("clus2_total_narm", "svytotal(~enroll, dclus2, na.rm=TRUE)", "all", coef(m), SE(m))
m <- svymean(~api00, dclus2n)
add("clus2n_mean", "svymean(~api00, dclus2n)", "all", coef(m), SE(m))
r <- svyratio(~api00, ~api99, dclus2)
add("clus2_ratio", "svyratio(~api00, ~api99, dclus2)", "all", coef(r), SE(r))
r <- svyby(~api00, ~stype, denominator = ~api99, dstrat, svyratio)
add("strat_ratio_by", "svyby(~api00, ~stype, denominator=~api99, dstrat, svyratio)", r$stype, r[, 2], SE(r))
for (meth in c("logit", "beta", "mean", "xlogit", "asin", "likelihood")) {
  r <- svyby(~yes, ~stype, dclus1, svyciprop, method = meth, vartype = c("se", "ci"))
  dfs <- sapply(levels(factor(apiclus1$stype)), function(s) degf(subset(dclus1, stype == s)))
  add(paste0("clus1_prop_", meth), paste0("svyby(~yes, ~stype, dclus1, svyciprop, method='", meth, "', vartype=c('se','ci'))"),
      r$stype, r$yes, r[[3]], r$ci_l, r$ci_u, dfs)
  r <- svyby(~top, ~stype, dclus2, svyciprop, method = meth, vartype = c("se", "ci"))
  dfs <- sapply(levels(factor(apiclus2$stype)), function(s) degf(subset(dclus2, stype == s)))
  add(paste0("clus2_prop_", meth), paste0("svyby(~top, ~stype, dclus2, svyciprop, method='", meth, "', vartype=c('se','ci'))"),
      r$stype, r$top, r[[3]], r$ci_l, r$ci_u, dfs)
}
# domain via subset() equals the zero-weight domain
m <- svymean(~api00, subset(dclus1, enroll > 400))
add("clus1_subset_mean", "svymean(~api00, subset(dclus1, enroll > 400))", "all", coef(m), SE(m), df = degf(subset(dclus1, enroll > 400)))
for (pol in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = pol)
  dl <- svydesign(id = ~1, strata = ~stratum_l, weights = ~pw, data = apistrat)
  m <- svymean(~api00, dl)
  add(paste0("lonely_", pol), paste0("options(survey.lonely.psu='", pol, "'); svymean(~api00, svydesign(id=~1, strata=~stratum_l, weights=~pw, data=apistrat))"), "all", coef(m), SE(m))
  m <- svytotal(~enroll, dl)
  add(paste0("lonely_total_", pol), paste0("options(survey.lonely.psu='", pol, "'); svytotal(~enroll, ...same design)"), "all", coef(m), SE(m))
  r <- svyby(~api00, ~awards, dl, svymean)
  add(paste0("lonely_by_", pol), paste0("options(survey.lonely.psu='", pol, "'); svyby(~api00, ~awards, ...same design, svymean)"), r$awards, r$api00, SE(r))
}
options(survey.lonely.psu = "fail")
# replicate designs made by R from the Taylor designs (the replicate engineer matches the weights)
d1jk <- as.svrepdesign(dclus1, type = "JK1")
r <- svyby(~api00, ~stype, d1jk, svymean)
add("jk1_mean_by", "svyby(~api00, ~stype, as.svrepdesign(dclus1, type='JK1'), svymean)", r$stype, r$api00, SE(r))
for (meth in c("logit", "beta")) {
  r <- svyby(~yes, ~stype, d1jk, svyciprop, method = meth, vartype = c("se", "ci"))
  dfs <- sapply(levels(factor(apiclus1$stype)), function(s) degf(subset(d1jk, stype == s)))
  add(paste0("jk1_prop_", meth), paste0("svyby(~yes, ~stype, as.svrepdesign(dclus1, type='JK1'), svyciprop, method='", meth, "', vartype=c('se','ci'))"),
      r$stype, r$yes, r[[3]], r$ci_l, r$ci_u, dfs)
}
dsjk <- as.svrepdesign(dstrat, type = "JKn")
r <- svyratio(~api00, ~api99, dsjk)
add("jkn_ratio", "svyratio(~api00, ~api99, as.svrepdesign(dstrat, type='JKn'))", "all", coef(r), SE(r))
m <- svytotal(~enroll, dsjk)
add("jkn_total", "svytotal(~enroll, as.svrepdesign(dstrat, type='JKn'))", "all", coef(m), SE(m))
# calibrated designs: the Taylor engine residualises the scores (postStratify, rake)
pop_st <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
dps <- postStratify(dclus1, ~stype, pop_st)
r <- svyby(~api00, ~awards, dps, svymean)
add("ps_mean_by", "svyby(~api00, ~awards, postStratify(dclus1, ~stype, pop_st), svymean)", r$awards, r$api00, SE(r))
m <- svytotal(~enroll, dps)
add("ps_total", "svytotal(~enroll, postStratify(dclus1, ~stype, pop_st))", "all", coef(m), SE(m))
r <- svyby(~yes, ~awards, dps, svyciprop, vartype = c("se", "ci"))
add("ps_prop_logit_no", "svyby(~yes, ~awards, postStratify(dclus1, ~stype, pop_st), svyciprop, vartype=c('se','ci')) [awards == 'No'; 'Yes' is 100%]",
    r$awards[1], r$yes[1], r[[3]][1], r$ci_l[1], r$ci_u[1])
drk <- rake(dclus1, list(~stype, ~sch.wide), list(pop_st, data.frame(sch.wide = c("No", "Yes"), Freq = c(1000, 5194))))
r <- svyby(~api00, ~awards, drk, svymean)
add("rake_mean_by", "svyby(~api00, ~awards, rake(dclus1, list(~stype, ~sch.wide), ...), svymean)", r$awards, r$api00, SE(r))
out <- do.call(rbind, rows)
num <- sapply(out, is.numeric)
out17 <- out; out17[num] <- lapply(out[num], function(v) ifelse(is.na(v), NA, sprintf("%.17g", v)))
write.csv(out17, "tests/estimation/r_values.csv", row.names = FALSE)
cat(R.version.string, "survey", as.character(packageVersion("survey")), "\n")
print(out[, 1:8])
