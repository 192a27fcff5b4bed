# More reference values from R `survey`: designs and data sets beyond r_reference.R (robustness).
#
#   R version 4.2.2 Patched (2022-11-10 r83330), survey 4.1.1 (Lumley), Debian packages r-base-core, r-cran-survey.
#   Regenerate (from the repository root):
#       Rscript tests/reference/r_reference_more.R > tests/reference/r_output_more.txt 2>&1
#   Writes tests/reference/r_values_more.csv (same columns as r_values.csv; the `call` column holds the
#   exact R call of each value) and the data it used in tests/reference/data/ (dhs.csv, nhanes.csv,
#   scd.csv, scd_repw_brr.csv, scd_repw_fay.csv, mu284.csv, strat2.csv, strat2_nolonely.csv). Uses the helpers of
#   r_helpers.R (whole, byd, ciprops), as r_reference.R does.
#
# Designs:
#   dhs        svydesign(id=~v021, strata=~v022, weights=~wt, nest=TRUE, data=dhs)
#              dhs.csv: a synthetic DHS-style sample (set.seed(20261123)): 4 regions (v024) x urban/rural
#              (v025) = 8 strata (v022 = 2 (v024 - 1) + v025); cluster numbers v021 restart at 1 in every
#              stratum (hence nest=TRUE); integer weights v005 (weight x 1e6, constant within a cluster),
#              wt = v005 / 1e6; 12 women with v005 = 0 and one whole cluster with v005 = 0 (zero
#              weights); missing values (NA) in viol (0/1), edu (factor 0-3) and children.
#              Missing values: na.rm = TRUE for svymean / svytotal / svyratio; svyciprop on
#              subset(dhs, !is.na(viol)) (design "dhs_obs" -- the same numbers as na.rm = TRUE).
#   dhs_rural  subset(dhs, v025 == 2)                           (where= plus by=)
#   dhs_rural_obs subset(dhs, v025 == 2 & !is.na(viol))
#   dhs_disab  subset(dhs, disab == 1 & !is.na(viol))           region 4 has no case: svyby gives no row
#   dhs_jkn    as.svrepdesign(dhs, type="JKn", compress=FALSE); "dhs_jkn_obs" = subset(dhs_jkn, !is.na(viol))
#   dhs_lonely_<policy> the same design on dhs_lonely.csv (dhs.csv without the clusters 2, 3, ... of
#              stratum v022 = 8: a single-PSU stratum) under options(survey.lonely.psu = <policy>);
#              proportions on subset(design, !is.na(viol)) ("dhs_lonely_<policy>_obs")
#   nhanes     svydesign(id=~SDMVPSU, strata=~SDMVSTRA, weights=~WTMEC2YR, nest=TRUE, data=nhanes)
#              data(nhanes) of package survey; HI_CHOL has NAs; "nhanes_obs" = subset(nhanes, !is.na(HI_CHOL))
#   nhanes_women subset(nhanes_obs, RIAGENDR == 2)
#   scd_brr    svrepdesign(data=scd, type="BRR", repweights=repweights, combined.weights=FALSE)
#              R's own example (?svrepdesign): repweights = 2 * cbind(c(1,0,1,0,1,0), c(1,0,0,1,0,1),
#              c(0,1,1,0,0,1), c(0,1,0,1,1,0)), written to data/scd_repw_brr.csv; weights all 1
#   scd_fay    svrepdesign(data=scd, type="Fay", rho=0.3, repweights=fayweights, combined.weights=FALSE)
#              fayweights = 0.3 + (2 - 2 * 0.3) * repweights / 2 (data/scd_repw_fay.csv)
#   scd        svydesign(data=scd, prob=~1, id=~ambulance, strata=~ESA, nest=TRUE, fpc=~fpc)
#              (R's example, fpc=rep(5,6) as a column)
#   mu284      svydesign(id=~id1+id2, fpc=~n1+n2, data=mu284) (data(mu284)); its weights (1/prob) are
#              written to mu284.csv as column w
#   strat2_<policy> svydesign(ids=~psu+ssu, strata=~s1+s2, fpc=~f1+f2, weights=~w, data=strat2)
#              strata below stage 1: strat2.csv is synthetic (set.seed(20261124)): 3 stage-1 strata,
#              PSUs in each, inside every PSU two stage-2 strata (s2) from which households (ssu) are
#              sampled; f1 = PSUs in the stage-1 stratum's population, f2 = households in the PSU's
#              stage-2 stratum; one PSU has a single sampled household in one of its stage-2 strata
#              (a lonely unit at stage 2). Policies remove, certainty, adjust, average.
#   strat2_ps  postStratify(strat2_remove, ~s2, data.frame(s2 = c("a", "b"), Freq = c(600, 650)))
#   strat2_nolonely the same without the lonely household's stratum (its household is moved to the
#              PSU's other stage-2 stratum).
#   dstrat2_average: R returns NA at stage 2 when a PSU's only stage-2 stratum is lonely (see r_reference.R).

