"""The artefact store: atomic npz + manifest, read back exactly, clear errors, no pickles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelNotReadyError, PolicyDeskError
from ml.artefacts import MANIFEST, WEIGHTS, ArtefactManifest, ArtefactStore


class ToyManifest(ArtefactManifest):
    format: int = 3
    note: str = "toy"


STORE = ArtefactStore("toy", ToyManifest, 3, lambda folder: f"run `toy train {folder}`")
ARRAYS = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([0.5], np.float32)}


def _manifest(**fields: object) -> ToyManifest:
    return ToyManifest.model_validate({"inputs_digest": "abc", "encoder": "enc", **fields})


def test_a_saved_artefact_reads_back_exactly(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(), ARRAYS)
    assert sorted(p.name for p in folder.iterdir()) == [MANIFEST, WEIGHTS]
    manifest, arrays = STORE.load(folder, ("w", "b"))
    assert manifest == _manifest()
    for name, array in ARRAYS.items():
        assert arrays[name].dtype == np.float32
        assert np.array_equal(arrays[name], array)
    assert STORE.read_manifest(folder) == _manifest()


def test_weights_are_stored_as_float32(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(), {"w": np.ones((2, 2), dtype=np.float64)})
    with np.load(folder / WEIGHTS, allow_pickle=False) as data:
        assert data["w"].dtype == np.float32


def test_saving_again_replaces_and_leaves_no_staging(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(note="first"), ARRAYS)
    STORE.save(folder, _manifest(note="second"), ARRAYS)
    assert STORE.load(folder, ("w",))[0].note == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["toy"]


def test_a_failed_save_keeps_the_previous_artefact(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(note="kept"), ARRAYS)
    with pytest.raises(ValueError):
        STORE.save(folder, _manifest(note="lost"), {"w": np.array(["not a number"])})
    assert STORE.load(folder, ("w", "b"))[0].note == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["toy"]


def test_a_manifest_of_another_format_is_refused_on_save_and_on_load(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    with pytest.raises(PolicyDeskError, match="format 9"):
        STORE.save(folder, _manifest(format=9), ARRAYS)
    STORE.save(folder, _manifest(), ARRAYS)
    data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    data["format"] = 9
    (folder / MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="has format 9, expected 3: run `toy train"):
        STORE.load(folder, ("w",))


def test_nothing_trained_is_not_ready_and_names_the_remedy(tmp_path: Path) -> None:
    with pytest.raises(ModelNotReadyError, match="toy train") as caught:
        STORE.load(tmp_path / "none", ("w",))
    assert caught.value.path == tmp_path / "none"
    assert STORE.read_manifest(tmp_path / "none") is None


@pytest.mark.parametrize("content", ["{not json", "{}", ""])
def test_an_unreadable_manifest_is_a_clear_error(tmp_path: Path, content: str) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(), ARRAYS)
    (folder / MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(PolicyDeskError, match="unreadable toy manifest") as caught:
        STORE.load(folder, ("w",))
    assert not isinstance(caught.value, ModelNotReadyError)
    assert str(folder / MANIFEST) in str(caught.value)
    assert STORE.read_manifest(folder) is None


def test_corrupted_or_incomplete_weights_are_clear_errors(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(), ARRAYS)
    with pytest.raises(PolicyDeskError, match=r"unreadable toy weights .*missing"):
        STORE.load(folder, ("w", "missing"))
    (folder / WEIGHTS).write_bytes(b"not an npz")
    with pytest.raises(PolicyDeskError, match="unreadable toy weights") as caught:
        STORE.load(folder, ("w",))
    assert "toy train" in str(caught.value)


def test_pickled_weights_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    STORE.save(folder, _manifest(), ARRAYS)
    np.savez(folder / WEIGHTS, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(PolicyDeskError, match="unreadable toy weights"):
        STORE.load(folder, ("w",))
