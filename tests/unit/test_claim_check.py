"""etl.ledger.additions' rule: an analyst's claim read as the codebook writes one (``check_claim``,
``normalise_value``), or refused with one line naming what is wrong, checked against the shipped seeds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from etl.errors import UserError
from etl.ledger.additions import BadClaim, ClaimText, IssueTerms, Vocabulary, check_claim, normalise_value
from etl.seeds import load_reference
from etl.settings import PROJECT_ROOT
from models.enums import Stance, ValueType

NOW = datetime(2025, 1, 10, 12, tzinfo=UTC)
REFERENCE = load_reference(PROJECT_ROOT / "seeds")
# what ``Vocabulary.read`` reads back after ``parley seed``, built here without a database
VOCABULARY = Vocabulary(
    issues={
        negotiation.key: {
            issue.key: IssueTerms(ValueType(issue.value_type), tuple(issue.choices))
            for issue in negotiation.issues
        }
        for negotiation in REFERENCE.negotiations
    },
    actors=frozenset(actor.id for actor in REFERENCE.actors),
)
WORDS = ClaimText(
    negotiation="gaza",
    actor="israel",
    issue="ceasefire_duration",
    value="60",
    stance="proposes",
    url="https://news.example.com/2025/01/truce",
    evidence="Israel proposed a 60-day ceasefire.",
)


def refusal(words: ClaimText, now: datetime = NOW) -> str:
    """The one line ``check_claim`` refuses ``words`` with."""
    with pytest.raises(BadClaim) as raised:
        check_claim(words, VOCABULARY, now)
    message = str(raised.value)
    assert message and "\n" not in message and "\r" not in message, message
    return message


def test_the_vocabulary_holds_the_issues_these_tests_use() -> None:
    """Every value type is exercised below through a shipped issue: a seed change that drops one fails
    here, not as a puzzling refusal further down."""
    used = {
        ("gaza", "ceasefire_duration"): ValueType.DAYS,
        ("ukraine", "energy_truce"): ValueType.DAYS_OR_FLAG,
        ("gaza", "aid_trucks_per_day"): ValueType.COUNT,
        ("gaza", "hostages_released"): ValueType.COUNT_OR_ALL,
        ("gaza", "exchange_ratio"): ValueType.NUMBER,
        ("gaza", "permanent_ceasefire"): ValueType.FLAG,
        ("gaza", "withdrawal"): ValueType.CHOICE,
        ("gaza", "release_categories"): ValueType.CATEGORIES,
    }
    assert {key: VOCABULARY.issues[key[0]][key[1]].value_type for key in used} == used
    assert set(used.values()) == set(ValueType)
    assert {"israel", "hamas", "russia", "ukraine"} <= VOCABULARY.actors


# --- a claim the codebook can hold -------------------------------------------------------------


def test_a_well_formed_claim_is_read_as_the_codebook_writes_it() -> None:
    published = datetime(2025, 1, 9, 6, tzinfo=UTC)
    checked = check_claim(replace(WORDS, published_at=published), VOCABULARY, NOW)
    assert (checked.negotiation, checked.actor, checked.issue) == ("gaza", "israel", "ceasefire_duration")
    assert (checked.value, checked.value_number, checked.stance) == ("60", 60.0, Stance.PROPOSES)
    assert checked.url == WORDS.url
    assert checked.evidence == WORDS.evidence
    assert checked.published_at == published


def test_whitespace_around_every_field_and_the_stance_in_capitals_are_read_through() -> None:
    words = ClaimText(
        negotiation="  gaza ",
        actor=" hamas\t",
        issue=" release_categories ",
        value="  Women , CHILDREN ",
        stance="  Accepts ",
        url="  https://news.example.com/a \n",
        evidence="  Hamas accepted\n the release of\n\n women and children.  ",
    )
    checked = check_claim(words, VOCABULARY, NOW)
    assert (checked.negotiation, checked.actor, checked.issue) == ("gaza", "hamas", "release_categories")
    assert (checked.value, checked.value_number) == ("children,women", None)
    assert checked.stance == Stance.ACCEPTS
    assert checked.url == "https://news.example.com/a"
    assert checked.evidence == "Hamas accepted the release of women and children."
    assert checked.published_at is None


@pytest.mark.parametrize(
    ("negotiation", "issue", "raw", "expected"),
    [
        ("gaza", "ceasefire_duration", "60", ("60", 60.0)),
        ("gaza", "ceasefire_duration", " 7 ", ("7", 7.0)),
        ("ukraine", "energy_truce", "yes", ("yes", None)),
        ("ukraine", "energy_truce", "30", ("30", 30.0)),
        ("gaza", "aid_trucks_per_day", "200", ("200", 200.0)),
        ("gaza", "hostages_released", "all", ("all", None)),
        ("gaza", "hostages_released", "ALL", ("all", None)),
        ("gaza", "hostages_released", "50", ("50", 50.0)),
        ("gaza", "exchange_ratio", "3.5", ("3.5", 3.5)),
        ("gaza", "exchange_ratio", "3", ("3", 3.0)),
        ("gaza", "exchange_ratio", "3.0", ("3", 3.0)),
        ("gaza", "permanent_ceasefire", "yes", ("yes", None)),
        ("gaza", "permanent_ceasefire", " YES ", ("yes", None)),
        ("gaza", "withdrawal", "full", ("full", None)),
        ("gaza", "withdrawal", "Partial", ("partial", None)),
        ("gaza", "release_categories", "women, children", ("children,women", None)),
        ("gaza", "release_categories", "women,children,women", ("children,women", None)),
        ("gaza", "release_categories", "sick", ("sick", None)),
    ],
)
def test_each_value_type_is_written_as_the_codebook_writes_it(
    negotiation: str, issue: str, raw: str, expected: tuple[str, float | None]
) -> None:
    assert normalise_value(VOCABULARY.issues[negotiation][issue], raw, issue) == expected


def test_a_checked_claim_carries_the_normalised_value() -> None:
    checked = check_claim(
        replace(WORDS, issue="release_categories", value="Women, children, women"), VOCABULARY, NOW
    )
    assert (checked.value, checked.value_number) == ("children,women", None)


# --- values an issue does not take -------------------------------------------------------------


@pytest.mark.parametrize(
    ("negotiation", "issue", "raw", "message"),
    [
        ("gaza", "ceasefire_duration", "yes", "ceasefire_duration takes a number of days (a whole number"),
        ("gaza", "ceasefire_duration", "0", "a whole number from 1"),
        ("gaza", "ceasefire_duration", "060", "not '060'"),
        ("gaza", "ceasefire_duration", "4.5", "not '4.5'"),
        ("gaza", "ceasefire_duration", "sixty", "not 'sixty'"),
        ("ukraine", "energy_truce", "no", "a number of days (a whole number from 1) or yes, not 'no'"),
        ("gaza", "aid_trucks_per_day", "all", "aid_trucks_per_day takes a count (a whole number from 1),"),
        ("gaza", "hostages_released", "some", "takes a count (a whole number from 1) or all, not 'some'"),
        ("gaza", "exchange_ratio", "-1", "exchange_ratio takes a number, not '-1'"),
        ("gaza", "exchange_ratio", "1e3", "takes a number, not '1e3'"),
        ("gaza", "exchange_ratio", "3.", "takes a number, not '3.'"),
        ("gaza", "withdrawal", "total", "withdrawal takes one of full, partial, not 'total'"),
        ("gaza", "withdrawal", "full, partial", "takes one of full, partial, not"),
        ("gaza", "release_categories", "women, pets", "(several: comma-separated), not 'women, pets'"),
        ("gaza", "release_categories", "women,,children", "takes one of children, civilians, elderly,"),
        ("gaza", "release_categories", "", "release_categories takes one of"),
    ],
)
def test_a_value_the_issue_does_not_take_is_refused_naming_the_issue_and_what_it_takes(
    negotiation: str, issue: str, raw: str, message: str
) -> None:
    with pytest.raises(BadClaim) as raised:
        normalise_value(VOCABULARY.issues[negotiation][issue], raw, issue)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("raw", ["no", "No", "false", ""])
def test_a_flag_takes_only_yes_and_a_refusal_points_to_the_rejects_stance(raw: str) -> None:
    """A flag's "no" is not a value: it is the stance ``rejects`` of the value yes."""
    terms = VOCABULARY.issues["gaza"]["permanent_ceasefire"]
    with pytest.raises(BadClaim) as raised:
        normalise_value(terms, raw, "permanent_ceasefire")
    assert str(raised.value) == (
        f"permanent_ceasefire takes the value yes (a rejection is --stance rejects), not {raw!r}"
    )


