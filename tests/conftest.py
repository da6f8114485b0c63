"""Fixtures every test module may use: the shared inner pytest sessions (tests/shared_runs.py),
defined once here so that each runs once per session (per xdist worker)."""

import socket

import pytest

from tests.shared_runs import alone_run, either_run, xdist_run

__all__ = ["alone_run", "either_run", "network_calls", "xdist_run"]


@pytest.fixture
def network_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name lookup or connection attempted from now on (each refused): a test that must
    not touch the network asserts this stays empty, instead of timing itself."""
    calls: list[str] = []

    def refuse(what: str) -> object:
        def refused(*args: object, **kwargs: object) -> object:
            calls.append(what)
            raise OSError(f"{what} refused by the test")

        return refused

    for owner, name in ((socket, "getaddrinfo"), (socket, "create_connection")):
        monkeypatch.setattr(owner, name, refuse(name))
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    return calls
