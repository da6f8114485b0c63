"""Where a sweep's or a search's runs happen: in this process, in a pool of processes, or on a
Dask cluster — each a :class:`concurrent.futures.Executor`, so nothing here schedules anything.

Every task is a pure function of its arguments (a scenario, a seed, an engine) and results are
collected in the order the tasks were given (``Executor.map``), so whatever runs them, the same
tasks give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from harness.errors import HarnessError

__all__ = ["InlineExecutor", "executor_for", "ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

DASK_CONNECT_TIMEOUT_S = 10
"""How long to wait for a Dask scheduler before calling it unreachable."""


class InlineExecutor(Executor):
    """Run each task at once, in this process (``--workers 1``): no pickling, no start-up."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        """Run ``fn(*args, **kwargs)`` now and return a finished future holding its outcome."""
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


@contextmanager
def executor_for(workers: int = 1, dask: str | None = None) -> Iterator[Executor]:
    """Yield the executor asked for: Dask at ``dask`` (an address such as
    ``tcp://scheduler:8786``), else ``workers`` processes (1: this process).

    Raises HarnessError before any work starts when the scheduler cannot be reached or
    ``distributed`` is not installed, or when ``workers`` is below 1.
    """
    if dask is not None:
        with _dask_executor(dask) as executor:
            yield executor
        return
    if workers < 1:
        raise HarnessError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        yield InlineExecutor()
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield pool


@contextmanager
def _dask_executor(address: str) -> Iterator[Executor]:
    try:
        from distributed import Client
    except ImportError:
        raise HarnessError(
            "--dask needs the distributed package, which is not installed "
            "(pip install 'slo-harness[dask]')"
        ) from None
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise HarnessError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()


def ordered_map(
    executor: Executor, fn: Callable[[T], R], items: Iterable[T], workers: int = 1
) -> list[R]:
    """Return ``[fn(item) for item in items]`` computed on ``executor``, in the items' order.

    Tasks go to a process pool in chunks (one per worker and round, several rounds so a slow
    chunk does not hold the others up) to spread the cost of sending each one.
    """
    items = list(items)
    if isinstance(executor, ProcessPoolExecutor):
        chunk = max(1, len(items) // (workers * 4 or 1))
        return list(executor.map(fn, items, chunksize=chunk))
    return list(executor.map(fn, items))


def default_workers() -> int:
    """Return the number of processors this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
