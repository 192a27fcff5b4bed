# Helpers shared by r_reference.R and r_reference_more.R (sourced by both; R 4.2.2, survey 4.1.1).
# They collect one row per quantity in `rows` (see add()); the calling script writes them out.
rows <- list()
g <- function(x) if (length(x) == 0 || is.null(x)) NA_real_ else as.numeric(x)
add <- function(case, design, statistic, variable, by = "", domain = "", method = "", level = NA,
                estimate = NA, se = NA, ci_low = NA, ci_high = NA, df = NA, deff = NA, deff_wr = NA,
                call = "", note = "") {
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, design = design, statistic = statistic, variable = variable, by = by,
    domain = as.character(domain), method = method, level = g(level), estimate = g(estimate),
    se = g(se), ci_low = g(ci_low), ci_high = g(ci_high), df = g(df), deff = g(deff),
    deff_wr = g(deff_wr), n = NA_real_, n_weighted = NA_real_, call = call, note = note,
    stringsAsFactors = FALSE)
  if (statistic %in% c("mean", "total", "ratio", "proportion") && !is.null(current$design)) {
    cnt <- domain_counts(current$design, by, domain, variable)
    rows[[length(rows)]]$n <<- cnt[1]
    rows[[length(rows)]]$n_weighted <<- cnt[2]
  }
}
# unweighted n (rows with nonzero weight in the domain) and weighted n (sum of the analysis weights)
# of the design the current helper (whole/byd/ciprops) is working on; rows where the variable (or a
# ratio's numerator or denominator) is NA are not counted (na.rm = TRUE leaves them out)
current <- new.env()
domain_counts <- function(d, by, domain, variable = "") {
  sub <- if (by == "") d else d[by_label(d$variables, by) == domain, ]
  w <- if (inherits(sub, "svyrep.design")) weights(sub, "sampling") else weights(sub)
  vars <- intersect(strsplit(variable, "/", fixed = TRUE)[[1]], names(sub$variables))
  if (length(vars)) w[!complete.cases(sub$variables[, vars, drop = FALSE])] <- 0
  c(sum(w != 0), sum(w))
}
# na.rm passed to svymean / svytotal / svyratio by whole() and byd() (FALSE unless a script sets it)
NA_RM <- FALSE

# ---- whole-sample mean / total / ratio: estimate, se, t and wald CIs, deff, deff_wr ------------------
whole <- function(dname, d, stat, var, den = NULL) {
  current$design <- d
  f <- as.formula(paste0("~", var))
  df <- degf(observed(d, if (is.null(den)) var else paste0(var, "/", den)))
  if (stat == "ratio") {
    fd <- as.formula(paste0("~", den))
    # svyratio(deff=) fails on replicate designs in survey 4.1.1 ("incorrect number of dimensions")
    m <- tryCatch(svyratio(f, fd, d, deff = TRUE, na.rm = NA_RM), error = function(e) NULL)
    if (is.null(m)) {
      m <- svyratio(f, fd, d, na.rm = NA_RM); dfx <- NA; dwr <- NA
    } else {
      dfx <- deff(m); dwr <- deff(svyratio(f, fd, d, deff = "replace", na.rm = NA_RM))
    }
    est <- coef(m); se <- SE(m)
    call <- sprintf("svyratio(%s, %s, %s, deff=TRUE); deff='replace' for deff_wr", deparse(f), deparse(fd), dname)
    vname <- paste0(var, "/", den)
  } else {
    FUN <- if (stat == "mean") svymean else svytotal
    m <- FUN(f, d, deff = TRUE, na.rm = NA_RM)
    m2 <- FUN(f, d, deff = "replace", na.rm = NA_RM)
    est <- coef(m); se <- SE(m); dfx <- deff(m); dwr <- deff(m2)
    call <- sprintf("svy%s(%s, %s, deff=TRUE); deff='replace' for deff_wr", stat, deparse(f), dname)
    vname <- var
  }
  ci_t <- confint(m, df = df)
  ci_z <- confint(m)
  case <- paste(dname, stat, vname, sep = ":")
  add(paste0(case, ":t"), dname, stat, vname, method = "t", level = 0.95, estimate = est, se = se,
      ci_low = ci_t[1], ci_high = ci_t[2], df = df, deff = dfx, deff_wr = dwr,
      call = paste0(call, "; confint(m, df=degf(", dname, "))"))
  add(paste0(case, ":wald"), dname, stat, vname, method = "wald", level = 0.95, estimate = est, se = se,
      ci_low = ci_z[1], ci_high = ci_z[2], df = df, deff = dfx, deff_wr = dwr,
      call = paste0(call, "; confint(m)"))
}