suppressMessages(library(survey))
options(warn = 1)
cat(R.version.string, "\n")
cat("survey", as.character(packageVersion("survey")), "\n")

here <- file.path("tests", "reference")
dd <- file.path(here, "data")
rd <- function(f) read.csv(file.path(dd, f), stringsAsFactors = FALSE)
source(file.path(here, "r_helpers.R"))
NA_RM <- TRUE
options(survey.lonely.psu = "fail")

# svymean of a factor (each category, svymean(~factor(x), na.rm = TRUE)) as proportions of x == k:
# variable "x_k" (0/1, NA where x is NA; the data carry these columns), method "mean" (svyciprop's
# method = "mean" is this interval, est -/+ qt(0.975, degf) * se)
factor_means <- function(dname, d, var, by = NULL, stat = "mean") {
  current$design <- d
  FUN <- if (stat == "mean") svymean else svytotal
  st <- if (stat == "mean") "proportion" else "total"
  meth <- if (stat == "mean") "mean" else "t"
  fn <- paste0("svy", stat)
  lv <- sort(unique(na.omit(d$variables[[var]])))
  d <- update(d, .f = factor(d$variables[[var]], levels = lv))
  if (is.null(by)) {
    m <- FUN(~.f, d, na.rm = TRUE, deff = TRUE)
    m2 <- FUN(~.f, d, na.rm = TRUE, deff = "replace")
    dfi <- degf(observed(d, var))
    for (k in seq_along(lv)) {
      v <- paste0(var, "_", lv[k])
      q <- qt(0.975, dfi)
      add(paste(dname, st, v, meth, 0.95, sep = ":"), dname, st, v, "", "", meth,
          0.95, coef(m)[k], SE(m)[k], coef(m)[k] - q * SE(m)[k], coef(m)[k] + q * SE(m)[k], dfi,
          deff(m)[k], deff(m2)[k],
          sprintf("%s(~factor(%s), %s, na.rm=TRUE, deff=TRUE); est -/+ qt(0.975, degf) * se", fn, var, dname))
    }
    return(invisible())
  }
  fb <- as.formula(paste0("~", by))
  m <- svyby(~.f, fb, d, FUN, na.rm = TRUE, deff = TRUE)
  m2 <- svyby(~.f, fb, d, FUN, na.rm = TRUE, deff = "replace")
  dfs <- domain_df(d, by, var)
  labs <- by_label(m, by)
  for (k in seq_along(lv)) {
    v <- paste0(var, "_", lv[k])
    cn <- paste0(".f", lv[k])
    for (i in seq_along(labs)) {
      e <- m[i, cn]; s <- m[i, paste0("se.", cn)]
      dfi <- dfs[[labs[i]]]; q <- qt(0.975, dfi)
      add(paste(dname, st, v, by, labs[i], meth, 0.95, sep = ":"), dname, st, v, by,
          labs[i], meth, 0.95, e, s, e - q * s, e + q * s, dfi, m[i, paste0("DEff..f", lv[k])],
          m2[i, paste0("DEff..f", lv[k])],
          sprintf("svyby(~factor(%s), %s, %s, %s, na.rm=TRUE, deff=TRUE); est -/+ qt(0.975, degf(domain)) * se",
                  var, deparse(fb), dname, fn))
    }
  }
}