def test_a_value_refused_in_a_claim_is_one_line_even_when_typed_over_several() -> None:
    message = refusal(replace(WORDS, value="60\ndays"))
    assert message == "ceasefire_duration takes a number of days (a whole number from 1), not '60\\ndays'"


def test_a_hand_built_issue_type_is_read_by_its_terms_alone() -> None:
    """``normalise_value`` needs only the issue's terms: the choices given, not the shipped seeds."""
    terms = IssueTerms(ValueType.CATEGORIES, ("north", "south"))
    assert normalise_value(terms, "South,north", "zones") == ("north,south", None)
    with pytest.raises(BadClaim, match=r"^zones takes one of north, south \(several: comma-separated\)"):
        normalise_value(terms, "east", "zones")


# --- what the claim names ----------------------------------------------------------------------


def test_an_unknown_negotiation_is_refused_listing_the_known_ones() -> None:
    message = refusal(replace(WORDS, negotiation="gaza_talks"))
    assert message == "unknown negotiation 'gaza_talks'; known: gaza, ukraine"


def test_an_unknown_actor_is_refused_with_examples_of_actor_ids() -> None:
    message = refusal(replace(WORDS, actor="Israel"))
    assert message.startswith("unknown actor 'Israel': an actor id of seeds/actors.yaml, e.g. ")
    examples = message.split("e.g. ", 1)[1]
    shown = sorted(VOCABULARY.actors)[:6]
    assert examples.startswith(", ".join(shown))
    assert f"({len(VOCABULARY.actors) - 6} more)" in examples