# ---- by-domain mean / total / ratio via svyby ----------------------------------------------------------
# domain labels: the by-variable's value, or "a.b" for by = "x+y" (svyby's interaction of several variables)
by_vars <- function(by) strsplit(by, "+", fixed = TRUE)[[1]]
by_label <- function(frame, by) do.call(paste, c(unname(as.list(as.data.frame(frame)[by_vars(by)])), sep = "."))
domain_df <- function(d, by, variable = "") {
  lv <- sort(unique(by_label(d$variables, by)))
  d <- observed(d, variable)
  f <- by_label(d$variables, by)
  setNames(sapply(lv, function(l) { if (!any(f == l)) return(NA); s <- d[f == l, ]; if (all(weights(s) == 0)) NA else degf(s) }), lv)
}
# the design without the rows whose variable is NA (what na.rm = TRUE and svyciprop on a subset see),
# for the degrees of freedom; the design itself when nothing is missing
observed <- function(d, variable) {
  vars <- intersect(strsplit(variable, "/", fixed = TRUE)[[1]], names(d$variables))
  ok <- complete.cases(d$variables[, vars, drop = FALSE])
  if (!length(vars) || all(ok)) d else d[ok, ]
}
deffcol <- function(m) as.numeric(as.data.frame(m)[[grep("^DEff", names(m))[1]]])
byd <- function(dname, d, stat, var, by, den = NULL) {
  current$design <- d
  f <- as.formula(paste0("~", var)); fb <- as.formula(paste0("~", by))
  dfs <- domain_df(d, by, if (is.null(den)) var else paste0(var, "/", den))
  if (stat == "ratio") {
    fd <- as.formula(paste0("~", den))
    m <- tryCatch(svyby(f, fb, d, svyratio, denominator = fd, deff = TRUE, na.rm = NA_RM), error = function(e) NULL)
    if (is.null(m)) {
      m <- svyby(f, fb, d, svyratio, denominator = fd, na.rm = NA_RM); dfx <- rep(NA, length(dfs)); dwr <- dfx
    } else {
      dfx <- deffcol(m); dwr <- deffcol(svyby(f, fb, d, svyratio, denominator = fd, deff = "replace", na.rm = NA_RM))
    }
    call <- sprintf("svyby(%s, %s, %s, svyratio, denominator=%s, deff=TRUE); deff='replace' for deff_wr",
                    deparse(f), deparse(fb), dname, deparse(fd))
    vname <- paste0(var, "/", den)
  } else {
    FUN <- if (stat == "mean") svymean else svytotal
    m <- svyby(f, fb, d, FUN, deff = TRUE, na.rm = NA_RM)
    m2 <- svyby(f, fb, d, FUN, deff = "replace", na.rm = NA_RM)
    dfx <- deffcol(m); dwr <- deffcol(m2)
    call <- sprintf("svyby(%s, %s, %s, svy%s, deff=TRUE); deff='replace' for deff_wr",
                    deparse(f), deparse(fb), dname, stat)
    vname <- var
  }
  est <- coef(m); se <- SE(m); lv <- by_label(m, by)
  stopifnot(setequal(lv, names(dfs)))
  ci_z <- confint(m)
  for (i in seq_along(lv)) {
    dfi <- dfs[[lv[i]]]
    q <- qt(0.975, dfi)
    add(paste(dname, stat, vname, by, lv[i], "t", sep = ":"), dname, stat, vname, by, lv[i], "t", 0.95,
        est[i], se[i], est[i] - q * se[i], est[i] + q * se[i], dfi, dfx[i], dwr[i],
        paste0(call, "; est -/+ qt(0.975, degf(domain)) * se"))
    add(paste(dname, stat, vname, by, lv[i], "wald", sep = ":"), dname, stat, vname, by, lv[i], "wald",
        0.95, est[i], se[i], ci_z[i, 1], ci_z[i, 2], dfi, dfx[i], dwr[i], paste0(call, "; confint(m)"))
  }
}

