"""``simulate_world``: one seeded world, its clean and raw tables and its truth."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from consortia.contract import TABLES
from consortia.simulate.frames import build_frames
from consortia.simulate.mess import inject_mess, mess_summary, normalise_mess
from consortia.simulate.outcomes import calibrate, draw_performance, draw_tasks
from consortia.simulate.structure import draw_consortia, draw_members, draw_panel
from consortia.simulate.truth import (
    claim_records,
    default_truth,
    derived_quantities,
    estimands,
    merge_overrides,
    round_floats,
)


@dataclass
class World:
    """A simulated dataset: clean tables, the raw (messy) tables as written, and the truth.

    ``consortia, members, panel, tasks`` are the tables before mess (contract
    columns, current prices, contract units); ``raw`` holds the same tables
    after mess, exactly as ``write_world`` writes them; ``truth`` is what
    ``truth.json`` holds; ``latent`` holds unobserved draws (real money,
    transfer probabilities, expected counts) for diagnostics.
    """

    consortia: pd.DataFrame
    members: pd.DataFrame
    panel: pd.DataFrame
    tasks: pd.DataFrame
    raw: dict[str, pd.DataFrame]
    truth: dict
    latent: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def clean(self) -> dict[str, pd.DataFrame]:
        return {
            "consortia": self.consortia,
            "members": self.members,
            "panel": self.panel,
            "tasks": self.tasks,
        }


def _streams(seed: int, n: int) -> list[np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(n)
    return [np.random.Generator(np.random.PCG64(child)) for child in children]


def simulate_world(
    n_consortia: int = 300,
    n_years: int = 8,
    first_year: int = 2016,
    seed: int = 20251220,
    truth: dict | None = None,
    mess: dict | None = None,
) -> World:
    """Draw a world of ``n_consortia`` consortia observed over ``n_years`` years.

    ``truth``: partial overrides of ``default_truth()`` (deep-merged; unknown keys
    raise). ``mess``: ``None`` = ``default_mess()``; ``{}`` or ``False`` = a clean
    world; otherwise a dict ``{table: {kind: rate}}`` listing exactly the kinds
    to inject. Returns a ``World``; nothing is written.
    """
    if n_consortia < 1 or n_years < 1:
        raise ValueError("n_consortia and n_years must be positive")
    full = merge_overrides(default_truth(), truth or {})
    spec = normalise_mess(mess)
    last_year = first_year + n_years - 1
    calib = calibrate(full, n_years, first_year)
    rng_c, rng_m, rng_p, rng_o, rng_t, rng_x = _streams(seed, 6)
    cons = draw_consortia(full, n_consortia, first_year, last_year, rng_c)
    mem = draw_members(full, cons, rng_m)
    pan = draw_panel(full, cons, mem, first_year, last_year, rng_p)
    perf = draw_performance(full, cons, pan, calib, rng_o)
    consortia, members, panel, latent, extrapolated = build_frames(
        full, cons, mem, pan, perf, first_year
    )
    tasks, latent_tasks = draw_tasks(full, cons, first_year, last_year, rng_t)
    latent["tasks"] = latent_tasks
    clean = {"consortia": consortia, "members": members, "panel": panel, "tasks": tasks}
    raw, logs, labels = inject_mess(clean, spec, rng_x, first_year, last_year, n_consortia)
    max_task_date = max(tasks["start_date"].max(), tasks["end_date"].dropna().max())
    world_estimands = estimands(full, calib)
    truth_out = {
        "simulator": {
            "module": "consortia.simulate",
            "version": 1,
            "seed": int(seed),
            "n_consortia": int(n_consortia),
            "n_years": int(n_years),
            "first_year": int(first_year),
            "last_year": int(last_year),
            "cutoff_date": f"{last_year}-12-31",
            "latest_date_in_tasks": max_task_date,
            "censoring_note": "ongoing tasks are right-censored at cutoff_date; a config "
            "censoring_date of null uses latest_date_in_tasks instead "
            "(a few days earlier)",
            "money": "panel money in 10k CNY at current prices; members.funding in CNY at "
            "current prices of the member's entry year (join_year, or founded_year "
            "when join_year is empty); nominal = real * index[year] / index[base_year]",
            "extrapolated_index_years": extrapolated,
            "rows": {t: len(clean[t]) for t in TABLES},
        },
        "estimands": world_estimands,
        "claims": claim_records(full, world_estimands),
        "parameters": full,
        "derived": derived_quantities(full, calib),
        "mess": mess_summary(clean, raw, logs, labels, spec),
    }
    truth_out = round_floats(truth_out)
    return World(
        consortia=consortia,
        members=members,
        panel=panel,
        tasks=tasks,
        raw=raw,
        truth=truth_out,
        latent=latent,
    )
