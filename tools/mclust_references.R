# Reference values of R's mclust for gaussmix's tests of mclust's model family
# (issue 27): the tests read tests/mclust_reference.json and need no R.
#
#   Rscript tools/mclust_references.R tests/mclust_reference.json
#
# Needs R with mclust 6 and jsonlite (Debian: apt install r-cran-mclust
# r-cran-jsonlite). For each data set (faithful and iris from R's datasets,
# diabetes and banknote from mclust), the start is the hard partition of
# mclust's default hierarchical agglomeration (hc with modelName "VVV" on the
# data; hclass at G groups), as responsibilities z. For each of the fourteen
# models and each iteration count, me(modelName, data, z) runs that many
# M-step + E-step rounds (the outer tolerance 0, so none stops early; the
# inner iterations of VEI, VEE, EVE, VVE, VEV at mclust's defaults), with
# and without the default conjugate prior (priorControl()). Written: the
# data, z, and per run the log-likelihood, BIC (mclust's sign: 2 loglik -
# npar log n), the proportions, means (G x d), covariances (d x d x G as a
# list of G matrices), mclust's info (iterations, error) and whether mclust
# returned a fit (NA parameters when a covariance became singular).

suppressMessages({
  library(mclust)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "tests/mclust_reference.json"

data(diabetes, package = "mclust")
data(banknote, package = "mclust")
sets <- list(
  faithful = list(x = as.matrix(faithful), G = 2),
  iris = list(x = as.matrix(iris[, 1:4]), G = 3),
  diabetes = list(x = as.matrix(diabetes[, -1]), G = 3),
  banknote = list(x = as.matrix(banknote[, -1]), G = 2)
)
models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")
iterations <- c(1, 5, 20)

covariance_list <- function(sigma, G) {
  lapply(seq_len(G), function(k) unname(sigma[, , k]))
}

result <- list(mclust_version = as.character(packageVersion("mclust")), R_version = R.version.string,
               data_sets = list())
for (name in names(sets)) {
  x <- unname(sets[[name]]$x)
  storage.mode(x) <- "double"
  G <- sets[[name]]$G
  classes <- hclass(hc(x, modelName = "VVV"), G)
  z <- unmap(classes)
  runs <- list()
  for (model in models) {
    for (with_prior in c(FALSE, TRUE)) {
      for (n_iter in iterations) {
        prior <- if (with_prior) priorControl() else NULL
        fit <- tryCatch(
          me(x, modelName = model, z = z, prior = prior,
             control = emControl(tol = c(0, sqrt(.Machine$double.eps)), itmax = c(n_iter, .Machine$integer.max)),
             warn = FALSE),
          error = function(e) NULL)
        run <- list(model = model, prior = with_prior, n_iter = n_iter)
        if (is.null(fit) || any(is.na(fit$parameters$mean)) || is.na(fit$loglik)) {
          run$ok <- FALSE
        } else {
          run$ok <- TRUE
          run$loglik <- fit$loglik
          run$bic <- bic(model, fit$loglik, nrow(x), ncol(x), G, prior = prior)
          run$n_params <- nMclustParams(model, ncol(x), G)
          run$pro <- unname(fit$parameters$pro)
          run$mean <- unname(t(fit$parameters$mean))
          run$covariances <- covariance_list(fit$parameters$variance$sigma, G)
          run$info <- unname(as.numeric(attr(fit, "info")))
        }
        runs[[length(runs) + 1]] <- run
      }
    }
  }
  result$data_sets[[name]] <- list(x = x, G = G, classes = unname(classes), z = unname(z), runs = runs)
}
writeLines(toJSON(result, digits = NA, auto_unbox = TRUE, null = "null", na = "null"), out)
cat("wrote", out, "\n")
