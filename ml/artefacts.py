"""Trained artefacts on disk: numpy weights (``weights.npz``) beside a JSON manifest, no pickles.

Every model PolicyDesk trains (the caller-emotion classifier, the chatbot's handoff detector) is
stored this way, so nothing loaded needs a trained Python object and a file from an untrusted
place cannot run code (``allow_pickle=False``). Writing is atomic: both files are staged beside
the folder and moved in, weights first and manifest last, so a crash leaves the previous artefact
and a manifest always describes the weights beside it.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from pydantic import BaseModel, Field

from core.errors import ModelNotReadyError, PolicyDeskError

WEIGHTS = "weights.npz"
MANIFEST = "manifest.json"


class ArtefactManifest(BaseModel):
    """What every trained artefact records besides its own figures."""

    format: int = Field(description="layout of the weights; a reader refuses another one")
    inputs_digest: str = Field(description="digest of everything training read (staleness)")
    encoder: str = Field(
        default="", description="fingerprint of the encoder whose vectors the model reads, if any"
    )


M = TypeVar("M", bound=ArtefactManifest)


@dataclass(frozen=True)
class ArtefactStore(Generic[M]):
    """Reads and writes one kind of artefact.

    Args:
        kind: the artefact's name in messages ("routing", "sentiment").
        manifest_type: the manifest model (an ``ArtefactManifest``).
        format: the weights layout this code reads and writes.
        remedy: what to run to (re)build the artefact in a folder (ends every error message).
    """

    kind: str
    manifest_type: type[M]
    format: int
    remedy: Callable[[Path], str]

    def save(self, folder: Path, manifest: M, arrays: Mapping[str, np.ndarray]) -> None:
        """Write atomically: a crash leaves the previous artefact in place.

        Args:
            folder: the artefact directory (created if missing).
            manifest: the manifest; its ``format`` must be this store's.
            arrays: the weights by name (stored as float32).

        Raises:
            PolicyDeskError: a manifest of another format.
        """
        if manifest.format != self.format:
            raise PolicyDeskError(
                f"{self.kind} manifest has format {manifest.format}, this code writes {self.format}"
            )
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            staging = Path(tmp)
            np.savez_compressed(
                staging / WEIGHTS,
                allow_pickle=False,
                **{name: np.asarray(a, dtype=np.float32) for name, a in arrays.items()},
            )
            (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
            # weights first, manifest last: a manifest always describes the weights beside it
            os.replace(staging / WEIGHTS, folder / WEIGHTS)
            os.replace(staging / MANIFEST, folder / MANIFEST)

    def read_manifest(self, folder: Path) -> M | None:
        """The manifest if there is a readable one (staleness checks; never raises)."""
        try:
            return self.manifest_type.model_validate_json(
                (folder / MANIFEST).read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError, ValueError):
            return None

    def load(self, folder: Path, names: Iterable[str]) -> tuple[M, dict[str, np.ndarray]]:
        """Read the manifest and the named weights.

        Args:
            folder: the artefact directory.
            names: the arrays the caller needs (any missing one is an error).

        Returns:
            The manifest and the arrays by name.

        Raises:
            ModelNotReadyError: nothing trained there yet (names the folder and the remedy).
            PolicyDeskError: an unreadable manifest or weights, or another format.
        """
        if not (folder / MANIFEST).exists() or not (folder / WEIGHTS).exists():
            raise ModelNotReadyError(folder, self.remedy(folder))
        try:
            manifest = self.manifest_type.model_validate_json(
                (folder / MANIFEST).read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise PolicyDeskError(
                f"unreadable {self.kind} manifest {folder / MANIFEST}: {exc}; {self.remedy(folder)}"
            ) from exc
        if manifest.format != self.format:
            raise PolicyDeskError(
                f"{self.kind} artefact in {folder} has format {manifest.format}, expected "
                f"{self.format}: {self.remedy(folder)}"
            )
        try:
            with np.load(folder / WEIGHTS, allow_pickle=False) as data:
                arrays = {name: data[name] for name in names}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise PolicyDeskError(
                f"unreadable {self.kind} weights {folder / WEIGHTS}: {exc}; {self.remedy(folder)}"
            ) from exc
        return manifest, arrays
