"""Seeded simulator: a world of innovation consortia with a known truth and counted mess.

``simulate_world`` draws the four contract tables (consortia, members, panel,
tasks) from a data-generating process whose parameters are the review's claims
(Yan 2025, sections 2.2 and 3.1.1; see ``docs/simulator.md``), then injects
realistic mess (synonym labels, duplicates, impossible values, orphans,
missing optional values, outliers) into copies of them. Every injected row is
logged, and ``World.truth["mess"]`` counts them by table and by the quarantine
rule id of ``docs/design.md`` that cleaning should apply, so that a test can
check that cleaning finds exactly these.

Determinism: all randomness comes from ``numpy.random.Generator(PCG64(.))``
streams spawned from one ``SeedSequence(seed)``; the same seed and arguments
give byte-identical CSV files. The truth (including the calibrated transfer
intercepts) does not depend on the seed.

Money: panel money is written in 10k CNY (万元) at current prices, member
funding in CNY at current prices of the member's entry year. Nominal = real x
index[year] / index[base_year] with the price index in ``truth["money"]``,
which by default is the study config's China GDP deflator (2020 = 100), so that
deflating with the config recovers the real values.

Modules: :mod:`.truth` (the parameters and claims of ``truth.yaml``; what ``truth.json``
states), :mod:`.structure` (consortia, members, conduct), :mod:`.outcomes` (performance,
tasks, the transfer calibration), :mod:`.frames` (the contract tables), :mod:`.mess`
(injected mess), :mod:`.world` (``simulate_world``), :mod:`.folder` (writing a world).
"""

from consortia.simulate.folder import simulate_to_folder, write_world
from consortia.simulate.mess import default_mess
from consortia.simulate.truth import default_truth
from consortia.simulate.world import World, simulate_world

__all__ = [
    "World",
    "default_mess",
    "default_truth",
    "simulate_to_folder",
    "simulate_world",
    "write_world",
]
