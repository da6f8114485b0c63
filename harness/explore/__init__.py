"""Exploration: many runs of one scenario, read together.

- ``sweep``: one scenario over a range of seeds → pass probabilities with exact intervals, the
  spread of each observed value, the failing seeds and their replay commands.
- ``search``: hypothesis searches ranges of fault parameters for the mildest profile that breaks
  a check, and writes it as a scenario that fails the same way.
- ``baseline``: a run (or a sweep) against a stored one, objective by objective, where only an
  interval-backed difference counts as a regression.
- ``executors``: where the runs happen (this process, a process pool, a Dask cluster);
  ``stats``: the exact binomial interval; ``commands``: the command-line handlers.

Its layer sits between the reports and the faces: it imports the format, the verdicts, the
runner (``harness.engines.runner``) and the report writers; only the faces (``harness.cli``)
import it. It never imports pytest.
"""
