"""Input digests change with every input that changes training, and only with those."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import PolicyDeskError
from ml.digests import inputs_digest


def test_the_digest_follows_files_records_encoder_code_and_parameters(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text("a\n", encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text("r: 1\n", encoding="utf-8")

    def digest(**changes: object) -> str:
        arguments: dict[str, object] = {
            "code_version": "v1",
            "encoder": "enc",
            "files": [data, rules],
            "records": ["dev-1"],
            "params": [5, (1.0, 2.0)],
        }
        arguments.update(changes)
        return inputs_digest(**arguments)  # type: ignore[arg-type]

    first = digest()
    assert len(first) == 24 and digest() == first
    variants = [
        digest(code_version="v2"),
        digest(encoder="other"),
        digest(files=[data]),
        digest(files=[rules, data]),
        digest(records=["dev-2"]),
        digest(records=[]),
        digest(params=[3, (1.0, 2.0)]),
    ]
    assert first not in variants and len(set(variants)) == len(variants)
    rules.write_text("r: 2\n", encoding="utf-8")
    assert digest() != first


def test_a_missing_input_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyDeskError, match=r"gone\.jsonl"):
        inputs_digest("v1", "enc", [tmp_path / "gone.jsonl"])
