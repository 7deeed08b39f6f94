"""consortia: innovation-consortium data in, clean panel, SCP models and tested claims out."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("consortia")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"

# pyfixest calls logging.basicConfig(level=INFO) when one of its modules is imported
# (pyfixest.estimation.models.feols_compressed_, pyfixest 0.40), which sends every
# library's INFO records (fontTools' subsetting of each PDF's fonts, pyfixest's own) to
# the console of whoever imported it: hundreds of lines in a workflow run. basicConfig
# does nothing when the root logger has a handler, so that module is executed with a
# NullHandler on the root logger, removed right after; nothing else changes.
_NOISY_MODULE = "pyfixest.estimation.models.feols_compressed_"


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        root = logging.getLogger()
        guard = logging.NullHandler()
        root.addHandler(guard)
        try:
            self._loader.exec_module(module)
        finally:
            root.removeHandler(guard)


class _QuietPyfixest(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _NOISY_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


if not any(isinstance(finder, _QuietPyfixest) for finder in sys.meta_path):
    sys.meta_path.insert(0, _QuietPyfixest())
