"""Verdicts: the recorder of every request, exact metrics over its populations, objectives'
evaluation, breaker expectations' checks, episodes, the 5 s time series, and the Result that
holds them all.

May import: the base modules and :mod:`harness.format`; never an engine, a report or a face.
"""
