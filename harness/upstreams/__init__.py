"""The upstreams and their faults: seeded streams, fault sampling, the traffic's arrivals and
the mocked upstreams that answer the client under test.

May import: the base modules (:mod:`harness.errors`, :mod:`harness.events`,
:mod:`harness.clock`) and :mod:`harness.format`; not breakers, engines, verdicts or reports.
"""
