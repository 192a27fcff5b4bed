# Reference values for tests/replicate (replicate weights and calibration), from R survey.
# Run from the project root:  Rscript tests/replicate/r_reference.R
# Writes tests/replicate/data/*.csv. Produced with R 4.2.2, survey 4.1.1 (versions in r_versions.csv).
suppressMessages(library(survey))
data(api)
out <- "tests/replicate/data"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
res <- list()
add <- function(case, stat, est) {
  ## est: svystat / svrepstat; keep estimate and SE of every coefficient
  cf <- coef(est); se <- SE(est)
  res[[length(res) + 1]] <<- data.frame(case = case, stat = stat, term = names(cf),
                                        estimate = unname(cf), se = unname(se))
}
stats <- function(case, d) {
  add(case, "mean", svymean(~api00 + api99, d))
  add(case, "total", svytotal(~api00 + api99, d))
  add(case, "mean", svymean(~stype, d))
  res[[length(res) + 1]] <<- data.frame(case = case, stat = "degf", term = "degf",
                                        estimate = degf(d), se = NA)
}
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dstrat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
## a design with two PSUs per stratum for BRR/Fay: apiclus2's 40 districts paired in order of dnum
apibrr <- apiclus2
apibrr$pair <- match(apibrr$dnum, sort(unique(apibrr$dnum)))
apibrr$pair <- (apibrr$pair + 1) %/% 2
dbrr <- svydesign(id = ~dnum, strata = ~pair, weights = ~pw, data = apibrr)
write.csv(apibrr[, c("dnum", "pair", "pw")], file.path(out, "apibrr_design.csv"), row.names = FALSE)

reps <- list(
  jk1_clus1 = as.svrepdesign(dclus1, type = "JK1"),
  jkn_strat = as.svrepdesign(dstrat, type = "JKn"),
  jkn_strat_nofpc = as.svrepdesign(dstrat_nofpc, type = "JKn"),
  jk1_clus2 = suppressWarnings(as.svrepdesign(dclus2, type = "JK1")),
  brr = as.svrepdesign(dbrr, type = "BRR"),
  fay = as.svrepdesign(dbrr, type = "Fay", fay.rho = 0.3)
)
## JKn with a lonely PSU: apistrat with its first school moved to a stratum of its own
strat1 <- apistrat; strat1$st <- as.character(strat1$stype); strat1$st[5] <- "X"
write.csv(data.frame(st = strat1$st), file.path(out, "lonely_strata.csv"), row.names = FALSE)
for (lp in c("adjust", "average", "remove", "certainty")) {
  options(survey.lonely.psu = lp)
  dl <- svydesign(id = ~1, strata = ~st, weights = ~pw, data = strat1)
  reps[[paste0("jkn_lonely_", lp)]] <- as.svrepdesign(dl, type = "JKn")
}
options(survey.lonely.psu = "fail")
set.seed(20261123)
reps$boot_strat <- as.svrepdesign(dstrat_nofpc, type = "bootstrap", replicates = 50)
for (nm in names(reps)) {
  d <- reps[[nm]]
  stats(nm, d)
  w <- weights(d, "analysis")
  write.csv(w, file.path(out, paste0("repw_", nm, ".csv")), row.names = FALSE)
  write.csv(data.frame(scale = d$scale, rscales = d$rscales),
            file.path(out, paste0("repc_", nm, ".csv")), row.names = FALSE)
}
## bootstrap replicate weights read back as user-supplied (combined) weights
bw <- as.data.frame(weights(reps$boot_strat, "analysis")); names(bw) <- paste0("bw", seq_along(bw))
ub <- svrepdesign(data = cbind(apistrat, bw), repweights = "bw[0-9]+", weights = ~pw,
                  type = "bootstrap", combined.weights = TRUE)
