"""The guided conversations as data: the models of ``data/chatbot/flows.yaml`` (pure).

A flow is a key, a Chinese name, the words that start it, whether identity comes first, the
ordered slots (one question each, a type, its validation parameters and a re-ask message per
way an answer can be wrong) and the record it asks for at the end.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from core.files import check_patterns, read_yaml


class FlowKey(StrEnum):
    """The seven guided conversations."""

    REPORT_CLAIM = "report_claim_flow"
    FAULT_FINDING = "fault_finding"
    ONLINE_SURVEY = "online_survey"
    UPLOAD_DOCUMENTS = "upload_documents"
    INJURY_MEDIATION = "injury_mediation"
    CLAIM_STATUS = "claim_status"
    WITHDRAW_CLAIM = "withdraw_claim"
    PRIVILEGE_BOOKING = "privilege_booking"


class RecordType(StrEnum):
    """What a finished flow asks the caller to write (``none``: nothing is written)."""

    CLAIM_REPORT = "claim_report"
    APPOINTMENT = "appointment"
    UPLOAD = "upload"
    WITHDRAWAL = "withdrawal"
    NONE = "none"
    PRIVILEGE_BOOKING = "privilege_booking"


class SlotType(StrEnum):
    """How a slot's answer is read (``chatbot.flows.validators``)."""

    DATETIME = "datetime"
    PLACE = "place"
    FREE_TEXT = "free_text"
    YES_NO = "yes_no"
    INJURY = "injury"
    OTHER_PARTY = "other_party"
    PHOTOS = "photos"
    CLAIM_NO = "claim_no"
    CHOICE = "choice"
    SLOT_TIME = "slot_time"
    POLICY = "policy"
    FAULT_SCENARIO = "fault_scenario"
    FAULT_ROLE = "fault_role"


SLOT_ERRORS: dict[SlotType, frozenset[str]] = {
    SlotType.DATETIME: frozenset({"not_a_time", "no_hour", "in_future", "too_old", "in_past"}),
    SlotType.PLACE: frozenset({"unknown_place", "too_vague"}),
    SlotType.FREE_TEXT: frozenset({"empty", "too_short"}),
    SlotType.YES_NO: frozenset({"not_yes_no"}),
    SlotType.INJURY: frozenset({"not_yes_no"}),
    SlotType.OTHER_PARTY: frozenset({"bad_plate", "no_plate"}),
    SlotType.PHOTOS: frozenset({"no_photos", "too_few_photos"}),
    SlotType.CLAIM_NO: frozenset({"bad_claim_format", "not_your_claim", "no_claims", "no_claim"}),
    SlotType.CHOICE: frozenset({"not_a_choice"}),
    SlotType.SLOT_TIME: frozenset({"no_slots", "not_offered", "not_a_choice"}),
    SlotType.POLICY: frozenset({"not_a_choice"}),
    SlotType.FAULT_SCENARIO: frozenset({"unknown_scenario"}),
    SlotType.FAULT_ROLE: frozenset({"not_a_choice"}),
}
"""The re-ask keys each slot type can produce: every slot must have a message for each."""


class ChoiceOption(BaseModel):
    """One option of a choice slot."""

    value: str = Field(min_length=1)
    label: str = Field(min_length=1)
    patterns: list[str] = Field(default_factory=list)

    _compiles = field_validator("patterns")(check_patterns)


class SlotSpec(BaseModel):
    """One question of a flow."""

    name: str = Field(min_length=1, description="the answer's key in the record")
    label: str = Field(min_length=1, description="how the summary names it (出险时间)")
    type: SlotType
    question: str = Field(
        min_length=1,
        description="asked once per turn; may use {claims}, {slots}, {options}, {policies}, "
        "{roles}, {missing}",
    )
    aliases: list[str] = Field(
        default_factory=list, description="words a correction names the slot by (时间, 地点)"
    )
    min_chars: int = Field(default=4, ge=1)
    min_photos: int = Field(default=1, ge=1)
    single: bool = Field(
        default=False,
        description="a claim_no slot taken without asking when the customer has one claim (a "
        "read-only lookup)",
    )
    max_age_days: int | None = Field(default=30, ge=1)
    future: bool = False
    prefill: bool = Field(
        default=False,
        description="a choice taken from the opening message when one option's words are in it "
        "(帮我约个代驾)",
    )
    options: list[ChoiceOption] = Field(default_factory=list)
    reask: dict[str, str] = Field(default_factory=dict, description="re-ask message per error")


class FlowSpec(BaseModel):
    """One guided conversation."""

    key: FlowKey
    name: str = Field(min_length=1)
    triggers: list[str] = Field(min_length=1, description="regular expressions that start it")
    identity: bool = Field(default=True, description="identity is verified before the slots")
    injury_expected: bool = Field(
        default=False, description="talk of injuries is the subject, not a reason to hand over"
    )
    confirm: bool = Field(default=True, description="a summary and 确认提交吗？ before the record")
    record: RecordType
    intro: str = Field(min_length=1)
    done: str = Field(min_length=1, description="said when the record request is made")
    slots: list[SlotSpec] = Field(min_length=1)

    _compiles = field_validator("triggers")(check_patterns)

    def slot(self, name: str) -> SlotSpec:
        """The slot with this name.

        Raises:
            KeyError: no such slot.
        """
        for slot in self.slots:
            if slot.name == name:
                return slot
        raise KeyError(f"flow {self.key.value!r} has no slot {name!r}")


