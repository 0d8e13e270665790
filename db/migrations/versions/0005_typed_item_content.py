"""Typed item content: every stored version's content (``kb_item_versions.content``) changes from
the one shape of every kind (passage fields plus ``data: dict[str, str]``) to the typed content
of its kind (``studio.items``), tagged with ``kind``; downgrade converts back.

Upgrade, by the item's kind:

* clause, case, faq: the passage fields with ``kind`` (``data`` is dropped: nothing read it);
* script: ``{"script": {id, emotion, situation, title, text}}`` from ``data.emotion`` (default
  ``any``) and ``data.scene``;
* term_map: ``{"term": {expression, synonyms}}``, the synonyms split from ``data.synonyms``;
* compliance_rule: ``{"rule": {id, category, severity, patterns, unless, reason, rewrite}}``,
  the patterns from ``data.pattern01``, ``pattern02``, ... in number order;
* utterance: ``{"utterance": {id, text, label, situation, escalation}, "split": ...}``.

A record's id is its item's (a rule's in kebab case). The passage fields the other kinds carried
but never used (citation, product, dates, tags, ...) and a free title of a term, rule or utterance
are not kept. Downgrade writes the old shape as the code before wrote it (a term's synonyms
space-separated, a rule's patterns renumbered ``pattern01``...). Rows already in the target shape
are left alone, so either direction can be run twice.

The conversion reads and writes plain JSON and repeats the few parsing rules of the code it
replaces (``_numbered_values``, ``_split_terms``, ``_rule_id_for``), so this revision keeps doing
what it did when the studio's code changes later.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PASSAGE_KINDS = frozenset({"clause", "case", "faq"})
PASSAGE_FIELDS = (
    "title",
    "text",
    "citation",
    "product",
    "document",
    "doc_id",
    "article",
    "version_label",
    "effective_date",
    "expiry_date",
    "outcome",
    "relied_on",
    "tags",
    "illustrative",
)
# the old shape's defaults: every field was stored, also by kinds that did not use it
OLD_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(PASSAGE_FIELDS, ""),
    "effective_date": None,
    "expiry_date": None,
    "relied_on": [],
    "tags": [],
    "illustrative": False,
    "data": {},
}
_TERM_SEPARATORS = re.compile(r"[\s,，、]+")
_NUMBERED_KEY = re.compile(r"^([a-z]+)(\d*)$")
_RULE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_NOT_RULE_ID = re.compile(r"[^a-z0-9]+")


# ------------------------------------------------------------------------------------- upgrade


def _numbered_values(data: dict[str, str], name: str) -> list[str]:
    """The non-blank values of ``name``, ``name01``, ``name02``, ... in number order; ``name``
    alone counts as number 0 (equal numbers keep their stored order)."""
    numbered: list[tuple[int, str]] = []
    for key, value in data.items():
        match = _NUMBERED_KEY.match(key)
        if match and match.group(1) == name and value.strip():
            numbered.append((int(match.group(2) or 0), value))
    return [value for _, value in sorted(numbered, key=lambda pair: pair[0])]


def _split_terms(value: str) -> list[str]:
    return list(dict.fromkeys(t for t in _TERM_SEPARATORS.split(value) if t))


def _rule_id_for(item_id: str) -> str:
    if _RULE_ID.match(item_id):
        return item_id
    slug = _NOT_RULE_ID.sub("-", item_id.lower()).strip("-")
    return slug or f"rule-{hashlib.sha1(item_id.encode('utf-8')).hexdigest()[:10]}"


def typed_content(kind: str, item_id: str, old: dict[str, Any]) -> dict[str, Any]:
    """The typed content of an old-shape content of an item of ``kind``."""
    content = {**OLD_DEFAULTS, **old}
    data: dict[str, str] = dict(content["data"] or {})
    text: str = content["text"]
    if kind in PASSAGE_KINDS:
        return {"kind": kind, **{name: content[name] for name in PASSAGE_FIELDS}}
    if kind == "script":
        script = {
            "id": item_id,
            "emotion": data.get("emotion", "any"),
            "situation": data.get("scene", "").strip(),
            "title": content["title"],
            "text": text,
        }
        return {"kind": kind, "script": script}
    if kind == "term_map":
        term = {"expression": text.strip(), "synonyms": _split_terms(data.get("synonyms", ""))}
        return {"kind": kind, "term": term}
    if kind == "compliance_rule":
        rule = {
            "id": _rule_id_for(item_id),
            "category": data.get("category", ""),
            "severity": data.get("severity", ""),
            "patterns": _numbered_values(data, "pattern"),
            "unless": _numbered_values(data, "unless"),
            "reason": text.strip(),
            "rewrite": data.get("rewrite", "").strip(),
        }
        return {"kind": kind, "rule": rule}
    if kind == "utterance":
        utterance = {
            "id": item_id,
            "text": text,
            "label": data.get("label", ""),
            "situation": data.get("situation") or "general",
            "escalation": data.get("escalation", "false") == "true",
        }
        return {"kind": kind, "utterance": utterance, "split": _split(data.get("split"))}
    raise ValueError(f"item {item_id} has an unknown kind {kind!r}")


def _split(value: str | None) -> str:
    return "dev" if value == "dev" else "train"


# ------------------------------------------------------------------------------------- downgrade


def _numbered(name: str, values: list[str]) -> dict[str, str]:
    width = max(2, len(str(len(values))))
    return {f"{name}{n:0{width}d}": value for n, value in enumerate(values, start=1)}


def old_content(typed: dict[str, Any]) -> dict[str, Any]:
    """The old-shape content of a typed content."""
    kind = typed["kind"]
    if kind in PASSAGE_KINDS:
        return {**OLD_DEFAULTS, **{name: typed[name] for name in PASSAGE_FIELDS if name in typed}}
    if kind == "script":
        script = typed["script"]
        data = {"scene": script["situation"], "emotion": script["emotion"]}
        return {**OLD_DEFAULTS, "title": script["title"], "text": script["text"], "data": data}
    if kind == "term_map":
        term = typed["term"]
        data = {"synonyms": " ".join(term["synonyms"])}
        return {
            **OLD_DEFAULTS,
            "title": term["expression"],
            "text": term["expression"],
            "data": data,
        }
    if kind == "compliance_rule":
        rule = typed["rule"]
        data = {"category": rule["category"], "severity": rule["severity"]}
        data["rewrite"] = rule["rewrite"]
        data |= _numbered("pattern", rule["patterns"])
        data |= _numbered("unless", rule["unless"])
        return {**OLD_DEFAULTS, "title": rule["id"], "text": rule["reason"], "data": data}
    if kind == "utterance":
        utterance = typed["utterance"]
        data = {
            "label": utterance["label"],
            "split": typed.get("split", "train"),
            "situation": utterance["situation"],
            "escalation": "true" if utterance["escalation"] else "false",
        }
        text = utterance["text"]
        return {**OLD_DEFAULTS, "title": text[:30], "text": text, "data": data}
    raise ValueError(f"unknown content kind {kind!r}")


# ------------------------------------------------------------------------------------- running


def _convert(change: Callable[[str, str, dict[str, Any]], dict[str, Any] | None]) -> None:
    bind = op.get_bind()
    items = sa.table("kb_items", sa.column("id", sa.String), sa.column("kind", sa.String))
    versions = sa.table(
        "kb_item_versions",
        sa.column("item_id", sa.String),
        sa.column("number", sa.Integer),
        sa.column("content", sa.JSON),
    )
    rows = bind.execute(
        sa.select(versions.c.item_id, versions.c.number, versions.c.content, items.c.kind).join(
            items, items.c.id == versions.c.item_id
        )
    ).all()
    for row in rows:
        converted = change(row.kind, row.item_id, dict(row.content))
        if converted is not None:
            bind.execute(
                sa.update(versions)
                .where(versions.c.item_id == row.item_id, versions.c.number == row.number)
                .values(content=converted)
            )


def _to_typed(kind: str, item_id: str, content: dict[str, Any]) -> dict[str, Any] | None:
    return None if "kind" in content else typed_content(kind, item_id, content)


def _to_old(kind: str, item_id: str, content: dict[str, Any]) -> dict[str, Any] | None:
    return old_content(content) if "kind" in content else None


def upgrade() -> None:
    _convert(_to_typed)


def downgrade() -> None:
    _convert(_to_old)
