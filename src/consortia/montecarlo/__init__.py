"""Monte Carlo validation of the claims: error rates of the verdicts, coverage and power at
known truths.

The claims step (:func:`consortia.claims.evaluate_claims`) reports, per claim and
test, an estimate, a confidence interval and a verdict whose two errors are meant to be
rare: *supported* when the claim is false, *contradicted* when it is true, each at most
the registry's error rate (5%). That can only be checked where the truth is known: on
worlds drawn by :func:`consortia.simulate.simulate_world` under named truths
(``config/montecarlo.yaml``), each a set of overrides of the simulator's default
parameters (the review's claims), at several sizes.

Per world: draw a clean world (no mess: this validates inference, not cleaning),
build the panel and the task table with :mod:`consortia.measures` as the workflow
does, run the claims of the registry the truth names (all by default), and record per
test the estimate, the CI, the verdict, the **true estimand** taken from the world's
own ``truth`` (:data:`TRUE_ESTIMANDS` says where each comes from; nothing is typed in)
and whether the claim is true, false or neither there (:func:`claim_status`, the
verdict module's own true and false sets).

Definitions (:func:`summarise`), per truth, size, claim and test:

* coverage: share of worlds whose CI contains the true estimand; target 93–97% for
  95% intervals;
* P(supported | false): share of worlds with *supported* where the claim is false;
  P(contradicted | true): share with *contradicted* where it is true; each ≤ the
  error rate up to Monte Carlo error (its standard error is reported);
* P(supported | true): the power to support a true claim.

Modules: :mod:`.config` (the study configuration), :mod:`.truths` (true
estimands and claim statuses), :mod:`.batches` (worlds and their rows), :mod:`.summary`
(scores and rates), :mod:`.present` (the table and the figure), :mod:`.steps` (what the
rules call).

Seeds: world ``j`` of batch ``b`` uses ``SeedSequence([seed, b, j])`` for the world
and the claims' bootstraps, whatever the truth or the size (common random numbers:
differences between truths are not sampling noise of different draws). The same seed,
batch, size and truth give identical rows.
"""

from consortia.montecarlo.batches import (
    BATCH_COLUMNS,
    CLAIM_LEVEL,
    evaluate_world,
    run_batch,
    world_rows,
    world_seed,
)
from consortia.montecarlo.config import STUDIES, batch_sizes, load_config, truth_sizes
from consortia.montecarlo.present import coverage_table, error_rate_figure
from consortia.montecarlo.steps import batch_step, summary_step
from consortia.montecarlo.summary import COVERAGE_TARGET, score, summarise
from consortia.montecarlo.truths import (
    CLAIM_FALSE,
    CLAIM_TRUE,
    NEITHER,
    TRUE_ESTIMANDS,
    TrueEstimand,
    claim_status,
    combined_status,
    true_estimand,
)

__all__ = [
    "BATCH_COLUMNS",
    "CLAIM_FALSE",
    "CLAIM_LEVEL",
    "CLAIM_TRUE",
    "COVERAGE_TARGET",
    "NEITHER",
    "STUDIES",
    "TRUE_ESTIMANDS",
    "TrueEstimand",
    "batch_sizes",
    "batch_step",
    "claim_status",
    "combined_status",
    "coverage_table",
    "error_rate_figure",
    "evaluate_world",
    "load_config",
    "run_batch",
    "score",
    "summarise",
    "summary_step",
    "true_estimand",
    "truth_sizes",
    "world_rows",
    "world_seed",
]
