# Part of r_reference.R (sourced by it; uses its helpers whole/byd/ciprops): the example GBV survey.
# R 4.2.2, survey 4.1.1. Data: data/gbv_example.csv, written by export_gbv.py from
# surveys/example/community_2024.sav read with its spec (derived 0/1 indicators; NA = missing/not asked).
#   gbv       svydesign(id=~commune, strata=~stratum, weights=~weight, data=gbv)
#   gbv_resp  subset(gbv, !is.na(gbv_any_12m))                            women who answered the items
#   gbv_help  subset(gbv, gbv_any_12m == 1 & !is.na(sought_help_formal))  women subjected to GBV in 12m
#   gbv2      svydesign(id=~commune+resp_id, strata=~stratum, fpc=~communes_in_stratum+commune_households,
#             weights=~weight, data=gbv)   two stages, fpc at both (communes_in_stratum from the generator's
#             population; treats the PPS first stage as SRS without replacement: an arithmetic check)
# Domains are subsets of the full design (R keeps every PSU and stratum in the variance).
gbv <- read.csv(gbv_file, stringsAsFactors = FALSE)
dgbv <- svydesign(id = ~commune, strata = ~stratum, weights = ~weight, data = gbv)
dresp <- subset(dgbv, !is.na(gbv_any_12m))
dhelp <- subset(dgbv, gbv_any_12m == 1 & !is.na(sought_help_formal))
cat("gbv: n =", nrow(gbv), " PSUs - strata =", degf(dgbv), " respondents =", nrow(dresp),
    " subjected to GBV (12m) =", nrow(dhelp), "\n")
whole("gbv_resp", dresp, "mean", "gbv_any_12m")
whole("gbv_resp", dresp, "total", "gbv_any_12m")
byd("gbv_resp", dresp, "mean", "gbv_any_12m", "province")
byd("gbv_resp", dresp, "total", "gbv_any_12m", "province")
byd("gbv_help", dhelp, "mean", "sought_help_formal", "province")
ciprops("gbv_resp", dresp, "gbv_any_12m", by = "province")
ciprops("gbv_help", dhelp, "sought_help_formal")
ciprops("gbv_help", dhelp, "sought_help_formal", by = "province")
ciprops("gbv_help", dhelp, "sought_help_formal", by = "district")
# two by-variables (labels "province.urban")
byd("gbv_resp", dresp, "mean", "gbv_any_12m", "province+urban")
ciprops("gbv_help", dhelp, "sought_help_formal", by = "province+urban")
dgbv2 <- svydesign(id = ~commune + resp_id, strata = ~stratum, fpc = ~communes_in_stratum + commune_households,
                   weights = ~weight, data = gbv)
dhelp2 <- subset(dgbv2, gbv_any_12m == 1 & !is.na(sought_help_formal))
dresp2 <- subset(dgbv2, !is.na(gbv_any_12m))
whole("gbv2_resp", dresp2, "mean", "gbv_any_12m")
whole("gbv2_resp", dresp2, "total", "gbv_any_12m")
byd("gbv2_resp", dresp2, "mean", "gbv_any_12m", "province")
ciprops("gbv2_help", dhelp2, "sought_help_formal", by = "province")
