"""The scenario format: YAML read with positions, validated into a typed, immutable Scenario.

Holds the reader (:mod:`~harness.format.yamlsource`), the loader and JSON Schema
(:mod:`~harness.format.loader`), the model (:mod:`~harness.format.scenario`) and its field types and
units, the settings of faults and breakers, the objectives' grammar and the expectations' model,
overrides, located messages and the checks across fields.

May import: :mod:`harness.errors`, :mod:`harness.events` and itself; nothing that runs or judges
a scenario (no upstreams, breakers, engines, verdicts, reports, faces).
"""
