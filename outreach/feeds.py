"""The weather-warning and traffic-violation feeds: a JSON or JSON Lines file, or an http(s) URL
serving either; every record validated (a bad record is an error naming the record and field)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from core.errors import PolicyDeskError, describe_validation_error
from core.files import loads_json
from outreach.models import TrafficViolation, WeatherWarning

M = TypeVar("M", bound=BaseModel)


class FeedError(PolicyDeskError):
    """A feed that cannot be read or holds an invalid record (the message names which)."""


def _text(source: str, timeout: float) -> str:
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=timeout, follow_redirects=False)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise FeedError(f"feed {source}: cannot fetch ({exc})") from exc
        return response.text
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedError(f"feed {source}: cannot read ({exc})") from exc


def _records(source: str, text: str) -> list[object]:
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            value = loads_json(stripped)
        except ValueError as exc:
            raise FeedError(f"feed {source}: invalid JSON ({exc})") from exc
        assert isinstance(value, list)
        return value
    records: list[object] = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            try:
                records.append(loads_json(line))
            except json.JSONDecodeError as exc:
                raise FeedError(f"feed {source}: line {number}: invalid JSON ({exc.msg})") from exc
            except ValueError as exc:
                raise FeedError(f"feed {source}: line {number}: {exc}") from exc
    return records


def read_feed(source: str, model: type[M], timeout: float = 10.0) -> list[M]:
    """Every record of a feed as a validated model.

    Args:
        source: a file path (a JSON array, or JSON Lines) or an http(s) URL serving either.
        model: the record model.
        timeout: seconds for a URL.

    Raises:
        FeedError: unreadable, not JSON, or an invalid record (its number and field named).
    """
    out: list[M] = []
    for number, record in enumerate(_records(source, _text(source, timeout)), start=1):
        try:
            out.append(model.model_validate(record))
        except ValidationError as exc:
            raise FeedError(
                f"feed {source}: record {number}: {describe_validation_error(exc)}"
            ) from exc
    return out


def read_weather(source: str, timeout: float = 10.0) -> list[WeatherWarning]:
    """The weather warnings of a feed (see ``read_feed``)."""
    return read_feed(source, WeatherWarning, timeout)


def read_violations(source: str, timeout: float = 10.0) -> list[TrafficViolation]:
    """The traffic violations of a feed (see ``read_feed``)."""
    return read_feed(source, TrafficViolation, timeout)
