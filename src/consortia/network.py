"""Consortia as a network: what a consortium's lead and members had done together before
it started.

Organisations recur across consortia (``member_id`` is stable across them: the PIC of a
CORDIS participant). The member–consortium graph gives, for every year t, the **prior
network** G<t: one node per organisation, and a tie between two organisations that were
members of one consortium together in a year before t. A membership runs from its join
year (the consortium's founded year when empty, and never earlier) to its exit year (open
when empty), so two members of a consortium are tied from the later of their join years,
provided their spells overlap. Ties are unweighted: having worked together once makes a
tie.

The measures of a consortium founded in year t use G<t and the memberships begun before t
only. Consortia founded in year t or later cannot add to them, so adding later consortia
never changes an earlier consortium's measures (no look-ahead):

``lead_prior_led``
    consortia the lead organisation had led (memberships as lead begun before t);
``lead_prior_joined``
    consortia it had joined as a member other than the lead (begun before t);
``lead_prior_partners``
    its degree in G<t: the distinct organisations it had been in a consortium with;
``lead_effective_size``
    Burt's (1992) effective size of its ego network in G<t, n − 2m/n with n its degree
    and m the ties among its partners: the number of its partners that are not tied to
    each other (brokerage; NaN without a prior partner, as networkx's
    ``effective_size`` of an isolated node);
``repeat_tie_share``
    among the pairs of the consortium's members active in a year, the share tied in G<t
    (pairs that had worked together before the consortium started); NaN with fewer than
    two active members. With membership spells it changes from year to year with the
    members; without them it is the same in every year.

A consortium without an identified lead (``measures.resolve_lead``) has NaN lead
measures. Everything is vectorised over members and pairs of members; the only loop
runs over the distinct founded years (the snapshots of the prior network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = [
    "LEAD_MEASURES",
    "NETWORK_MEASURES",
    "MemberNetwork",
    "lead_measures",
    "member_network",
    "repeat_tie_sums",
]

LEAD_MEASURES: tuple[str, ...] = (
    "lead_prior_led", "lead_prior_joined", "lead_prior_partners", "lead_effective_size",
)  # fmt: skip
NETWORK_MEASURES: tuple[str, ...] = (*LEAD_MEASURES, "repeat_tie_share")


@dataclass(frozen=True)
class MemberNetwork:
    """The member–consortium graph as arrays.

    Per member row: ``consortium`` (code 0..n_consortia-1), ``org`` (code
    0..n_orgs-1), ``start`` / ``end`` (first and last year of the membership) and
    ``lead``. Per consortium: ``founded``. Per pair of members of a consortium whose
    spells overlap (``pair_*``): the consortium, the two member rows and the first year
    they were members together. Per tie of the whole graph (``tie_*``, organisation codes
    ``tie_a < tie_b``): the first year the two were members of one consortium together.
    """

    consortium: np.ndarray
    org: np.ndarray
    start: np.ndarray
    end: np.ndarray
    lead: np.ndarray
    founded: np.ndarray
    n_orgs: int
    pair_consortium: np.ndarray
    pair_row_a: np.ndarray
    pair_row_b: np.ndarray
    pair_start: np.ndarray
    pair_end: np.ndarray
    tie_a: np.ndarray
    tie_b: np.ndarray
    tie_year: np.ndarray

    @property
    def pair_first_tie(self) -> np.ndarray:
        """For each pair of members, the first year their organisations were members of
        any consortium together."""
        a, b = self.org[self.pair_row_a], self.org[self.pair_row_b]
        key = np.minimum(a, b) * self.n_orgs + np.maximum(a, b)
        tie_key = self.tie_a * self.n_orgs + self.tie_b
        return self.tie_year[np.searchsorted(tie_key, key)]


def _pairs_within(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i, j), i < j, of positions of a sorted ``group`` array with equal
    values."""
    n = group.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    bounds = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True])
    block_end = np.repeat(bounds[1:], np.diff(bounds))
    count = block_end - np.arange(n) - 1
    first = np.repeat(np.arange(n), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return first, first + 1 + offset


def member_network(
    consortium: np.ndarray,
    org: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    lead: np.ndarray,
    founded: np.ndarray,
) -> MemberNetwork:
    """The graph of ``org`` (codes) in ``consortium`` (codes into ``founded``), one entry
    per membership with its spell ``start``..``end`` (a start before the consortium's
    founded year counts from that year) and whether it is the consortium's ``lead``.
    An organisation appears at most once per consortium."""
    consortium = np.asarray(consortium, dtype=np.int64)
    org = np.asarray(org, dtype=np.int64)
    founded = np.asarray(founded, dtype=np.int64)
    start = np.maximum(np.asarray(start, dtype=np.int64), founded[consortium])
    end = np.asarray(end, dtype=np.int64)
    lead = np.asarray(lead, dtype=bool)
    n_orgs = int(org.max()) + 1 if org.size else 0

    order = np.argsort(consortium, kind="stable")
    i, j = _pairs_within(consortium[order])
    row_a, row_b = order[i], order[j]
    pair_start = np.maximum(start[row_a], start[row_b])
    pair_end = np.minimum(end[row_a], end[row_b])
    together = pair_start <= pair_end
    row_a, row_b = row_a[together], row_b[together]
    pair_start, pair_end = pair_start[together], pair_end[together]

    a, b = org[row_a], org[row_b]
    if (a == b).any():
        raise ValueError("an organisation appears twice in one consortium")
    key = np.minimum(a, b) * n_orgs + np.maximum(a, b)
    by_key = np.lexsort((pair_start, key))
    first = np.r_[True, key[by_key][1:] != key[by_key][:-1]] if key.size else np.zeros(0, bool)
    tie_key, tie_year = key[by_key][first], pair_start[by_key][first]
    return MemberNetwork(
        consortium=consortium, org=org, start=start, end=end, lead=lead, founded=founded,
        n_orgs=n_orgs, pair_consortium=consortium[row_a], pair_row_a=row_a, pair_row_b=row_b,
        pair_start=pair_start, pair_end=pair_end,
        tie_a=tie_key // max(n_orgs, 1), tie_b=tie_key % max(n_orgs, 1), tie_year=tie_year,
    )  # fmt: skip


def _count_before(owner: np.ndarray, year: np.ndarray, query_owner, query_year) -> np.ndarray:
    """For each query, the entries of ``owner`` == query_owner with ``year`` < query_year."""
    base = int(min(year.min(initial=0), np.min(query_year, initial=0))) - 1
    span = int(max(year.max(initial=0), np.max(query_year, initial=0))) - base + 2
    keys = np.sort(owner * span + (year - base))
    query_owner = np.asarray(query_owner, dtype=np.int64)
    upper = np.searchsorted(keys, query_owner * span + (np.asarray(query_year) - base), "left")
    return upper - np.searchsorted(keys, query_owner * span, "left")


def lead_measures(net: MemberNetwork) -> pd.DataFrame:
    """:data:`LEAD_MEASURES` per consortium (one row per consortium code, in order)."""
    n = net.founded.size
    out = pd.DataFrame(np.nan, index=pd.RangeIndex(n), columns=list(LEAD_MEASURES))
    lead_rows = np.flatnonzero(net.lead)
    if lead_rows.size == 0:
        return out
    code = net.consortium[lead_rows]
    if np.unique(code).size != code.size:
        raise ValueError("a consortium has more than one lead row")
    lead_org = net.org[lead_rows]
    year = net.founded[code]

    led = _count_before(net.org[net.lead], net.start[net.lead], lead_org, year)
    member = ~net.lead
    joined = _count_before(net.org[member], net.start[member], lead_org, year)
    degree = np.zeros(lead_rows.size)
    effective = np.full(lead_rows.size, np.nan)
    for t in np.unique(year):
        at = np.flatnonzero(year == t)
        before = net.tie_year < t
        a, b = net.tie_a[before], net.tie_b[before]
        shape = (net.n_orgs, net.n_orgs)
        ones = np.ones(2 * a.size)
        adjacency = sparse.csr_array((ones, (np.r_[a, b], np.r_[b, a])), shape=shape)
        leads, back = np.unique(lead_org[at], return_inverse=True)  # an org leads several
        ego = adjacency[leads]
        n_partners = ego.sum(axis=1)
        # Ties among the partners, each counted once: a tie points from the end of lower
        # degree (ties broken by code) to the other, so each partner's row of `upward`
        # holds at most sqrt(2 x ties) entries and the hubs' long rows are never expanded.
        rank = np.lexsort((np.arange(net.n_orgs), adjacency.sum(axis=1)))
        position = np.empty(net.n_orgs, dtype=np.int64)
        position[rank] = np.arange(net.n_orgs)
        low = np.where(position[a] < position[b], a, b)
        upward = sparse.csr_array((ones[: a.size], (low, a + b - low)), shape=shape)
        shared = (ego @ upward).multiply(ego).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            size = np.where(n_partners > 0, n_partners - 2 * shared / n_partners, np.nan)
        degree[at] = n_partners[back]
        effective[at] = size[back]
    out.loc[code, "lead_prior_led"] = led
    out.loc[code, "lead_prior_joined"] = joined
    out.loc[code, "lead_prior_partners"] = degree
    out.loc[code, "lead_effective_size"] = effective
    return out


def repeat_tie_sums(net: MemberNetwork) -> dict[str, np.ndarray]:
    """Per pair of members (spell ``pair_start``..``pair_end`` within consortium
    ``pair_consortium``): 1 for the pair and 1 if it was tied before its consortium's
    founded year; summed over the pairs active in a year (``measures.spell_sums``), they
    give ``repeat_tie_share``."""
    founded = net.founded[net.pair_consortium]
    return {
        "pairs": np.ones(net.pair_start.size),
        "repeat_pairs": (net.pair_first_tie < founded).astype(float),
    }
