"""From the tables as read to typed tables of kept rows, with every other row accounted for.

Per table, in this order:

1. values are trimmed (an all-blank cell is missing) and rows identical on
   every column are collapsed to their first copy (counted, not quarantined);
2. each contract column is parsed into its type; a value that does not parse
   breaks ``type_mismatch``, an organisation type outside the vocabulary (after
   the contract's and the config's synonyms) ``unknown_org_type``;
3. column rules run as a pandera schema (required columns not empty, counts
   and money not negative, decision weights in [0, 1]), then the rules between
   columns (end before start, transferred > achievements, ...), keys that
   appear more than once (``conflicting_duplicate``: every copy), and the
   rules across tables (``unknown_consortium_key``, ``year_outside_life``,
   ``multiple_leads``), which look only at the consortia that were kept;
4. a row that broke any rule is quarantined once, under the first rule in
   ``contract.Rule`` order, its detail naming the others;
5. kept rows are fixed where the contract says how: industry labels mapped,
   surplus lead flags reconciled with ``consortia.lead_org_id``, missing task
   statuses inferred, money converted to one currency and deflated. Panel money
   is deflated by the panel year; a member's ``funding`` by its consortium's
   ``founded_year`` (a budget is fixed when the consortium is formed).

Everything is vectorised over the whole table: no Python loop runs per row.

Modules: :mod:`~consortia.clean.parsing` (steps 1-2), :mod:`~consortia.clean.rules` and
:mod:`~consortia.clean.keys` (step 3), :mod:`~consortia.clean.work` (step 4, the table on
its way and the accounting), :mod:`~consortia.clean.fixes` (step 5) and
:mod:`~consortia.clean.dataset` (the whole dataset, in this order).
"""

from __future__ import annotations

from consortia.clean.dataset import clean_dataset
from consortia.clean.work import (
    QUARANTINE_COLUMNS,
    AccountingError,
    CleanDataset,
    TableAccount,
    check_accounting,
)

__all__ = [
    "QUARANTINE_COLUMNS",
    "AccountingError",
    "CleanDataset",
    "TableAccount",
    "check_accounting",
    "clean_dataset",
]
