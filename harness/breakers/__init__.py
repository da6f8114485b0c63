"""Breakers: the built-in circuit breaker (:mod:`harness.breakers.builtin`, sync and async, for
use in your own services too) and the adapters that put any breaker under test behind one
interface (:mod:`harness.breakers.adapters`).

May import: the base modules (:mod:`harness.errors`, :mod:`harness.events`,
:mod:`harness.clock`) and :mod:`harness.format`; not upstreams, engines, verdicts or reports.
"""
