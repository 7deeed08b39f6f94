# CR2 standard errors and Bell–McCaffrey (Satterthwaite) degrees of freedom from R
# clubSandwich, for tests/claims/test_claims_cr2.py (run from the repository root):
#
#   Rscript tests/reference/make_clubsandwich.R
#
# Produced with R 4.2.2 and clubSandwich 0.5.8 (Debian bookworm packages r-base-core,
# r-cran-clubsandwich, r-cran-jsonlite). R is needed only to regenerate these files, never
# by the tests. Writes:
#   tests/reference/cr2_fixture.csv        clustered data: cluster, lead, x, year, w, y
#   tests/reference/clubsandwich_cr2.json  estimates, CR2 SEs and df of linear contrasts
#
# For weighted fits clubSandwich's CR2 of a weighted lm (inverse_var = TRUE) is not the
# CR2 of the same fit written as least squares on sqrt(w)-scaled rows: both are unbiased
# under the working model Var(e_i) proportional to 1/w_i, with different adjustment
# matrices (here its SEs are 0.06-2.1% smaller and its df within 0.002 of ours). The claims use
# the scaled form; both are stored.
#
# The fixture mimics the claims' group comparisons: 46 enterprise-led clusters, 4
# university-led and 10 government-led ones, 1-6 rows each, achievements as weights.

suppressMessages({library(clubSandwich); library(jsonlite)})
set.seed(20251220)
lead <- c(rep("enterprise", 46), rep("university", 4), rep("government", 10))
size <- sample(1:6, length(lead), replace = TRUE)
d <- data.frame(cluster = rep(seq_along(lead), size), lead = rep(lead, size))
n <- nrow(d)
d$x <- round(rnorm(n), 6)
d$year <- sample(2018:2020, n, replace = TRUE)
d$w <- sample(1:20, n, replace = TRUE)
u <- rnorm(length(lead), sd = 0.1)[d$cluster]
d$y <- round(0.45 + 0.2 * (d$lead == "enterprise") + 0.05 * d$x + u + rnorm(n, sd = 0.15), 6)
write.csv(d, "tests/reference/cr2_fixture.csv", row.names = FALSE, quote = FALSE)
d <- read.csv("tests/reference/cr2_fixture.csv")  # exactly what is stored
d$ent <- as.numeric(d$lead == "enterprise")
d$uni <- as.numeric(d$lead == "university")
d$lead <- relevel(factor(d$lead), ref = "enterprise")

contrast <- function(fit, V, C, command) {
  r <- linear_contrast(fit, vcov = V, contrasts = C, test = "Satterthwaite")
  list(command = command, coefficients = names(coef(fit)), contrasts = unname(C),
       estimate = r$Est, se = r$SE, df = r$df)
}
out <- list(software = list(R = as.character(getRversion()),
                            clubSandwich = as.character(packageVersion("clubSandwich"))))

# two group means (the rate tests' regression on group dummies); rows: the gap, the level,
# and the ratio restriction rate_e - 1.3 rate_u (θ0 = 1.3)
C2 <- rbind(c(1, -1), c(1, 0), c(1, -1.3))
sub <- d[d$lead != "government", ]
m <- lm(y ~ 0 + ent + uni, data = sub)
out$two_groups <- contrast(m, vcovCR(m, cluster = sub$cluster, type = "CR2"), C2,
  "lm(y ~ 0 + ent + uni, subset: lead != government); vcovCR(type = 'CR2'); linear_contrast(test = 'Satterthwaite')")
# weighted by achievements: the claims' CR2 is that of the sqrt(w)-scaled least squares
# (clubSandwich on the scaled lm); clubSandwich's own CR2 for a weighted lm
# (inverse_var = TRUE) adjusts differently and is recorded beside it for comparison
sub$rw <- sqrt(sub$w)
ms <- lm(I(rw * y) ~ 0 + I(rw * ent) + I(rw * uni), data = sub)
out$two_groups_weighted <- contrast(ms, vcovCR(ms, cluster = sub$cluster, type = "CR2"), C2,
  "lm(sqrt(w) y ~ 0 + sqrt(w) ent + sqrt(w) uni); vcovCR(type = 'CR2'); linear_contrast(test = 'Satterthwaite')")
mw <- lm(y ~ 0 + ent + uni, data = sub, weights = w)
out$two_groups_weighted_lm <- contrast(
  mw, vcovCR(mw, cluster = sub$cluster, type = "CR2", inverse_var = TRUE), C2,
  "lm(y ~ 0 + ent + uni, weights = w); vcovCR(type = 'CR2', inverse_var = TRUE); linear_contrast(test = 'Satterthwaite')")

# the best-level claim's OLS: lead type (reference enterprise) + a covariate + year dummies
mf <- lm(y ~ lead + x + factor(year), data = d)
Cf <- rbind(-(names(coef(mf)) == "leadgovernment"), -(names(coef(mf)) == "leaduniversity"))
out$best_level <- contrast(mf, vcovCR(mf, cluster = d$cluster, type = "CR2"), Cf,
  "lm(y ~ lead + x + factor(year)), lead reference enterprise; vcovCR(type = 'CR2'); contrasts enterprise - government, enterprise - university")

write_json(out, "tests/reference/clubsandwich_cr2.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