class Signal(BaseModel):
    """Words that mean something at any step (leave, resume, correct, injury, ...)."""

    patterns: list[str] = Field(min_length=1)
    unless: list[str] = Field(default_factory=list)

    _compiles = field_validator("patterns", "unless")(check_patterns)


SIGNALS = (
    "injury",
    "dispute",
    "drunk",
    "human",
    "leave",
    "resume",
    "correction",
)

RECORD_SLOTS: dict[RecordType, frozenset[str]] = {
    RecordType.CLAIM_REPORT: frozenset(
        {"accident_time", "place", "what_happened", "injuries", "other_party", "photos"}
    ),
    RecordType.APPOINTMENT: frozenset({"claim_no", "slot"}),
    RecordType.UPLOAD: frozenset({"claim_no", "doc_kind", "photos"}),
    RecordType.WITHDRAWAL: frozenset({"claim_no", "reason"}),
    RecordType.NONE: frozenset(),
    RecordType.PRIVILEGE_BOOKING: frozenset(),
}
"""The slots each record is built from."""


class FlowMessages(BaseModel):
    """What the bot says outside a slot's own question and re-ask messages."""

    identity: str
    paused: str = Field(description="may use {hours}")
    resumed: str = Field(description="may use {name}")
    expired: str = Field(description="may use {name}, {hours}")
    confirm: str = Field(description="must use {summary}")
    confirm_no: str
    corrected: str = Field(description="may use {label}, {display}")
    correct_which: str = Field(description="may use {label}")
    handoff: str
    bot_failed: str
    not_simple: str = Field(description="may use {reason}")
    partial_photos: str = Field(description="may use {count}, {missing}")
    fault_result_customer: str = Field(description="may use {scenario}, {rule}")
    fault_result_other: str = Field(description="may use {scenario}, {rule}")
    status_lookup: str = Field(description="may use {claim_no}")


class FlowsFile(BaseModel):
    """The whole ``flows.yaml``."""

    messages: FlowMessages
    reask_defaults: dict[SlotType, dict[str, str]]
    signals: dict[str, Signal]
    pause_hours: int = Field(default=24, ge=1, description="a paused flow expires after this")
    max_attempts: int = Field(default=3, ge=1, description="failed answers on one slot")
    flows: list[FlowSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> FlowsFile:
        missing_signals = set(SIGNALS) - set(self.signals)
        if missing_signals:
            raise ValueError(f"signals missing: {', '.join(sorted(missing_signals))}")
        keys = [f.key for f in self.flows]
        if len(keys) != len(set(keys)):
            raise ValueError("flow keys must be unique")
        for flow in self.flows:
            names = [s.name for s in flow.slots]
            if len(names) != len(set(names)):
                raise ValueError(f"flow {flow.key.value!r}: slot names must be unique")
            absent = RECORD_SLOTS[flow.record] - set(names)
            if absent:
                raise ValueError(
                    f"flow {flow.key.value!r}: record {flow.record.value} needs slots "
                    f"{', '.join(sorted(absent))}"
                )
            for slot in flow.slots:
                known = {**self.reask_defaults.get(slot.type, {}), **slot.reask}
                lacking = SLOT_ERRORS[slot.type] - set(known)
                if lacking:
                    raise ValueError(
                        f"flow {flow.key.value!r} slot {slot.name!r}: no re-ask message for "
                        f"{', '.join(sorted(lacking))}"
                    )
                if slot.type is SlotType.CHOICE and not slot.options:
                    raise ValueError(f"slot {slot.name!r}: a choice needs options")
        return self

    @classmethod
    def load(cls, path: Path) -> FlowsFile:
        """Read and validate ``flows.yaml``.

        Raises:
            ConfigurationError: a missing file, bad YAML or an invalid entry, naming the file.
        """
        return read_yaml(path, cls)

    def flow(self, key: FlowKey | str) -> FlowSpec:
        """The flow with this key.

        Raises:
            KeyError: no such flow.
        """
        for flow in self.flows:
            if flow.key == key:
                return flow
        raise KeyError(f"no flow {key!r}")

    def reask(self, slot: SlotSpec, error: str) -> str:
        """The re-ask message for a slot's error."""
        return slot.reask.get(error) or self.reask_defaults[slot.type][error]


FLOW_RECORD_TYPES: dict[FlowKey, RecordType] = {
    FlowKey.REPORT_CLAIM: RecordType.CLAIM_REPORT,
    FlowKey.FAULT_FINDING: RecordType.NONE,
    FlowKey.ONLINE_SURVEY: RecordType.APPOINTMENT,
    FlowKey.UPLOAD_DOCUMENTS: RecordType.UPLOAD,
    FlowKey.INJURY_MEDIATION: RecordType.APPOINTMENT,
    FlowKey.CLAIM_STATUS: RecordType.NONE,
    FlowKey.WITHDRAW_CLAIM: RecordType.WITHDRAWAL,
    FlowKey.PRIVILEGE_BOOKING: RecordType.PRIVILEGE_BOOKING,
}
"""The record each flow asks for (the YAML must agree; ``FlowBook`` checks)."""