def test_an_issue_of_another_negotiation_is_refused_listing_this_ones_issues() -> None:
    message = refusal(replace(WORDS, negotiation="ukraine", issue="hostages_released"))
    assert message.startswith("ukraine has no issue 'hostages_released'; its issues: ")
    listed = message.split("its issues: ", 1)[1].split(", ")
    assert listed == sorted(VOCABULARY.issues["ukraine"])


def test_an_unknown_stance_is_refused_listing_the_four() -> None:
    message = refusal(replace(WORDS, stance="offers"))
    assert message == "unknown stance 'offers'; one of accepts, demands, proposes, rejects"


def test_the_first_fault_is_the_one_named() -> None:
    """Negotiation, actor, issue, stance, value, evidence, URL: the order a reader checks them in."""
    bad = ClaimText("nowhere", "nobody", "nothing", "x", "maybe", "ftp://x", "")
    assert refusal(bad).startswith("unknown negotiation 'nowhere'")
    assert refusal(replace(bad, negotiation="gaza")).startswith("unknown actor 'nobody'")
    assert refusal(replace(bad, negotiation="gaza", actor="israel")).startswith("gaza has no issue 'nothing'")
    assert refusal(replace(WORDS, value="x", stance="maybe", evidence="")).startswith("unknown stance")
    assert refusal(replace(WORDS, value="x", evidence="", url="ftp://x")).startswith("ceasefire_duration")
    assert refusal(replace(WORDS, evidence="", url="ftp://x")).startswith("an added claim needs its evidence")


