"""A claim resting on one reported case (``single_case``): recorded as not testable,
with the reason."""

from __future__ import annotations

from ..catalogue import (
    ClaimData,
    Context,
    NotTestable,
    Result,
    evaluator,
)
from ..records import ClaimRecord


@evaluator(
    "single_case",
    tests=("case",),
    description="a claim resting on one reported case: recorded as not testable, with the reason",
    allowed_params=("case", "why"),
    comparisons=(None,),
)
def eval_single_case(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    case = claim.params.get("case", "one case")
    why = claim.params.get("why", "")
    raise NotTestable(
        f"a single case ({case}): one before/after pair with no sampling variation and no "
        "comparison group, so no estimate with a confidence interval exists; consortium data "
        "can test a general version of the claim only with its outcome measured across many "
        "consortia" + (f" ({why})" if why else "")
    )