stats("user_boot", ub)
## JKn from user columns with rscales, and mse = TRUE
jw <- as.data.frame(weights(reps$jkn_strat, "analysis")); names(jw) <- paste0("jk", seq_along(jw))
uj <- svrepdesign(data = cbind(apistrat, jw), repweights = "jk[0-9]+", weights = ~pw, type = "JKn",
                  rscales = reps$jkn_strat$rscales, mse = TRUE)
stats("user_jkn_mse", uj)

## calibration (R's documentation examples)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
rclus1 <- reps$jk1_clus1
cal <- list(
  ps_clus1 = postStratify(dclus1, ~stype, pop.types),
  rake_clus1 = rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide)),
  lin_clus1 = calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069)),
  linb_clus1 = calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069), bounds = c(0.7, 1.7)),
  rak_clus1 = calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069), calfun = "raking"),
  logit_clus1 = calibrate(dclus1, ~stype + api99, c(pop.totals, api99 = 3914069), calfun = "logit",
                          bounds = c(0.7, 1.7)),
  ps_clus2 = postStratify(dclus2, ~stype, pop.types),
  lin_strat = calibrate(dstrat, ~api99, c(`(Intercept)` = 6194, api99 = 3914069)),
  ps_rclus1 = postStratify(rclus1, ~stype, pop.types),
  rake_rclus1 = rake(rclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide)),
  lin_rclus1 = calibrate(rclus1, ~stype + api99, c(pop.totals, api99 = 3914069)),
  rak_rclus1 = calibrate(rclus1, ~stype + api99, c(pop.totals, api99 = 3914069), calfun = "raking"),
  ps_then_lin_clus1 = calibrate(postStratify(dclus1, ~stype, pop.types), ~api99,
                                c(`(Intercept)` = 6194, api99 = 3914069))
)
## an interaction model: totals 5% above the design's own estimates (written out for the tests)
mm.int <- model.matrix(~stype * sch.wide, apiclus1)
pop.int <- colSums(mm.int * weights(dclus1)) * 1.05
write.csv(data.frame(term = names(pop.int), total = unname(pop.int)), file.path(out, "pop_interaction.csv"),
          row.names = FALSE)
cal$int_clus1 <- calibrate(dclus1, ~stype * sch.wide, pop.int)
cal$int_rclus1 <- calibrate(rclus1, ~stype * sch.wide, pop.int, calfun = "raking")
for (nm in names(cal)) {
  d <- cal[[nm]]
  add(nm, "mean", svymean(~api00 + api99, d))
  add(nm, "total", svytotal(~api00 + api99, d))
  add(nm, "mean", svymean(~sch.wide, d))
  ## domain means by sch.wide (svyby with svymean): domains cut across the calibration cells
  by <- svyby(~api00, ~sch.wide, d, svymean)
  res[[length(res) + 1]] <- data.frame(case = nm, stat = "mean_by_sch.wide", term = as.character(by$sch.wide),
                                        estimate = coef(by), se = SE(by))
  w <- if (inherits(d, "svyrep.design")) cbind(full = weights(d, "sampling"), weights(d, "analysis")) else
         data.frame(full = weights(d))
  write.csv(w, file.path(out, paste0("calw_", nm, ".csv")), row.names = FALSE)
}
## fingerprints of the Hadamard matrices R picks for BRR with n half-sample strata
hd <- do.call(rbind, lapply(1:130, function(n) {
  H <- survey:::hadamard(n); k <- nrow(H)
  data.frame(n = n, order = k, check1 = sum(H * outer(1:k, 1:k)), check2 = sum(H * outer((1:k)^2, 1:k)))
}))
write.csv(hd, file.path(out, "hadamard_fingerprints.csv"), row.names = FALSE)
write.csv(do.call(rbind, res), file.path(out, "r_values.csv"), row.names = FALSE)
write.csv(data.frame(R = R.version.string, survey = as.character(packageVersion("survey"))),
          file.path(out, "r_versions.csv"), row.names = FALSE)
