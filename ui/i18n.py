"""Console strings in Chinese (default) and English."""

from __future__ import annotations

import streamlit as st

LANGUAGES = {"zh": "中文", "en": "English"}

STRINGS: dict[str, dict[str, str]] = {
    "app_title": {"zh": "坐席助手 PolicyDesk", "en": "PolicyDesk agent assistant"},
    "language": {"zh": "语言 / Language", "en": "Language / 语言"},
    "page_search": {"zh": "知识检索", "en": "Knowledge search"},
    "search_header": {"zh": "条款与案例检索", "en": "Clause and case search"},
    "query": {"zh": "客户的问题", "en": "Customer question"},
    "query_placeholder": {
        "zh": "例如：车在地库被水泡了能赔吗",
        "en": "e.g. 车在地库被水泡了能赔吗",
    },
    "search": {"zh": "检索", "en": "Search"},
    "kinds": {"zh": "类型", "en": "Kinds"},
    "products": {"zh": "产品", "en": "Products"},
    "as_of": {"zh": "按生效日期过滤", "en": "In force on"},
    "use_date": {"zh": "只看该日期有效的条款", "en": "Only passages in force on a date"},
    "top_k": {"zh": "结果数", "en": "Results"},
    "no_hits": {
        "zh": "知识库中没有找到相关内容，请换个说法或转交专员。",
        "en": "Nothing relevant in the knowledge base; rephrase or refer to a specialist.",
    },
    "expanded": {"zh": "已按条款用语扩展", "en": "Expanded with clause terms"},
    "matched": {"zh": "匹配词", "en": "Matched"},
    "score": {"zh": "相关度", "en": "Relevance"},
    "outcome": {"zh": "处理结果", "en": "Outcome"},
    "illustrative": {"zh": "示例案例，非真实判决", "en": "Illustrative case, not a real judgment"},
    "full_text": {"zh": "全文", "en": "Full text"},
    "index_missing": {
        "zh": "知识库索引尚未建立。请先运行 `make setup`"
        "（或 `policydesk ingest data/clauses data/cases`）。",
        "en": "The knowledge index is not built yet. Run `make setup` "
        "(or `policydesk ingest data/clauses data/cases`) first.",
    },
    "page_console": {"zh": "来电助手", "en": "Live call"},
    "console_header": {"zh": "来电助手", "en": "Live-call assistant"},
    "agent_name": {"zh": "坐席工号", "en": "Agent ID"},
    "customer": {"zh": "客户", "en": "Customer"},
    "customer_search": {
        "zh": "查找客户（手机号/尾号、车牌、保单号、案件号）",
        "en": "Find a customer (phone or last 4 digits, plate, policy or claim number)",
    },
    "no_customer": {"zh": "未识别客户（匿名来电）", "en": "Unknown caller (anonymous)"},
    "no_customer_found": {"zh": "没有找到匹配的客户。", "en": "No matching customer."},
    "start_call": {"zh": "开始新通话", "en": "Start a new call"},
    "start_hint": {
        "zh": "选择客户（或匿名）后点击“开始新通话”，再输入对话或回放示例通话。",
        "en": "Pick a customer (or none) and start a call, then type turns or replay a demo call.",
    },
    "demo_call": {"zh": "示例通话", "en": "Demo call"},
    "load_demo": {"zh": "载入回放", "en": "Load for replay"},
    "next_turn": {"zh": "播放下一句", "en": "Play next turn"},
    "play_all": {"zh": "播放全部", "en": "Play all"},
    "replay_left": {"zh": "待播放", "en": "Left to play"},
    "speaker": {"zh": "说话人", "en": "Speaker"},
    "speaker_customer": {"zh": "客户", "en": "Customer"},
    "speaker_agent": {"zh": "坐席", "en": "Agent"},
    "turn_text": {"zh": "内容", "en": "Text"},
    "add_turn": {"zh": "添加", "en": "Add"},
    "transcript": {"zh": "通话记录", "en": "Transcript"},
    "mood": {"zh": "客户情绪", "en": "Caller mood"},
    "intensity": {"zh": "强度", "en": "intensity"},
    "emotion_angry": {"zh": "愤怒", "en": "angry"},
    "emotion_anxious": {"zh": "焦虑", "en": "anxious"},
    "emotion_dissatisfied": {"zh": "不满", "en": "dissatisfied"},
    "emotion_neutral": {"zh": "平稳", "en": "neutral"},
    "emotion_positive": {"zh": "满意", "en": "positive"},
    "trend_escalating": {"zh": "情绪上升", "en": "escalating"},
    "trend_steady": {"zh": "情绪平稳", "en": "steady"},
    "trend_calming": {"zh": "情绪缓和", "en": "calming"},
    "alert": {"zh": "情绪提醒", "en": "Mood alert"},
    "soothing_script": {"zh": "安抚话术", "en": "Soothing script"},
    "need": {"zh": "客户诉求", "en": "Caller need"},
    "suggestion": {"zh": "建议回复", "en": "Suggested reply"},
    "use_suggestion": {"zh": "采用建议回复", "en": "Use this reply"},
    "rewritten": {
        "zh": "已按合规规则改写部分表述",
        "en": "Some wording was replaced by the compliance rules",
    },
    "source_llm": {"zh": "由大模型依据条款润色", "en": "Phrased by the LLM from the clauses"},
    "citations": {"zh": "依据", "en": "Based on"},
    "draft": {"zh": "我的回复（发送前自动合规检查）", "en": "My reply (checked before sending)"},
    "send": {"zh": "发送（记入通话）", "en": "Send (add to the call)"},
    "compliant": {"zh": "合规检查通过", "en": "Compliance check passed"},
    "finding": {"zh": "合规风险", "en": "Compliance risk"},
    "rewrite": {"zh": "建议改为", "en": "Say instead"},
    "actions": {"zh": "建议动作", "en": "Next-best actions"},
    "clauses": {"zh": "相关条款", "en": "Clauses"},
    "cases": {"zh": "相似案例", "en": "Similar cases"},
    "profile": {"zh": "客户信息", "en": "Profile"},
    "id_number": {"zh": "证件号", "en": "ID number"},
    "tier": {"zh": "会员等级", "en": "Member tier"},
    "adjuster": {"zh": "查勘定损员", "en": "Adjuster"},
    "history": {"zh": "历史来电", "en": "Past contacts"},
    "helpful": {"zh": "有帮助", "en": "Helpful"},
    "not_helpful": {"zh": "没帮助", "en": "Not helpful"},
    "feedback_saved": {"zh": "已记录反馈，培训师会看到。", "en": "Feedback saved for trainers."},
    "wrap_up": {"zh": "结束通话：小结与处理结果", "en": "Wrap-up: summary and disposition"},
    "draft_summary": {"zh": "生成小结", "en": "Draft the summary"},
    "summary": {"zh": "通话小结（可修改）", "en": "Call summary (editable)"},
    "disposition": {"zh": "处理结果", "en": "Disposition"},
    "save_call": {"zh": "保存到客户历史", "en": "Save to the customer's history"},
    "saved": {"zh": "已保存到客户历史。", "en": "Saved to the customer's history."},
    "needs_customer": {
        "zh": "匿名来电无法保存到客户历史，请先识别客户。",
        "en": "An anonymous call cannot be saved; identify the customer first.",
    },
    "model_missing": {
        "zh": "模型尚未准备好：",
        "en": "A model is not ready: ",
    },
    "no_turns": {"zh": "还没有对话。", "en": "No turns yet."},
    "no_cards": {"zh": "暂无相关内容。", "en": "Nothing relevant yet."},
    "invalid_turn": {"zh": "无法添加这句话：", "en": "Cannot add this turn: "},
    "page_chat": {"zh": "自助客服（演示）", "en": "Self-service chat (demo)"},
    "chat_header": {"zh": "车险智能客服", "en": "Motor-insurance chatbot"},
    "chat_placeholder": {"zh": "请输入您的问题", "en": "Type your question"},
    "new_chat": {"zh": "新对话", "en": "New conversation"},
    "routed_human": {"zh": "已转人工", "en": "Handed to a human"},
    "handoff_no": {"zh": "转接单号", "en": "Handoff"},
    "chat_error": {"zh": "消息未发送：", "en": "Message not sent: "},
    "inbox": {"zh": "转人工队列", "en": "Handoff inbox"},
    "inbox_empty": {"zh": "暂无等待中的转人工请求。", "en": "No handoffs waiting."},
    "accept": {"zh": "接入", "en": "Accept"},
    "waiting_for": {"zh": "已等待", "en": "Waiting"},
    "minutes": {"zh": "分钟", "en": "min"},
    "priority": {"zh": "优先级", "en": "Priority"},
    "reasons": {"zh": "转人工原因", "en": "Why handed over"},
    "bot_answers": {"zh": "机器人已答复", "en": "What the bot already said"},
    "handoff_package": {"zh": "转接信息", "en": "Handoff package"},
    "need_agent_name": {
        "zh": "请先在侧边栏填写坐席工号。",
        "en": "Enter your agent ID in the sidebar first.",
    },
    "resolve": {"zh": "办结转接单", "en": "Resolve the handoff"},
    "resolved": {"zh": "转接单已办结。", "en": "Handoff resolved."},
    "anonymous_customer": {"zh": "未核身客户", "en": "Unverified customer"},
    "error": {"zh": "无法完成检索：", "en": "Search failed: "},
    "kind_clause": {"zh": "条款", "en": "Clause"},
    "kind_case": {"zh": "案例", "en": "Case"},
    "kind_faq": {"zh": "常见问题", "en": "FAQ"},
    "product_commercial": {"zh": "商业险主险", "en": "Commercial"},
    "product_rider": {"zh": "附加险", "en": "Riders"},
    "product_nev": {"zh": "新能源车", "en": "New-energy vehicles"},
    "product_compulsory": {"zh": "交强险", "en": "Compulsory (CTPL)"},
    "product_service": {"zh": "服务", "en": "Service"},
}


def language() -> str:
    """The session's language code."""
    return str(st.session_state.get("lang", "zh"))


def t(key: str) -> str:
    """The string for a key in the session's language (the key itself when unknown)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    return entry.get(language(), entry["zh"])