# ---- DHS-style survey ---------------------------------------------------------------------------------
# (generated here once; the CSV is what both sides read)
set.seed(20261123)
parts <- list()
for (r in 1:4) for (u in 1:2) {
  h <- 2 * (r - 1) + u
  ncl <- sample(4:8, 1)
  for (c in 1:ncl) {
    m <- sample(8:16, 1)
    v005 <- round(runif(1, 0.2, 3) * 1e6)
    p <- plogis(-1.2 + 0.3 * r - 0.2 * u + rnorm(1, 0, 0.5))
    parts[[length(parts) + 1]] <- data.frame(v021 = c, v022 = h, v024 = r, v025 = u, v005 = v005,
      viol = rbinom(m, 1, p), edu = sample(0:3, m, replace = TRUE, prob = c(0.2, 0.35, 0.3, 0.15) ),
      age = sample(15:49, m, replace = TRUE), children = rpois(m, 2), hh_women = 1 + rpois(m, 0.8),
      disab = rbinom(m, 1, 0.15))
  }
}
dhs <- do.call(rbind, parts)
n <- nrow(dhs)
dhs$viol[sample(n, 25)] <- NA
dhs$edu[sample(n, 10)] <- NA
dhs$children[sample(n, 15)] <- NA
dhs$v005[sample(n, 12)] <- 0
dhs$v005[dhs$v022 == 3 & dhs$v021 == 2] <- 0
dhs$disab[dhs$v024 == 4] <- 0
dhs$zero_r1 <- ifelse(dhs$v024 == 1, 0, dhs$viol)
dhs$one_r2 <- ifelse(dhs$v024 == 2, 1, dhs$viol)
dhs$wt <- dhs$v005 / 1e6
for (k in 0:3) dhs[[paste0("edu_", k)]] <- as.numeric(dhs$edu == k)
write.csv(dhs, file.path(dd, "dhs.csv"), row.names = FALSE)
dhs <- rd("dhs.csv")
ddhs <- svydesign(id = ~v021, strata = ~v022, weights = ~wt, nest = TRUE, data = dhs)
cat("dhs: n =", nrow(dhs), " clusters =", length(unique(ddhs$cluster[, 1])), " degf =", degf(ddhs), "\n")
dobs <- subset(ddhs, !is.na(viol))
drural <- subset(ddhs, v025 == 2)
drural_obs <- subset(ddhs, v025 == 2 & !is.na(viol))
ddisab <- subset(ddhs, disab == 1 & !is.na(viol))
whole("dhs", ddhs, "mean", "viol")
whole("dhs", ddhs, "total", "viol")
whole("dhs", ddhs, "mean", "age")
whole("dhs", ddhs, "mean", "children")
whole("dhs", ddhs, "total", "children")
whole("dhs", ddhs, "ratio", "children", "hh_women")
byd("dhs", ddhs, "mean", "viol", "v024")
byd("dhs", ddhs, "total", "viol", "v024")
byd("dhs", ddhs, "mean", "children", "v024")
byd("dhs", ddhs, "ratio", "children", "v024", den = "hh_women")
byd("dhs", ddhs, "mean", "viol", "v024+v025")
byd("dhs", ddhs, "total", "children", "v024+v025")
factor_means("dhs", ddhs, "edu")
factor_means("dhs", ddhs, "edu", "v024")
factor_means("dhs", ddhs, "edu", "v024+v025")
factor_means("dhs", ddhs, "edu", stat = "total")
factor_means("dhs", ddhs, "edu", "v024", stat = "total")
ciprops("dhs_obs", dobs, "viol")
ciprops("dhs_obs", dobs, "viol", by = "v024")
ciprops("dhs_obs", dobs, "viol", by = "v024+v025")
ciprops("dhs_obs", dobs, "zero_r1", by = "v024")
ciprops("dhs_obs", dobs, "one_r2", by = "v024")
byd("dhs_rural", drural, "mean", "viol", "v024")
byd("dhs_rural", drural, "ratio", "children", "v024", den = "hh_women")
factor_means("dhs_rural", drural, "edu", "v024")
ciprops("dhs_rural_obs", drural_obs, "viol", by = "v024")
ciprops("dhs_disab", ddisab, "viol", by = "v024")
# region 4 has no woman with disab == 1: svyby returns no row for it, and svymean on that subset
# returns 0 with SE 0 (no error)
e <- svymean(~viol, subset(ddisab, v024 == 4))
add("dhs_disab:mean:viol:v024:4:empty", "dhs_disab", "empty", "viol", "v024", "4", "", NA, coef(e), SE(e),
    call = "svyby(~viol, ~v024, dhs_disab, svymean) (no row for v024 = 4); svymean(~viol, subset(dhs_disab, v024 == 4))",
    note = "svyby gives no row for an empty domain; svymean on the empty subset gives estimate 0, SE 0")

# the same design as JKn replicates (as.svrepdesign; PSU numbers nested in strata, a zero-weight cluster)
rdhs <- as.svrepdesign(ddhs, type = "JKn", compress = FALSE)
whole("dhs_jkn", rdhs, "mean", "viol")
whole("dhs_jkn", rdhs, "total", "children")
byd("dhs_jkn", rdhs, "mean", "viol", "v024")
byd("dhs_jkn", rdhs, "ratio", "children", "v024", den = "hh_women")
ciprops("dhs_jkn_obs", subset(rdhs, !is.na(viol)), "viol", by = "v024")

