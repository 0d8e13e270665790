"""The guided conversations of the self-service chatbot (一键报案, 辅助定责, 在线查勘, 资料上传,
人伤调解预约, 理赔查询, 撤案申请): flows as data, slot validators, the state machine and the
fault rules. Pure: no store is read or written here."""

from chatbot.flows.engine import (
    AppointmentRequest,
    ClaimReportRequest,
    ClaimStatusQuery,
    FlowBook,
    FlowContext,
    FlowHandoff,
    FlowHandoffReason,
    FlowState,
    FlowStatus,
    FlowStep,
    RecordRequest,
    SlotAnswer,
    UploadRequest,
    WithdrawalRequest,
    advance,
    default_book,
    judge_fault,
    start_flow,
)
from chatbot.flows.fault import FaultJudgement, FaultRules
from chatbot.flows.spec import FLOW_RECORD_TYPES, FlowKey, RecordType, SlotType

__all__ = [
    "FLOW_RECORD_TYPES",
    "AppointmentRequest",
    "ClaimReportRequest",
    "ClaimStatusQuery",
    "FaultJudgement",
    "FaultRules",
    "FlowBook",
    "FlowContext",
    "FlowHandoff",
    "FlowHandoffReason",
    "FlowKey",
    "FlowState",
    "FlowStatus",
    "FlowStep",
    "RecordRequest",
    "RecordType",
    "SlotAnswer",
    "SlotType",
    "UploadRequest",
    "WithdrawalRequest",
    "advance",
    "default_book",
    "judge_fault",
    "start_flow",
]
