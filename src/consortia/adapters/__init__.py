"""Adapters: public data sources turned into contract-conforming dataset folders.

Each adapter reads a source in the layout its publisher uses and writes the
contract's tables (docs/data-contract.md) plus a ``source.json`` that records
where the data came from, how it was mapped and what it cannot say. Oddities
the contract's cleaning rules handle are passed on unchanged, so that the
run's quality report counts them; what the adapter itself decides is logged
row by row.

* :mod:`consortia.adapters.cordis` — EU framework-programme projects (FP7,
  H2020, Horizon Europe) from the European Commission's CORDIS exports.
"""
