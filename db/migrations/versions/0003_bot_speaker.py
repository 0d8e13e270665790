"""The bot speaks as ``bot``: stored chat turns that were the bot's (speaker ``agent`` with no
author) become ``bot``, in conversations and in handoff transcripts.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _turns(payload: dict[str, Any], key: str, old: str, new: str, bot_author: Any) -> bool:
    changed = False
    for turn in payload.get(key) or []:
        if turn.get("speaker") == old and turn.get("author") is bot_author:
            turn["speaker"] = new
            changed = True
    return changed


def _convert(old: str, new: str) -> None:
    bind = op.get_bind()
    for table, key in (("chat_conversations", "turns"), ("chat_handoffs", "transcript")):
        rows = sa.table(table, sa.column("id", sa.String), sa.column("payload", sa.JSON))
        for row in bind.execute(sa.select(rows.c.id, rows.c.payload)).all():
            payload = dict(row.payload)
            if _turns(payload, key, old, new, None):
                bind.execute(sa.update(rows).where(rows.c.id == row.id).values(payload=payload))


def upgrade() -> None:
    _convert("agent", "bot")


def downgrade() -> None:
    _convert("bot", "agent")
