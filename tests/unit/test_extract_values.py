"""Reading issue values from text by the shipped seeds' patterns, without spaCy: which numbers are
stated values, which are estimates, ranges or batches and which bounds give their number (codebook
rules 8 and 10), daily counts against totals,
and the words linking derives from the issues."""

from __future__ import annotations

import pytest

from etl.errors import UserError
from etl.extract.values import PatternError, Rules
from etl.seeds import IssueSeed, load_negotiation
from tests.conftest import REPO


@pytest.fixture(scope="module")
def rules() -> Rules:
    return Rules.build(load_negotiation(REPO / "seeds" / "negotiations" / "gaza.yaml").issues)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Israel proposed a 60-day ceasefire.", [("ceasefire_duration", 60)]),
        ("a two-week truce", [("ceasefire_duration", 14)]),
        ("a ceasefire of five days", [("ceasefire_duration", 5)]),
        ("Hamas will release 50 hostages.", [("hostages_released", 50)]),
        ("release all hostages", [("hostages_released", "all")]),
        ("the release of 150 Palestinian prisoners", [("prisoners_released", 150)]),
        # a strict bound, an estimate or a range is no stated value (rule 10)
        ("Hamas wants more than 50 hostages freed.", []),
        ("between 50 and 100 hostages", []),
        ("a pause of three to five days", []),
        ("a truce of four or five days", []),
        # a bound that includes its number gives it (codebook v2, rule 10)
        ("a pause of at least four days", [("ceasefire_duration", 4)]),
        ("a truce of up to a week", [("ceasefire_duration", 7)]),
        ("a halt in the fighting for at least five days", [("ceasefire_duration", 5)]),
        ("the freeing of at least 30 captives", [("hostages_released", 30)]),
        ("as many as 100 detainees could walk free", [("prisoners_released", 100)]),
        # one day more, however the day is counted
        ("the sides agreed to extend for an eighth day", [("ceasefire_extension", 1)]),
        ("they prolonged the calm by another day", [("ceasefire_extension", 1)]),
        ("mediators hope to extend the current pause by a single day", [("ceasefire_extension", 1)]),
        # prisoners counted by where they are held
        ("in return for 90 women in Israeli custody", [("prisoners_released", 90)]),
        # a batch under a deal is no position (rule 8)
        ("the first 33 detainees were freed", []),
        # a pause of hours is no number of days
        ("a four-hour pause in fighting", []),
        # a daily count is the count only when the text gives no total
        ("Hamas would release 10 hostages a day", [("hostages_released", 10)]),
        ("Hamas would release 50 hostages. It would free 10 hostages a day.", [("hostages_released", 50)]),
    ],
)
def test_values_read_from_text(rules: Rules, text: str, expected: list[tuple[str, int | str]]) -> None:
    assert [(v.rule.seed.key, v.value) for v in rules.values(text)] == expected


def test_values_carry_offsets_into_the_text(rules: Rules) -> None:
    text = "Israel proposed a 60-day ceasefire."
    [value] = rules.values(text)
    assert text[value.key_start : value.key_end] == "60"
    assert value.start <= value.key_start < value.key_end <= value.end


def test_the_truce_an_extension_lengthens_is_marked_by_the_extension_words(rules: Rules) -> None:
    assert "extend" in rules.extending_words["ceasefire_duration"]
    assert "extended" in rules.extending_words["ceasefire_duration"]
    assert not rules.extending_words["ceasefire_extension"]
    assert {"deal", "agreement", "truce", "ceasefire"} <= rules.deal_topics


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("{num} (hostages", "is not a valid regex"),
        ("{count} hostages", "unknown fragment {count}"),
    ],
)
def test_a_bad_pattern_in_the_seeds_is_a_user_error(pattern: str, message: str) -> None:
    seed = IssueSeed(key="hostages", label="Hostages", value_type="count", patterns=[pattern])
    with pytest.raises(PatternError, match=message) as raised:
        Rules.build([seed])
    assert isinstance(raised.value, UserError)
    assert str(raised.value).startswith("issue hostages: ")


@pytest.fixture(scope="module")
def ukraine_rules() -> Rules:
    return Rules.build(load_negotiation(REPO / "seeds" / "negotiations" / "ukraine.yaml").issues)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a length makes a ceasefire_duration, and the same words are no ceasefire of no length too
        ("Russia and Ukraine agree a 3-day ceasefire", [("ceasefire_duration", 3, False)]),
        ("Putin proposes an Easter truce", [("ceasefire", "yes", False)]),
        # a ceasefire's talks or breaches are no ceasefire (rule 11)
        ("Russia and Ukraine trade accusations of ceasefire violations", []),
        # days_or_flag: days when a length is stated, else yes
        ("a 30-day halt to strikes on energy infrastructure", [("energy_truce", 30, False)]),
        ("a moratorium on strikes on energy facilities", [("energy_truce", "yes", False)]),
        # the issue's opposite (`against`), read once however the words overlap
        ("Ukraine drops its NATO membership bid", [("nato_membership", "yes", True)]),
        # a `flag` group marks a flag's own words: both issues of "give up on NATO and Crimea"
        (
            "Trump tells Ukraine to give up on NATO and Crimea",
            [("nato_membership", "yes", True), ("crimea_recognition", "yes", False)],
        ),
        ("a 1,000-for-1,000 prisoner swap", [("prisoner_exchange", 1000, False)]),
        ("an all-for-all prisoner exchange", [("prisoner_exchange", "all", False)]),
        ("an army capped at 600,000 troops", [("army_cap", 600000, False)]),
        # rule 13: threatened or imposed sanctions are no relief
        ("Trump threatens new sanctions on Russia", []),
        ("Trump set to ease oil-related sanctions", [("sanctions_relief", "yes", False)]),
    ],
)
def test_ukraine_values_read_from_text(
    ukraine_rules: Rules, text: str, expected: list[tuple[str, int | str, bool]]
) -> None:
    assert sorted((v.rule.seed.key, v.value, v.against) for v in ukraine_rules.values(text)) == sorted(
        expected
    )
