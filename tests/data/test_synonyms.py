"""The shipped colloquial → formal term map (data/terms/synonyms.tsv)."""

from __future__ import annotations

from core.settings import PROJECT_ROOT
from retrieval.synonyms import TermMap


def test_shipped_map_loads_and_covers_the_documented_examples() -> None:
    terms = TermMap.load(PROJECT_ROOT / "data" / "terms" / "synonyms.tsv")
    assert {"涉水", "水淹"} <= set(terms.expand("车泡水了"))
    assert "盗抢" in terms.expand("车被偷了")
    assert "营运" in terms.expand("我平时跑滴滴")
