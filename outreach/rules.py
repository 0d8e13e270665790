"""Loading the outreach rules (``data/outreach/rules.yaml``) into validated models."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from core.errors import ConfigurationError, describe_validation_error
from outreach.models import Rules


class OutreachRulesError(ConfigurationError):
    """The outreach rules file is missing, not YAML, or invalid (the message names the field)."""


def load_rules(path: Path) -> Rules:
    """Read and validate the outreach rules.

    Args:
        path: the YAML file.

    Returns:
        The validated rules.

    Raises:
        OutreachRulesError: an unreadable file, bad YAML, or an invalid field (named, with the
            value given).
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise OutreachRulesError(f"cannot read outreach rules {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise OutreachRulesError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise OutreachRulesError(f"{path}: expected a mapping of rules, got {type(raw).__name__}")
    try:
        return Rules.model_validate(raw)
    except ValidationError as exc:
        raise OutreachRulesError(f"{path}: {describe_validation_error(exc)}") from exc
