from __future__ import annotations

import re
from itertools import pairwise

import pytest

from core.rules import (
    Occurrence,
    PatternRule,
    RuleMatch,
    RuleMatcher,
    Segment,
    Segmenter,
    UnlessScope,
    clauses,
    message_clauses,
    sentences,
    whole,
)

SEGMENTERS: list[Segmenter] = [sentences, clauses, message_clauses, whole]


def _texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


def _found(
    rules: list[PatternRule],
    text: str,
    segmenter: Segmenter = sentences,
    occurrence: Occurrence = Occurrence.EVERY,
) -> list[tuple[int, int, str]]:
    """(rule, pattern, words) of every match, in the order the matcher reports them."""
    return [
        (m.rule, m.pattern, m.text) for m in RuleMatcher(rules, segmenter, occurrence).find(text)
    ]


def _rule(
    *patterns: str, unless: tuple[str, ...] = (), scope: UnlessScope = UnlessScope.SEGMENT
) -> PatternRule:
    return PatternRule.compile(patterns, unless, scope)


# ---- segmentation ---------------------------------------------------------------------------


def test_sentences_cut_after_full_stops_and_line_breaks_but_not_commas() -> None:
    text = "您放心，肯定全赔。查勘员会联系您！好吗?好的；再见;谢谢\n下一行"
    assert _texts(sentences(text)) == [
        "您放心，肯定全赔。",
        "查勘员会联系您！",
        "好吗?",
        "好的；",
        "再见;",
        "谢谢\n",
        "下一行",
    ]


def test_clauses_also_cut_after_commas() -> None:
    assert _texts(clauses("您放心，肯定全赔。投诉, 电话多少")) == [
        "您放心，",
        "肯定全赔。",
        "投诉,",
        " 电话多少",
    ]


def test_a_segment_keeps_the_run_of_marks_that_closes_it() -> None:
    assert _texts(sentences("真的吗？！！好")) == ["真的吗？！！", "好"]
    assert _texts(clauses("投诉，，。好")) == ["投诉，，。", "好"]


def test_marks_at_the_very_start_belong_to_no_segment() -> None:
    assert sentences("。。好的") == [Segment(start=2, end=4, text="好的")]
    assert clauses("，好的") == [Segment(start=1, end=3, text="好的")]


def test_message_clauses_drop_marks_and_cut_at_spaces_next_to_chinese_only() -> None:
    assert _texts(message_clauses("我要投诉,电话多少")) == ["我要投诉", "电话多少"]
    assert _texts(message_clauses("理赔员不接电话 我该找谁")) == ["理赔员不接电话", "我该找谁"]
    assert _texts(message_clauses("zhuan ren gong")) == ["zhuan ren gong"]
    assert _texts(message_clauses("续保\n转人工:好的、谢谢;再见!行?嗯。哦")) == [
        "续保",
        "转人工",
        "好的",
        "谢谢",
        "再见",
        "行",
        "嗯",
        "哦",
    ]


def test_message_clauses_strip_and_leave_out_empty_clauses() -> None:
    text = " 续保 , ,。 转人工 "
    segments = message_clauses(text)
    assert _texts(segments) == ["续保", "转人工"]
    assert [(s.start, s.end) for s in segments] == [(1, 3), (9, 12)]
    assert message_clauses("。,") == []


def test_message_clauses_keep_spaces_between_ascii_words_and_chinese_half_width_marks() -> None:
    # full-width commas are not cut here: messages are normalised (NFKC) before they are cut
    assert _texts(message_clauses("daijia 怎么用，多少钱")) == ["daijia", "怎么用，多少钱"]


def test_whole_is_one_segment_and_nothing_for_empty_text() -> None:
    assert whole("投诉。电话") == [Segment(start=0, end=5, text="投诉。电话")]
    assert whole("") == []


@pytest.mark.parametrize("segmenter", SEGMENTERS)
@pytest.mark.parametrize(
    "text",
    ["", "。", "  ", "您好王先生。您放心，肯定全赔。\n\n查勘员 会联系您 ok ok", "a。 b ,c、 d:e"],
)
def test_segments_point_into_the_text_in_order_without_overlap(
    segmenter: Segmenter, text: str
) -> None:
    segments = segmenter(text)
    for segment in segments:
        assert segment.text and text[segment.start : segment.end] == segment.text
    for before, after in pairwise(segments):
        assert before.end <= after.start


# ---- unless scopes --------------------------------------------------------------------------


def test_a_segment_scoped_unless_cancels_the_rule_in_its_own_segment_only() -> None:
    rule = _rule("投诉", unless=("电话",))
    assert _found([rule], "投诉电话是多少？我要投诉你们", clauses) == [(0, 0, "投诉")]
    matches = RuleMatcher([rule], clauses, Occurrence.EVERY).find("投诉电话是多少？我要投诉你们")
    assert matches[0].start == 10


def test_a_text_scoped_unless_cancels_the_rule_everywhere() -> None:
    rule = _rule("投诉", unless=("电话",), scope=UnlessScope.TEXT)
    assert _found([rule], "投诉电话是多少？我要投诉你们", clauses) == []
    assert _found([rule], "我要投诉。投诉！", clauses) == [(0, 0, "投诉"), (0, 0, "投诉")]


def test_an_unless_is_searched_segment_by_segment_even_for_the_whole_text() -> None:
    # "电话.*多少" occurs in the text only across a clause boundary, so it cancels nothing
    for scope in UnlessScope:
        rule = _rule("投诉", unless=("电话.*多少",), scope=scope)
        assert _found([rule], "投诉电话，是多少", clauses) == [(0, 0, "投诉")]


