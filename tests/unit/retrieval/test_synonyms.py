from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import ConfigurationError
from retrieval.synonyms import TermEntry, TermMap


def test_expand_adds_formal_terms_not_in_query() -> None:
    terms = TermMap(entries={"泡水": ["涉水", "水淹"], "被偷": ["盗抢"], "水淹": ["暴雨"]})
    assert terms.expand("车在地库泡水了能赔吗") == ["涉水", "水淹"]
    assert terms.expand("车被偷了") == ["盗抢"]
    assert terms.expand("问下车损险保什么") == []


def test_longer_expression_wins_over_the_shorter_inside_it() -> None:
    terms = TermMap(entries={"被水泡": ["水淹"], "水泡": ["涉水"]})
    assert terms.expand("车被水泡了") == ["水淹"]
    assert terms.expand("车在水泡着") == ["涉水"]


def test_term_already_in_query_is_not_added() -> None:
    terms = TermMap(entries={"泡水": ["涉水", "水淹"]})
    assert terms.expand("泡水也就是涉水") == ["水淹"]


def test_load_tsv_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "syn.tsv"
    path.write_text(
        "# comment\n跑滴滴\t营运 网约车  # trailing\n\n被偷\t盗抢，盗窃\n", encoding="utf-8"
    )
    terms = TermMap.load(path)
    assert terms.entries == {"跑滴滴": ["营运", "网约车"], "被偷": ["盗抢", "盗窃"]}


def test_load_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "syn.tsv"
    path.write_text("跑滴滴\t营运\n没有制表符 营运\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"syn\.tsv:2"):
        TermMap.load(path)


def test_missing_file_is_empty_map(tmp_path: Path) -> None:
    assert TermMap.load(tmp_path / "none.tsv").expand("泡水") == []


def test_a_term_entry_is_one_expression_and_its_distinct_synonyms() -> None:
    entry = TermEntry(expression=" 泡水 ", synonyms=["涉水", " 水淹", "", "涉水"])
    assert (entry.expression, entry.synonyms) == ("泡水", ["涉水", "水淹"])
    for expression, synonyms, message in [
        (" ", ["涉水"], "needs the colloquial expression"),
        ("泡 水", ["涉水"], "one expression without spaces, commas or '#': '泡 水'"),
        ("泡水", ["涉水、水淹"], "synonym '涉水、水淹' must be one term"),
        ("泡水", [" "], "the term '泡水' needs synonyms"),
    ]:
        with pytest.raises(ValidationError, match=message):
            TermEntry(expression=expression, synonyms=synonyms)
