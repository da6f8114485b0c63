"""Routes of an upstream, as pytest-httpx and respx match requests: on method, path, headers
and body, each with fault settings and answers of its own.

An upstream with ``routes`` answers a request with the first route (in file order) that matches
it: every criterion the route gives must hold (a route that gives none matches everything):

- ``method``: the request's method (any case);
- ``path``: the request URL's path, the route's joined to the upstream's URL as
  ``traffic.path`` is (the query string is not compared);
- ``headers``: each named header is present with exactly this value (names in any case);
- ``json``: the body parses as JSON; where the route gives a mapping, every key of it is in the
  body's mapping with an equal value (the body may hold more keys), otherwise the two are equal;
- ``body``: the body is exactly this text (UTF-8).

The route's ``latency``, ``failure_rate``, ``errors`` and ``answers`` replace the upstream's for
the requests it matches; the upstream's timeline phases apply on top, as they do to the
upstream's own settings. A request no route matches is refused with an error naming the closest
route and what differs (:func:`closest_route`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from harness.format.answers import AnswerMap
from harness.format.fault_settings import ErrorMix, Latency
from harness.format.fields import Rate, StrictModel

__all__ = [
    "Request",
    "Route",
    "body_bytes",
    "closest_route",
    "matching_route",
    "path_problem",
    "route_path",
    "traffic_route",
]

# A path relative to the URL: no scheme, no whitespace, no fragment, no "." or ".." segment
# (which would leave the upstream's URL, possibly for another upstream's).
_PATH = re.compile(r"(?!/?[A-Za-z][A-Za-z0-9+.-]*://)[^\s#]*", re.ASCII)
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|\?|$)")


def path_problem(value: str) -> str:
    """Return why ``value`` is no path relative to an upstream's URL, or ""."""
    if not _PATH.fullmatch(value) or _DOT_SEGMENT.search(value):
        return (
            "expected a path relative to the upstream's URL, like /v1/predict (no scheme, "
            f"spaces, '#', '.' or '..' segments), got {value!r}"
        )
    return ""


Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class Route(StrictModel):
    """One route of an upstream: what requests it matches, and how it answers them."""

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    method: Method | None = None
    path: str | None = None
    """The path, relative to the upstream's URL as ``traffic.path`` is: ``/v1/chat``."""
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    """The JSON the body must hold (a mapping: at least these keys, with these values)."""
    body: str | None = None
    latency: Latency | None = None
    failure_rate: Rate | None = None
    errors: ErrorMix | None = None
    answers: AnswerMap | None = None

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str | None) -> str | None:
        problem = None if value is None else path_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _one_body(self) -> Route:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give 'json' or 'body', not both: each matches the whole body")
        return self

    @property
    def label(self) -> str:
        """Return the route's name, or what it matches when unnamed."""
        return self.name or f"{self.method or 'any method'} {self.path or 'any path'}"


@dataclass(frozen=True)
class Request:
    """What a route is matched on: a request's method, URL path, headers and body."""

    method: str
    path: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes

    @classmethod
    def of(cls, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Request:
        """Return the request's shape from its parts (headers in any case)."""
        lowered = {str(key).lower(): str(value) for key, value in headers.items()}
        return cls(method.upper(), httpx.URL(url).path, lowered, body)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def route_path(base_url: str, path: str) -> str:
    """Return the URL path ``path`` stands for under ``base_url`` (ending in ``/``)."""
    return httpx.URL(base_url + path.lstrip("/")).path


def matching_route(routes: tuple[Route, ...], base_url: str, request: Request) -> int | None:
    """Return the index of the first route matching ``request``, or None."""
    for index, route in enumerate(routes):
        if not _differences(route, base_url, request):
            return index
    return None


def closest_route(routes: tuple[Route, ...], base_url: str, request: Request) -> str:
    """Describe the route closest to ``request`` (fewest differences, first in the file on a
    tie) and what differs."""
    found = [
        (len(diff), index, diff)
        for index, route in enumerate(routes)
        if (diff := _differences(route, base_url, request))
    ]
    _, index, differences = min(found)
    return f"the closest route is {routes[index].label!r}: {'; '.join(differences)}"


def _differences(route: Route, base_url: str, request: Request) -> list[str]:
    found: list[str] = []
    if route.method is not None and route.method != request.method:
        found.append(f"the method is {request.method}, the route's {route.method}")
    if route.path is not None and route_path(base_url, route.path) != request.path:
        found.append(f"the path is {request.path}, the route's {route_path(base_url, route.path)}")
    for name, value in route.headers.items():
        got = request.headers.get(name.lower())
        if got != value:
            seen = "missing" if got is None else f"{got!r}"
            found.append(f"header {name!r} is {seen}, the route wants {value!r}")
    if route.json_body is not None and not _json_matches(route.json_body, request.body):
        found.append("the JSON body does not hold the route's 'json'")
    if route.body is not None and request.body != route.body.encode():
        found.append("the body differs from the route's 'body'")
    return found


def _json_matches(wanted: Any, body: bytes) -> bool:
    try:
        given = json.loads(body)
    except ValueError:
        return False
    if isinstance(wanted, dict):
        return isinstance(given, dict) and all(
            key in given and given[key] == value for key, value in wanted.items()
        )
    return bool(given == wanted)


def body_bytes(json_body: Any, body: str | None) -> bytes:
    """Return the body a request with this ``json`` or ``body`` carries (as httpx encodes it:
    compact JSON, UTF-8)."""
    if json_body is not None:
        return json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
    return b"" if body is None else body.encode()


def traffic_route(routes: tuple[Route, ...], base_url: str, traffic: Any) -> tuple[int | None, str]:
    """Return the route the built-in client's requests (``traffic``'s method, path, headers and
    body) match, or None and why none does."""
    request = Request.of(
        traffic.method,
        base_url + traffic.path.lstrip("/"),
        traffic.headers,
        body_bytes(traffic.json_body, traffic.body),
    )
    index = matching_route(routes, base_url, request)
    if index is not None:
        return index, ""
    return None, f"no route matches the traffic's requests ({request}); " + closest_route(
        routes, base_url, request
    )
