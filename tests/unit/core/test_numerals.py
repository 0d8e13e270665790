import pytest

from core.numerals import chinese_to_int, int_to_chinese


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("一", 1),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("四十五", 45),
        ("一百", 100),
        ("一百零三", 103),
        ("一百一十", 110),
        ("两百", 200),
        ("12", 12),
    ],
)
def test_chinese_to_int(text: str, number: int) -> None:
    assert chinese_to_int(text) == number


def test_round_trip_1_to_300() -> None:
    for n in range(1, 301):
        assert chinese_to_int(int_to_chinese(n)) == n


def test_int_to_chinese_forms() -> None:
    assert int_to_chinese(10) == "十"
    assert int_to_chinese(15) == "十五"
    assert int_to_chinese(105) == "一百零五"


@pytest.mark.parametrize("bad", ["", "十a", "abc"])
def test_rejects_non_numerals(bad: str) -> None:
    with pytest.raises(ValueError):
        chinese_to_int(bad)


def test_spoken_amounts_read_wan_and_the_short_forms() -> None:
    from core.numerals import spoken_amount

    assert spoken_amount("五千") == 5000
    assert spoken_amount("一万二") == 12000  # 一万二千
    assert spoken_amount("三千五") == 3500
    assert spoken_amount("两万零五百") == 20500
    assert spoken_amount("十") == 10
    assert spoken_amount("零") is None and spoken_amount("") is None