# a stratum with a single cluster (v022 = 8 keeps only cluster 1): every lonely-PSU policy
dl <- dhs[!(dhs$v022 == 8 & dhs$v021 > 1), ]
write.csv(dl, file.path(dd, "dhs_lonely.csv"), row.names = FALSE)
dl <- rd("dhs_lonely.csv")
for (opt in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  dn <- paste0("dhs_lonely_", opt)
  d <- svydesign(id = ~v021, strata = ~v022, weights = ~wt, nest = TRUE, data = dl)
  whole(dn, d, "mean", "viol")
  byd(dn, d, "mean", "viol", "v024")
  byd(dn, d, "total", "children", "v025")
  ciprops(paste0(dn, "_obs"), subset(d, !is.na(viol)), "viol", by = "v025")
}
options(survey.lonely.psu = "fail")

# ---- NHANES (data(nhanes) of package survey) ------------------------------------------------------------
data(nhanes)
nh <- nhanes
nh$agecat <- as.character(nh$agecat)
for (k in sort(unique(nh$race))) nh[[paste0("race_", k)]] <- as.numeric(nh$race == k)
write.csv(nh, file.path(dd, "nhanes.csv"), row.names = FALSE)
nh <- rd("nhanes.csv")
dnh <- svydesign(id = ~SDMVPSU, strata = ~SDMVSTRA, weights = ~WTMEC2YR, nest = TRUE, data = nh)
cat("nhanes: n =", nrow(nh), " degf =", degf(dnh), " HI_CHOL NA =", sum(is.na(nh$HI_CHOL)), "\n")
dnh_obs <- subset(dnh, !is.na(HI_CHOL))
dnh_women <- subset(dnh, !is.na(HI_CHOL) & RIAGENDR == 2)
whole("nhanes", dnh, "mean", "HI_CHOL")
whole("nhanes", dnh, "total", "HI_CHOL")
byd("nhanes", dnh, "mean", "HI_CHOL", "race")
byd("nhanes", dnh, "mean", "HI_CHOL", "agecat")
byd("nhanes", dnh, "mean", "HI_CHOL", "race+RIAGENDR")
byd("nhanes", dnh, "total", "HI_CHOL", "agecat+RIAGENDR")
factor_means("nhanes", dnh, "race")
factor_means("nhanes", dnh, "race", "agecat")
ciprops("nhanes_obs", dnh_obs, "HI_CHOL")
ciprops("nhanes_obs", dnh_obs, "HI_CHOL", by = "race")
ciprops("nhanes_obs", dnh_obs, "HI_CHOL", by = "agecat")
ciprops("nhanes_women", dnh_women, "HI_CHOL", by = "race")

# ---- scd (data(scd)): replicate weights given as columns, and the Taylor design --------------------------
data(scd)
scd$w <- 1
scd$fpc <- 5
write.csv(scd, file.path(dd, "scd.csv"), row.names = FALSE)
scd <- rd("scd.csv")
repweights <- 2 * cbind(c(1, 0, 1, 0, 1, 0), c(1, 0, 0, 1, 0, 1), c(0, 1, 1, 0, 0, 1), c(0, 1, 0, 1, 1, 0))
fayweights <- 0.3 + (2 - 2 * 0.3) * repweights / 2
colnames(repweights) <- paste0("r", 1:4); colnames(fayweights) <- paste0("r", 1:4)
write.csv(repweights, file.path(dd, "scd_repw_brr.csv"), row.names = FALSE)
write.csv(fayweights, file.path(dd, "scd_repw_fay.csv"), row.names = FALSE)
scd_designs <- list(
  scd_brr = svrepdesign(data = scd, type = "BRR", repweights = repweights, combined.weights = FALSE),
  scd_fay = svrepdesign(data = scd, type = "Fay", rho = 0.3, repweights = fayweights, combined.weights = FALSE),
  scd = svydesign(data = scd, weights = ~w, id = ~ambulance, strata = ~ESA, nest = TRUE, fpc = ~fpc)
)
for (dn in names(scd_designs)) {
  d <- scd_designs[[dn]]
  whole(dn, d, "mean", "alive")
  whole(dn, d, "total", "arrests")
  whole(dn, d, "ratio", "alive", "arrests")
  byd(dn, d, "mean", "alive", "ESA")
  byd(dn, d, "total", "arrests", "ESA")
}

