"""Which negotiation a claim belongs to (codebook v2): the sentence's parties, places and subject,
else its article's; a text about a conflict no seed file defines gives no claim. Real spaCy, the
shipped seeds (the session ``extractor`` fixture)."""

from __future__ import annotations

import pytest

from etl.extract.engine import ArticleResult, Extractor

Quint = tuple[str, str, str, int | float | str, str]


def quints(result: ArticleResult) -> set[Quint]:
    return {(c.negotiation, c.actor, c.issue, c.value, c.stance) for c in result.claims}


@pytest.mark.parametrize(
    "title",
    [
        "Trump says Lebanon and Israel agree to extend Israel-Hezbollah ceasefire by 3 weeks",
        "Israel-Lebanon ceasefire extended by three weeks, Trump says",
    ],
)
def test_a_conflict_no_seed_defines_gives_no_claim(extractor: Extractor, title: str) -> None:
    result = extractor.extract(title, "")
    assert result.error is None
    assert result.claims == []


@pytest.mark.parametrize(
    "title",
    [
        "Russia calls for a ceasefire in Sudan",
        "Kremlin welcomes the US-Iran ceasefire",
        "Putin offers to mediate a ceasefire between Iran and Israel",
    ],
)
def test_a_party_speaking_of_another_conflict_gives_no_claim(extractor: Extractor, title: str) -> None:
    assert extractor.extract(title, "").claims == []


def test_a_value_goes_by_the_place_its_own_words_name(extractor: Extractor) -> None:
    result = extractor.extract("Trump proposes a 60-day Gaza truce and a 30-day Ukraine ceasefire", "")
    assert quints(result) == {
        ("gaza", "united_states", "ceasefire_duration", 60, "proposes"),
        ("ukraine", "united_states", "ceasefire_duration", 30, "proposes"),
    }


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "Trump proposes a 30-day ceasefire between Russia and Ukraine",
            {("ukraine", "united_states", "ceasefire_duration", 30, "proposes")},
        ),
        (
            "Witkoff presents a 60-day Gaza truce plan",
            {("gaza", "united_states", "ceasefire_duration", 60, "proposes")},
        ),
    ],
)
def test_the_codebook_examples_go_to_their_negotiations(
    extractor: Extractor, title: str, expected: set[Quint]
) -> None:
    assert quints(extractor.extract(title, "")) == expected


def test_an_alias_scoped_to_ukraine_names_its_actor_only_in_a_ukraine_sentence(extractor: Extractor) -> None:
    ukraine = extractor.extract("Kellogg proposes a 30-day ceasefire between Russia and Ukraine", "")
    assert quints(ukraine) == {("ukraine", "united_states", "ceasefire_duration", 30, "proposes")}
    assert [(m.actor, m.text) for m in ukraine.mentions if m.text == "Kellogg"] == [
        ("united_states", "Kellogg")
    ]

    gaza = extractor.extract("Kellogg proposes a 60-day Gaza truce", "")
    assert gaza.claims == []
    assert all(m.text != "Kellogg" for m in gaza.mentions)


