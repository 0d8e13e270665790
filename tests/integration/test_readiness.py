"""Warm start: the models and the index load when a server starts, and GET /readyz says when."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from api.app import create_app
from core.settings import Settings
from services.readiness import Readiness
from services.root import Services
from tests.conftest import with_private_database

pytestmark = pytest.mark.integration

PARTS = ["content", "encoder", "index", "emotion", "assist"]


def _wait_ready(client: TestClient, seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.2)
    pytest.fail(f"not ready after {seconds} s: {client.get('/readyz').json()}")


def test_the_warm_up_loads_every_part_of_a_first_turn(demo_services: Services) -> None:
    readiness = Services(demo_services.settings, embedder=demo_services.embedder).warm_up()
    assert readiness.ready, readiness
    assert [p.name for p in readiness.parts] == PARTS
    assert readiness.generation is not None and all(p.problem is None for p in readiness.parts)


def test_a_part_that_cannot_load_is_named_with_the_reason(model_dir: Path, tmp_path: Path) -> None:
    services = Services(Settings(data_dir=tmp_path / "var", embedding_model=model_dir))
    services.upgrade_database()
    readiness = services.warm_up()  # no index was ever built here: reported, never raised
    assert not readiness.ready
    index = next(p for p in readiness.parts if p.name == "index")
    assert not index.ready and index.problem and "index" in index.problem


def test_readyz_answers_503_while_warming_and_200_once_loaded(
    demo_services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services(
        with_private_database(demo_services.settings, tmp_path), embedder=demo_services.embedder
    )
    loading = threading.Event()
    real = services.warm_up

    def slow_warm_up() -> Readiness:
        loading.wait(timeout=60)  # the models are "still loading" until the test says
        return real()

    monkeypatch.setattr(services, "warm_up", slow_warm_up)
    with TestClient(create_app(services)) as client:
        warming = client.get("/readyz")
        assert warming.status_code == 503 and warming.json()["ready"] is False
        assert client.get("/healthz").status_code == 200  # alive, just not ready
        loading.set()
        body = _wait_ready(client)
    names = [p["name"] for p in body["parts"]]
    assert names == [*PARTS, "chatbot", "database"] and body["ready"] is True


def test_readyz_says_503_while_the_database_does_not_answer_and_200_once_it_does(
    demo_services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services(
        with_private_database(demo_services.settings, tmp_path), embedder=demo_services.embedder
    )
    with TestClient(create_app(services)) as client:
        _wait_ready(client)
        working = services.engine
        gone = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'policydesk.db'}")
        monkeypatch.setitem(services.__dict__, "engine", gone)  # the database server went away
        down = client.get("/readyz")
        monkeypatch.setitem(services.__dict__, "engine", working)  # and came back
        back = client.get("/readyz")
    assert down.status_code == 503 and down.json()["ready"] is False
    database = next(p for p in down.json()["parts"] if p["name"] == "database")
    assert not database["ready"] and "database does not answer" in database["problem"]
    assert back.status_code == 200


def test_readyz_stays_503_and_names_the_missing_part(model_dir: Path, tmp_path: Path) -> None:
    services = Services(Settings(data_dir=tmp_path / "var", embedding_model=model_dir))
    services.upgrade_database()
    with TestClient(create_app(services)) as client:
        deadline = time.monotonic() + 60
        body = client.get("/readyz").json()
        while not body["parts"] and time.monotonic() < deadline:
            time.sleep(0.2)
            body = client.get("/readyz").json()
        response = client.get("/readyz")
    assert response.status_code == 503
    missing = {p["name"]: p["problem"] for p in response.json()["parts"] if not p["ready"]}
    assert missing.get("index")
