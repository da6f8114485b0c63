"""The network guard: while a scenario or a ``virtual_time`` test runs, no request leaves the
machine.

Entered, :class:`NetworkGuard` replaces the request method of the connection pools under the
real transports of httpx and httpx2 (httpcore's and httpcore2's, sync and async), so a client
that is not wired to the mocked upstreams fails at once with :class:`UnmockedHostError` naming
the host and the upstreams that are mocked — before any DNS lookup or connection, never a
silent timeout. Mock transports never reach a pool, and respx's global mocking (``with
mocks.router:``) patches those same methods while it is active, so both keep working inside
the guard. Guards nest; the pools are restored when the outermost one exits.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any

__all__ = ["NetworkGuard", "UnmockedHostError", "register_upstreams"]

_TRANSPORTS = (
    ("httpcore", "AsyncConnectionPool", "handle_async_request"),
    ("httpcore", "ConnectionPool", "handle_request"),
    ("httpcore2", "AsyncConnectionPool", "handle_async_request"),
    ("httpcore2", "ConnectionPool", "handle_request"),
)


class UnmockedHostError(ConnectionRefusedError):
    """A request went to a host no mocked upstream answers for; it was never sent.

    A ``ConnectionRefusedError``, as a refused connection is what code under test would see.
    """

    def __init__(self, host: str, url: str, upstreams: Mapping[str, str]) -> None:
        self.host = host
        self.url = url
        known = ", ".join(f"{name} ({base})" for name, base in upstreams.items()) or "none"
        super().__init__(
            f"network guard: {url} goes to host {host!r}, which no upstream mocks "
            f"(mocked upstreams: {known}); no DNS lookup or connection was made"
        )


_active: list[NetworkGuard] = []
_saved: dict[tuple[str, str, str], Any] = {}


def register_upstreams(urls: Mapping[str, str]) -> None:
    """Tell the active guards about mocked upstreams, so their refusals can name them."""
    for guard in _active:
        guard.upstreams.update(urls)


class NetworkGuard:
    """Refuse every request a real httpx/httpx2 transport would send, while active."""

    def __init__(self, upstreams: Mapping[str, str] | None = None) -> None:
        self.upstreams: dict[str, str] = dict(upstreams or {})

    def __enter__(self) -> NetworkGuard:
        if not _active:
            _patch()
        _active.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _active.remove(self)
        if not _active:
            _unpatch()


def _known() -> dict[str, str]:
    known: dict[str, str] = {}
    for guard in _active:
        known.update(guard.upstreams)
    return known


def _refuse(request: Any) -> UnmockedHostError:
    url = request.url  # an httpcore URL: its parts are bytes
    host = url.host.decode("ascii", "replace")
    return UnmockedHostError(host, bytes(url).decode("ascii", "replace"), _known())


def _patch() -> None:
    for module_name, class_name, method in _TRANSPORTS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except ImportError:  # httpx2 (and its httpcore2) is optional
            continue
        original = cls.__dict__[method]
        _saved[(module_name, class_name, method)] = original
        setattr(cls, method, _refusing(original, method.startswith("handle_async")))


def _refusing(original: Any, is_async: bool) -> Any:
    # functools.wraps keeps the method's name: respx patches a method only if its name is one
    # it knows (handle_request, handle_async_request), and must still patch it over the guard.
    if is_async:

        @functools.wraps(original)
        async def refuse_async(self: Any, request: Any) -> Any:
            raise _refuse(request)

        return refuse_async

    @functools.wraps(original)
    def refuse(self: Any, request: Any) -> Any:
        raise _refuse(request)

    return refuse


def _unpatch() -> None:
    for (module_name, class_name, method), original in _saved.items():
        setattr(getattr(importlib.import_module(module_name), class_name), method, original)
    _saved.clear()
