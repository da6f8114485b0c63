"""Fixtures every test module may use: the shared inner pytest sessions (tests/shared_runs.py),
defined once here so that each runs once per session (per xdist worker)."""

from tests.shared_runs import alone_run, either_run, xdist_run

__all__ = ["alone_run", "either_run", "xdist_run"]
