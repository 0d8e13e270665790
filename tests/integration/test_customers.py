"""Customer store against real SQLite: deterministic demo data, search, masking, history."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cli.main import main
from core.errors import PolicyDeskError
from customers.demo import generate
from customers.models import CLAIM_STAGES
from customers.privileges import load_privileges
from customers.store import DEFAULT_PRIVILEGES_FILE, CustomerNotFoundError, CustomerStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def demo() -> dict[str, list[dict[str, object]]]:
    return generate()


@pytest.fixture
def store(migrated_engine: Engine, demo: dict[str, list[dict[str, object]]]) -> CustomerStore:
    store = CustomerStore(migrated_engine)
    store.load_records(demo)
    return store


def test_demo_data_is_deterministic_and_large_enough(
    demo: dict[str, list[dict[str, object]]],
) -> None:
    assert generate() == demo
    assert len(demo["cust_customers"]) >= 200
    assert {v["energy"] for v in demo["cust_vehicles"]} == {"燃油", "新能源"}
    assert {c["stage"] for c in demo["cust_claims"]} == set(CLAIM_STAGES)


def test_search_by_phone_plate_policy_claim_and_last_four(
    store: CustomerStore, demo: dict[str, list[dict[str, object]]]
) -> None:
    customer = demo["cust_customers"][0]
    claim = demo["cust_claims"][0]
    vehicle = demo["cust_vehicles"][0]
    policy = demo["cust_policies"][0]
    assert store.search(str(customer["phone"]))[0].id == customer["id"]
    assert store.search(str(vehicle["plate"]).lower())[0].id == vehicle["customer_id"]
    assert store.search(str(policy["policy_no"]))[0].id == policy["customer_id"]
    assert store.search(str(claim["claim_no"]))[0].id == claim["customer_id"]
    last_four = str(customer["phone"])[-4:]
    assert customer["id"] in {s.id for s in store.search(last_four)}
    assert store.search("不存在") == []


def test_profile_never_carries_full_identifiers(
    store: CustomerStore, demo: dict[str, list[dict[str, object]]]
) -> None:
    customer = next(
        c
        for c in demo["cust_customers"]
        if any(cl["customer_id"] == c["id"] for cl in demo["cust_claims"])
    )
    profile = store.profile(str(customer["id"]))
    dumped = profile.model_dump_json()
    assert str(customer["phone"]) not in dumped
    assert str(customer["id_number"]) not in dumped
    assert str(customer["name"]) not in dumped or len(str(customer["name"])) == 1
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", dumped)  # no mobile number
    assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", dumped)  # no ID number
    assert profile.privileges == load_privileges(DEFAULT_PRIVILEGES_FILE).labels(profile.tier)
    assert profile.privileges  # every tier includes something
    claim = profile.claims[0]
    assert [e.stage for e in claim.timeline] == CLAIM_STAGES[: len(claim.timeline)]
    assert profile.placeholders()["案件号"] == claim.claim_no


def test_call_record_is_saved_to_history(store: CustomerStore) -> None:
    before = len(store.profile("C00001").interactions)
    store.add_interaction("C00001", "客户咨询地库泡水理赔，已指导报案", "已报案", agent="坐席1001")
    after = store.profile("C00001")
    assert len(after.interactions) == before + 1
    assert after.interactions[0].disposition == "已报案"
    with pytest.raises(CustomerNotFoundError):
        store.add_interaction("NOPE", "x", "y")
    with pytest.raises(PolicyDeskError):
        store.add_interaction("C00001", "  ", "已解答")


def test_seed_command_is_idempotent(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "var")
    out = io.StringIO()
    assert main(["--data-dir", data_dir, "customers", "seed", "--count", "30"], out=out) == 0
    assert "loaded 30" in out.getvalue()
    again = io.StringIO()
    assert main(["--data-dir", data_dir, "customers", "seed"], out=again) == 0
    assert "already" in again.getvalue()