# ---- mu284 (data(mu284)): two stages, fpc at both --------------------------------------------------------
data(mu284)
dmu <- svydesign(id = ~id1 + id2, fpc = ~n1 + n2, data = mu284)
mu <- mu284
mu$w <- weights(dmu)
write.csv(mu, file.path(dd, "mu284.csv"), row.names = FALSE)
mu <- rd("mu284.csv")
dmu <- svydesign(id = ~id1 + id2, fpc = ~n1 + n2, data = mu)
whole("mu284", dmu, "mean", "y1")
whole("mu284", dmu, "total", "y1")

# ---- strata below stage 1 -------------------------------------------------------------------------------
set.seed(20261124)
parts <- list(); pid <- 0
for (h in 1:3) {
  np <- sample(3:4, 1); f1 <- np * 3 + h
  for (p in 1:np) {
    pid <- pid + 1
    for (s in c("a", "b")) {
      m <- if (h == 2 && p == 1 && s == "b") 1 else sample(2:5, 1)
      f2 <- m * sample(3:6, 1)
      parts[[length(parts) + 1]] <- data.frame(s1 = h, psu = pid, s2 = s, ssu = seq_len(m) + if (s == "b") 10 else 0,
        f1 = f1, f2 = f2, y = round(rnorm(m, 50 + 5 * h + (s == "b") * 8, 10), 1), z = rbinom(m, 1, 0.4))
    }
  }
}
st <- do.call(rbind, parts)
st$w <- ave(st$psu, st$s1, FUN = function(x) length(unique(x)))
st$w <- (st$f1 / st$w) * (st$f2 / ave(st$ssu, st$psu, st$s2, FUN = length))
write.csv(st, file.path(dd, "strat2.csv"), row.names = FALSE)
st <- rd("strat2.csv")
for (opt in c("fail", "remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  dn <- paste0("strat2_", opt)
  d <- svydesign(ids = ~psu + ssu, strata = ~s1 + s2, fpc = ~f1 + f2, weights = ~w, data = st)
  if (opt == "fail") {
    msg <- tryCatch({ svymean(~y, d); "no error" }, error = function(e) conditionMessage(e))
    add(paste0(dn, ":mean:y:error"), dn, "error", "y", call = "svymean(~y, strat2)", note = msg)
    next
  }
  whole(dn, d, "mean", "y")
  whole(dn, d, "total", "y")
  whole(dn, d, "ratio", "y", "z")
  byd(dn, d, "mean", "y", "s1")
  byd(dn, d, "mean", "y", "s2")
  ciprops(dn, d, "z", by = "s1")
  if (opt == "remove") {
    ps <- postStratify(d, ~s2, data.frame(s2 = c("a", "b"), Freq = c(600, 650)))
    whole("strat2_ps", ps, "mean", "y")
    whole("strat2_ps", ps, "total", "y")
    byd("strat2_ps", ps, "mean", "y", "s1")
  }
}
options(survey.lonely.psu = "fail")
# the lonely household joins its PSU's other stage-2 stratum: no lonely unit left
st_nl <- st
st_nl$s2[st_nl$s1 == 2 & st_nl$psu == min(st_nl$psu[st_nl$s1 == 2])] <- "a"
st_nl$f2[st_nl$s1 == 2 & st_nl$psu == min(st_nl$psu[st_nl$s1 == 2])] <-
  max(st_nl$f2[st_nl$s1 == 2 & st_nl$psu == min(st_nl$psu[st_nl$s1 == 2]) & st$s2 == "a"])
write.csv(st_nl, file.path(dd, "strat2_nolonely.csv"), row.names = FALSE)
st_nl <- rd("strat2_nolonely.csv")
d <- svydesign(ids = ~psu + ssu, strata = ~s1 + s2, fpc = ~f1 + f2, weights = ~w, data = st_nl)
whole("strat2_nolonely", d, "mean", "y")
whole("strat2_nolonely", d, "total", "y")
byd("strat2_nolonely", d, "total", "y", "s2")

out <- do.call(rbind, rows)
stopifnot(!anyDuplicated(out$case))
num <- c("level", "estimate", "se", "ci_low", "ci_high", "df", "deff", "deff_wr", "n", "n_weighted")
for (cn in num) out[[cn]] <- ifelse(is.na(out[[cn]]), "NA", sprintf("%.17g", out[[cn]]))
write.csv(out, file.path(here, "r_values_more.csv"), row.names = FALSE)
cat("wrote", nrow(out), "reference rows to", file.path(here, "r_values_more.csv"), "\n")