def test_one_article_about_both_negotiations_gives_a_claim_in_each(extractor: Extractor) -> None:
    result = extractor.extract(
        "A busy week for US envoys",
        "The United States proposed a 30-day ceasefire between Russia and Ukraine on Monday. "
        "On Tuesday the United States proposed a 60-day truce in Gaza to Hamas.",
    )
    assert quints(result) == {
        ("ukraine", "united_states", "ceasefire_duration", 30, "proposes"),
        ("gaza", "united_states", "ceasefire_duration", 60, "proposes"),
    }


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        # the issue's opposite ("drop its NATO bid"), taken by Ukraine, rejects the issue
        ("Ukraine drops its NATO bid", {("ukraine", "ukraine", "nato_membership", "yes", "rejects")}),
        (
            "Zelensky offers to drop Ukraine's NATO bid",
            {("ukraine", "ukraine", "nato_membership", "yes", "rejects")},
        ),
        # demanding that Ukraine renounce NATO rejects its membership
        (
            "Putin demands that Ukraine renounce NATO membership",
            {("ukraine", "russia", "nato_membership", "yes", "rejects")},
        ),
    ],
)
def test_the_opposite_of_an_issue_is_a_rejection(
    extractor: Extractor, title: str, expected: set[Quint]
) -> None:
    assert quints(extractor.extract(title, "")) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        # rule 11: talks or a plan without a term of the table give no claim
        ("Zelensky to meet Trump on peace plan", set()),
        # rule 12: a deadline is not a term; the one who gives it demands the ceasefire
        (
            "Trump gives Russia 10 days to agree a ceasefire",
            {("ukraine", "united_states", "ceasefire", "yes", "demands")},
        ),
        # rule 13: threatened or imposed sanctions are no relief
        ("Trump threatens Russia with new sanctions over Ukraine", set()),
        # a length stated makes it a ceasefire_duration, not also a ceasefire of no length
        (
            "Russia and Ukraine agree a 3-day ceasefire",
            {
                ("ukraine", "russia", "ceasefire_duration", 3, "accepts"),
                ("ukraine", "ukraine", "ceasefire_duration", 3, "accepts"),
            },
        ),
        # rule 6 with the issue's own verb, and a demand of whoever says what Ukraine must do
        (
            "Zelensky says Ukraine will not cede land to Russia",
            {("ukraine", "ukraine", "territorial_concessions", "yes", "rejects")},
        ),
        (
            "Trump says Ukraine must cede land to Russia",
            {("ukraine", "united_states", "territorial_concessions", "yes", "demands")},
        ),
        # guarantees worked out in other words, and protections named after NATO's
        (
            "Britain and France draw up security guarantees for Ukraine",
            {
                ("ukraine", "united_kingdom", "security_guarantees", "yes", "proposes"),
                ("ukraine", "france", "security_guarantees", "yes", "proposes"),
            },
        ),
        (
            "Kyiv demands NATO-style protections against a new Russian offensive",
            {("ukraine", "ukraine", "security_guarantees", "yes", "demands")},
        ),
        # a meeting proposed to the other leader, named before it
        (
            "Zelensky in a letter to Putin proposes a face-to-face meeting",
            {("ukraine", "ukraine", "leaders_meeting", "yes", "proposes")},
        ),
        (
            "After a letter to Putin, Zelensky asks for a meeting",
            {("ukraine", "ukraine", "leaders_meeting", "yes", "demands")},
        ),
        # a headline's cue with the actors joined before it: each of them
        (
            "US and Russia Propose Truce For Black Sea",
            {
                ("ukraine", "united_states", "ceasefire", "yes", "proposes"),
                ("ukraine", "russia", "ceasefire", "yes", "proposes"),
            },
        ),
        # a demand kept up ("doubles down on"): the one who keeps it demands
        (
            "Russia doubles down on its demands for Ukrainian land",
            {("ukraine", "russia", "territorial_concessions", "yes", "demands")},
        ),
        # a pronoun of a clause hung off the main verb is its subject; eyeing a measure proposes it
        (
            "The EU pledges more money for Kyiv as it eyes frozen Russian assets",
            {("ukraine", "european_union", "frozen_assets", "yes", "proposes")},
        ),
        # a clause under a proposal keeps its own "not": an assurance of what will not be done
        (
            "Macron offers assurance France won't send combat troops to Ukraine",
            {("ukraine", "france", "foreign_troops", "yes", "rejects")},
        ),
        # "not bound by" a truce: a rejection, whose "by" is the cue's word, not an agent
        (
            "Kyiv declares it is not bound by Russia's Easter truce",
            {
                ("ukraine", "ukraine", "ceasefire", "yes", "rejects"),
                ("ukraine", "russia", "ceasefire", "yes", "proposes"),
            },
        ),
        # a third party's possessive names what it offers; a party's, what it is given
        (
            "Kyiv welcomes Macron's security guarantees",
            {
                ("ukraine", "ukraine", "security_guarantees", "yes", "accepts"),
                ("ukraine", "france", "security_guarantees", "yes", "proposes"),
            },
        ),
        ("Analysts weigh Ukraine's security guarantees", set()),
        # a Title Case headline's pronoun is its first actor
        (
            "Trump Tells Allies He Intends to Meet With Putin and Zelensky",
            {("ukraine", "united_states", "leaders_meeting", "yes", "proposes")},
        ),
        # an idiom of acceptance
        (
            "Kyiv leaves the door open for a Christmas truce",
            {("ukraine", "ukraine", "ceasefire", "yes", "accepts")},
        ),
        # condemning is rejecting (an explicit verb of opposition)
        (
            "Zelensky condemns the lifting of sanctions on Russia",
            {("ukraine", "ukraine", "sanctions_relief", "yes", "rejects")},
        ),
    ],
)
def test_ukraine_rules_of_the_codebook(extractor: Extractor, title: str, expected: set[Quint]) -> None:
    assert quints(extractor.extract(title, "")) == expected
