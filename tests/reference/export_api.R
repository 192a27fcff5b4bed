# Export R survey's bundled `api` data sets as CSV for the Python tests.
# R 4.2.2, survey 4.1.1.  Regenerate with:  Rscript tests/reference/export_api.R
# (run from the repository root).  Written with write.csv(x, row.names = FALSE);
# factors are written as their labels, missing values as "NA".
suppressMessages(library(survey))
data(api)
out <- file.path("tests", "reference", "data")
dir.create(out, showWarnings = FALSE, recursive = TRUE)
write.csv(apistrat, file.path(out, "apistrat.csv"), row.names = FALSE)
write.csv(apiclus1, file.path(out, "apiclus1.csv"), row.names = FALSE)
write.csv(apiclus2, file.path(out, "apiclus2.csv"), row.names = FALSE)
cat("wrote apistrat", dim(apistrat), "apiclus1", dim(apiclus1), "apiclus2", dim(apiclus2), "\n")