# --- evidence, source URL and time -------------------------------------------------------------


@pytest.mark.parametrize("evidence", ["", "   ", "\n\t \r\n"])
def test_a_claim_without_evidence_is_refused(evidence: str) -> None:
    message = refusal(replace(WORDS, evidence=evidence))
    assert message == ("an added claim needs its evidence: the source's sentence that states it (--evidence)")


def test_evidence_over_several_lines_is_made_one_line() -> None:
    checked = check_claim(
        replace(WORDS, evidence="Israel proposed\r\na 60-day\n\n\tceasefire."), VOCABULARY, NOW
    )
    assert checked.evidence == "Israel proposed a 60-day ceasefire."


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://news.example.com/a", "source URL: only http and https URLs are fetched, not "),
        ("news.example.com/a", "source URL: only http and https URLs are fetched, not "),
        ("http://", "source URL: URL has no host: 'http://'"),
        ("https:///a", "source URL: URL has no host: "),
        ("https://news.example.com/a\x1b[2Jb", "source URL: URL contains control character '\\x1b': "),
        ("https://news.example.com/a\nb", "source URL: URL contains control character '\\n': "),
        ("https://news.example.com/\u202eb", "source URL: URL contains control character '\\u202e': "),
        ("https://news.example.com:0/a", "source URL: bad port in URL: "),
    ],
)
def test_a_bad_source_url_is_refused_in_one_line(url: str, message: str) -> None:
    assert refusal(replace(WORDS, url=url)).startswith(message)


def test_a_refused_source_url_does_not_show_its_password() -> None:
    message = refusal(replace(WORDS, url="ftp://ana:hunter2@news.example.com/a"))
    assert "hunter2" not in message and message.startswith("source URL: only http and https")


def test_a_published_time_without_a_time_zone_is_refused() -> None:
    message = refusal(replace(WORDS, published_at=datetime(2025, 1, 9, 6)))
    assert message == "--published-at needs a time zone, e.g. 2023-11-22T06:00:00Z"


def test_a_published_time_in_the_future_is_refused() -> None:
    ahead = NOW + timedelta(minutes=5, seconds=1)
    message = refusal(replace(WORDS, published_at=ahead))
    assert message == "--published-at 2025-01-10T12:05:01+00:00 is in the future"
    tomorrow = datetime(2025, 1, 11, 9, tzinfo=timezone(timedelta(hours=-5)))
    assert refusal(replace(WORDS, published_at=tomorrow)) == (
        "--published-at 2025-01-11T09:00:00-05:00 is in the future"
    )


@pytest.mark.parametrize("ahead", [timedelta(0), timedelta(minutes=4, seconds=59), timedelta(minutes=5)])
def test_a_published_time_within_five_minutes_of_the_clock_is_accepted(ahead: timedelta) -> None:
    """Clocks disagree and time zones are typed by hand: a few minutes ahead is not the future."""
    published = NOW + ahead
    assert check_claim(replace(WORDS, published_at=published), VOCABULARY, NOW).published_at == published


def test_a_published_time_in_another_zone_is_compared_as_the_same_instant() -> None:
    tel_aviv = timezone(timedelta(hours=2))
    # 14:03 at UTC+2 is 12:03 UTC: within the skew, though its wall clock reads two hours ahead
    published = datetime(2025, 1, 10, 14, 3, tzinfo=tel_aviv)
    assert check_claim(replace(WORDS, published_at=published), VOCABULARY, NOW).published_at == published


# --- every refusal is a user's error -----------------------------------------------------------


def test_a_bad_claim_is_a_user_error_the_cli_prints_as_one_line() -> None:
    assert issubclass(BadClaim, UserError)
    with pytest.raises(UserError):
        check_claim(replace(WORDS, stance=""), VOCABULARY, NOW)