# ---- svyciprop with every method, whole sample and by domain (svyby) ------------------------------------
ciprop_methods <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")
ciprops <- function(dname, d, var, by = NULL, level = 0.95) {
  current$design <- d
  f <- as.formula(paste0("~", var))
  for (meth in ciprop_methods) {
    if (is.null(by)) {
      note <- ""
      p <- withCallingHandlers(svyciprop(f, d, method = meth, level = level),
                               warning = function(w) { note <<- conditionMessage(w); invokeRestart("muffleWarning") })
      ci <- attr(p, "ci")
      add(paste(dname, "proportion", var, meth, level, sep = ":"), dname, "proportion", var, "", "", meth,
          level, p[1], sqrt(attr(p, "var")), ci[1], ci[2], degf(d), NA, NA,
          sprintf("svyciprop(%s, %s, method='%s', level=%s)", deparse(f), dname, meth, level), note)
    } else {
      fb <- as.formula(paste0("~", by))
      dfs <- domain_df(d, by)
      note <- ""
      m <- tryCatch(withCallingHandlers(
        svyby(f, fb, d, svyciprop, method = meth, level = level, vartype = c("se", "ci")),
        warning = function(w) { note <<- conditionMessage(w); invokeRestart("muffleWarning") }),
        error = function(e) e)
      if (inherits(m, "error")) {
        # svyby stops at the first failing domain: redo domain by domain exactly as svyby subsets
        # (design[by == level, ]) and record R's error for the domains where svyciprop fails.
        fv <- by_label(d$variables, by)
        for (l in names(dfs)) {
          note <- ""
          p <- tryCatch(withCallingHandlers(svyciprop(f, d[fv == l, ], method = meth, level = level),
                        warning = function(w) { note <<- conditionMessage(w); invokeRestart("muffleWarning") }),
                        error = function(e) e)
          call <- sprintf("svyciprop(%s, %s[%s == '%s', ], method='%s', level=%s)", deparse(f), dname, by, l,
                          meth, level)
          case <- paste(dname, "proportion", var, by, l, meth, level, sep = ":")
          if (inherits(p, "error")) {
            add(case, dname, "error", var, by, l, meth, level, df = dfs[[l]], call = call,
                note = conditionMessage(p))
          } else {
            ci <- attr(p, "ci")
            add(case, dname, "proportion", var, by, l, meth, level, p[1], sqrt(attr(p, "var")), ci[1], ci[2],
                dfs[[l]], NA, NA, call, note)
          }
        }
        next
      }
      lv <- by_label(m, by)
      stopifnot(setequal(lv, names(dfs)))
      # NB: confint() of a svyby object is a normal-theory interval coef -/+ z * SE, not svyciprop's;
      # svyciprop's own interval of each domain is in the ci_l / ci_u columns (vartype = "ci").
      ci <- cbind(m[["ci_l"]], m[["ci_u"]])
      for (i in seq_along(lv))
        add(paste(dname, "proportion", var, by, lv[i], meth, level, sep = ":"), dname, "proportion", var,
            by, lv[i], meth, level, coef(m)[i], SE(m)[i], ci[i, 1], ci[i, 2], dfs[[lv[i]]], NA, NA,
            sprintf("svyby(%s, %s, %s, svyciprop, method='%s', level=%s, vartype=c('se','ci'))",
                    deparse(f), deparse(fb), dname, meth, level), note)
    }
  }
}