def test_an_unless_cancels_only_its_own_rule() -> None:
    rules = [_rule("全赔", unless=("不能",)), _rule("承诺")]
    assert _found(rules, "我们不能承诺全赔。") == [(1, 0, "承诺")]


def test_an_unless_that_matches_empty_text_cancels_everywhere() -> None:
    assert _found([_rule("全赔", unless=("(不能)?",))], "肯定全赔。") == []


def test_a_rule_without_unless_is_never_cancelled() -> None:
    assert _found([_rule("全赔")], "不能全赔。") == [(0, 0, "全赔")]


# ---- occurrences ----------------------------------------------------------------------------


def test_every_reports_all_matches_of_all_patterns() -> None:
    rule = _rule("投诉", "投诉你们")
    assert _found([rule], "投诉！投诉你们", whole) == [
        (0, 0, "投诉"),
        (0, 0, "投诉"),
        (0, 1, "投诉你们"),
    ]


def test_first_per_pattern_reports_each_patterns_leftmost_match_per_segment() -> None:
    rule = _rule("投诉", "电话")
    found = _found([rule], "投诉投诉电话电话。投诉", sentences, Occurrence.FIRST_PER_PATTERN)
    assert found == [(0, 0, "投诉"), (0, 1, "电话"), (0, 0, "投诉")]
    matches = RuleMatcher([rule], sentences, Occurrence.FIRST_PER_PATTERN).find("投诉投诉电话")
    assert [m.start for m in matches] == [0, 4]


def test_first_per_rule_reports_the_first_pattern_in_rule_order_that_matches() -> None:
    # the second pattern matches earlier in the sentence, but the first pattern comes first
    rule = _rule("全赔", "肯定", "不存在")
    found = _found([rule], "肯定全赔。全赔肯定", sentences, Occurrence.FIRST_PER_RULE)
    assert found == [(0, 0, "全赔"), (0, 0, "全赔")]
    assert _found([rule], "肯定的", sentences, Occurrence.FIRST_PER_RULE) == [(0, 1, "肯定")]


# ---- empty matches --------------------------------------------------------------------------


def test_empty_matches_are_never_reported() -> None:
    rule = _rule("x*")
    assert _found([rule], "axxb", whole, Occurrence.EVERY) == [(0, 0, "xx")]
    assert _found([rule], "", whole, Occurrence.EVERY) == []


def test_a_first_match_that_is_empty_is_no_match() -> None:
    # the leftmost match, as re.search reports it, is the empty one before "a"
    assert _found([_rule("x*")], "ax", whole, Occurrence.FIRST_PER_PATTERN) == []
    assert _found([_rule("x*")], "xa", whole, Occurrence.FIRST_PER_PATTERN) == [(0, 0, "x")]
    # a rule's first pattern that only matches empty text gives way to the next one
    rule = _rule("(全赔)?", "肯定")
    assert _found([rule], "肯定的", whole, Occurrence.FIRST_PER_RULE) == [(0, 1, "肯定")]


# ---- spans and ordering ---------------------------------------------------------------------


@pytest.mark.parametrize("occurrence", list(Occurrence))
@pytest.mark.parametrize("segmenter", SEGMENTERS)
def test_spans_point_into_the_original_text(segmenter: Segmenter, occurrence: Occurrence) -> None:
    text = " 您好 王先生。 您放心 肯定全赔，全赔!\n 肯定 全赔"
    matches = RuleMatcher([_rule("全赔", "肯定")], segmenter, occurrence).find(text)
    assert matches
    for match in matches:
        assert text[match.start : match.end] == match.text
        assert match.segment.start <= match.start < match.end <= match.segment.end


def test_a_match_knows_its_rule_pattern_and_segment() -> None:
    (match,) = RuleMatcher([_rule("a"), _rule("b", "全赔")], sentences, Occurrence.EVERY).find(
        "您好。肯定全赔。"
    )
    assert match == RuleMatch(
        rule=1,
        pattern=1,
        segment=Segment(start=3, end=8, text="肯定全赔。"),
        start=5,
        end=7,
        text="全赔",
    )


def test_patterns_match_within_one_segment_and_anchor_at_its_ends() -> None:
    assert _found([_rule("全赔。肯定")], "全赔。肯定") == []
    assert _found([_rule("^肯定")], "您好。肯定全赔") == [(0, 0, "肯定")]
    assert _found([_rule("^肯定")], "您好肯定全赔") == []
    assert _found([_rule("全赔$")], "全赔 。肯定全赔", clauses) == [(0, 0, "全赔")]


def test_matches_are_ordered_by_segment_then_rule_then_pattern_then_position() -> None:
    rules = [_rule("丙", "甲"), _rule("乙")]
    text = "乙甲丙甲。甲乙"
    assert [
        (m.rule, m.pattern, m.start)
        for m in RuleMatcher(rules, sentences, Occurrence.EVERY).find(text)
    ] == [
        (0, 0, 2),
        (0, 1, 1),
        (0, 1, 3),
        (1, 0, 0),
        (0, 1, 5),
        (1, 0, 6),
    ]


def test_no_rules_or_no_text_find_nothing() -> None:
    assert RuleMatcher([], sentences, Occurrence.EVERY).find("肯定全赔") == []
    assert _found([_rule("全赔")], "") == []


def test_a_bad_pattern_does_not_compile() -> None:
    with pytest.raises(re.error):
        PatternRule.compile(["("])
