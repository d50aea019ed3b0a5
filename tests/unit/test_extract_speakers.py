"""Who holds the floor (codebook rule 14), on transcripts and statements written for these tests: a
reporter's question states nothing, an administration speaker's "we" is their government's, a
statement's "we" is its issuer's, and a news article's quoted "we" stays the quoted speaker's."""

from __future__ import annotations

import pytest

from etl.extract.engine import LONG_TEXT, ArticleResult, Extractor
from etl.extract.speakers import Speakers
from etl.seeds import load_reference
from tests.conftest import REPO

Quad = tuple[str, str, int | str, str]

BRIEFING = "Press Briefing by Press Secretary Jane Doe and NSC Coordinator John Kirby"


def quads(result: ArticleResult) -> set[Quad]:
    return {(c.actor, c.issue, c.value, c.stance) for c in result.claims}


@pytest.fixture(scope="module")
def speakers() -> Speakers:
    return Speakers(load_reference(REPO / "seeds").actors)


def test_question_turn_gives_no_claim(extractor: Extractor) -> None:
    text = (
        "MS. DOE: Good afternoon.\n\n"
        "Q Is Hamas demanding a permanent ceasefire and the release of all Palestinian prisoners?\n\n"
        "MS. DOE: I'll let John speak to that."
    )
    assert quads(extractor.extract(BRIEFING, text)) == set()


def test_we_in_the_presidents_turn_is_the_united_states(extractor: Extractor) -> None:
    text = (
        "THE PRESIDENT: We want an immediate ceasefire for six weeks.\n\n"
        "Q Mr. President, will Israel agree to a permanent ceasefire?\n\n"
        "THE PRESIDENT: I'm calling for the release of all hostages."
    )
    assert quads(extractor.extract("Remarks by the President before Marine One Departure", text)) == {
        ("united_states", "ceasefire_duration", 42, "demands"),
        ("united_states", "hostages_released", "all", "demands"),
    }


def test_press_secretary_named_by_the_title_speaks_for_the_united_states(extractor: Extractor) -> None:
    text = (
        "MS. DOE: Good afternoon, everyone.\n\n"
        "Q Thank you.\n\n"
        "MS. DOE: We are working to secure the release of all the hostages."
    )
    assert quads(extractor.extract(BRIEFING, text)) == {
        ("united_states", "hostages_released", "all", "demands")
    }


def test_a_third_party_in_a_turn_keeps_its_own_position(extractor: Extractor) -> None:
    text = (
        "MR. KIRBY: Good afternoon.\n\n"
        "Q What did Israel say?\n\n"
        "MR. KIRBY: Israel has agreed to a six-week ceasefire in Gaza, and the President wants it done."
    )
    assert quads(extractor.extract(BRIEFING, text)) == {("israel", "ceasefire_duration", 42, "accepts")}


def test_statements_we_is_its_issuers(extractor: Extractor) -> None:
    text = "Today we demand the release of all hostages held by Hamas. We support a six-week ceasefire."
    assert quads(extractor.extract("Statement from President Joe Biden on the Hostages in Gaza", text)) == {
        ("united_states", "hostages_released", "all", "demands"),
        ("united_states", "ceasefire_duration", 42, "accepts"),
    }


def test_news_articles_quoted_we_is_not_the_united_states(extractor: Extractor) -> None:
    text = (
        'Netanyahu said: "We will not agree to a permanent ceasefire in Gaza." Talks in Doha went on, '
        "and the White House said it was hopeful. Officials said we would know more on Sunday about a "
        "six-week truce."
    )
    assert quads(extractor.extract("Israel rejects a permanent ceasefire", text)) == {
        ("israel", "permanent_ceasefire", "yes", "rejects")
    }


def test_a_label_far_before_the_sentence_still_holds_in_a_long_text(extractor: Extractor) -> None:
    filler = "We talked about the weather and the economy, and markets were steady on Tuesday. " * 80
    text = f"THE PRESIDENT: {filler}\n\nWe want an immediate ceasefire in Gaza for six weeks.\n\nQ Thanks."
    assert len(text) > LONG_TEXT
    assert quads(extractor.extract("Remarks by the President", text)) == {
        ("united_states", "ceasefire_duration", 42, "demands")
    }


@pytest.mark.parametrize(
    ("label", "title", "actors", "question"),
    [
        ("Q", BRIEFING, (), True),
        ("AUDIENCE MEMBER", BRIEFING, (), True),
        ("THE PRESIDENT", BRIEFING, ("united_states",), False),
        ("MR. KIRBY", BRIEFING, ("united_states",), False),
        ("MS. DOE", BRIEFING, ("united_states",), False),
        ("PRESIDENT ZELENSKYY", "Remarks by President Trump and President Zelenskyy", ("ukraine",), False),
        (
            "PRIME MINISTER SMITH",
            "Remarks by President Biden and Prime Minister Smith of Ruritania",
            (),
            False,
        ),
        ("MR. ANCHOR", "Interview of the President by Tom Anchor", (), False),
    ],
)
def test_speaker_labels_speak_for_the_actor_the_seeds_or_the_title_give(
    speakers: Speakers, label: str, title: str, actors: tuple[str, ...], question: bool
) -> None:
    text = f"{title}\n\n{label}: Hello.\n\nMR. NOBODY: Hi."
    turn = speakers.read(text, title).turns[0]
    assert (turn.actors, turn.question) == (actors, question)


@pytest.mark.parametrize(
    ("title", "voice"),
    [
        ("Statement from President Joe Biden on the Release of Hostages", ("united_states",)),
        ("Readout of National Security Advisor Jake Sullivan’s Meeting with Qatar", ("united_states",)),
        ("Statement from the Press Secretary on Gaza", ("united_states",)),
        ("Joint Statement from the United States and Qatar", ()),
        ("Hamas says it will free all hostages", ()),
        (
            "Remarks by President Biden Before the Annual Session of the United Nations",
            ("united_states",),
        ),
    ],
)
def test_a_statements_voice_is_the_issuer_its_title_names(
    speakers: Speakers, title: str, voice: tuple[str, ...]
) -> None:
    assert speakers.read(f"{title}\n\nWe support it.", title).voice == voice


def test_a_sentence_without_markers_goes_by_its_question(extractor: Extractor) -> None:
    text = (
        "MR. KIRBY: Good afternoon. We are working on the hostages in Gaza, Hamas, Rafah and the "
        "Palestinians in Gaza.\n\n"
        "Q On Lebanon: will Hezbollah and Beirut take the offer?\n\n"
        "MR. KIRBY: We want to see a 21-day ceasefire.\n\n"
        "Q And on the Russians and Ukraine?\n\n"
        "MR. KIRBY: We want an immediate ceasefire."
    )
    claims = extractor.extract(BRIEFING, text).claims
    assert {(c.negotiation, c.actor, c.issue, c.value, c.stance) for c in claims} == {
        ("ukraine", "united_states", "ceasefire", "yes", "demands")
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "MR. KIRBY: Good afternoon.\n\nQ Israel and Hamas agreed to a deal in Gaza today?\n\n"
            "MR. KIRBY: Hamas is to free 50 hostages.",
            set(),
        ),
        (
            "MR. KIRBY: Israel and Hamas agreed to a deal in Gaza today. Hamas is to free 50 hostages.\n\n"
            "Q Thanks.",
            {("hamas", "hostages_released", 50, "accepts"), ("israel", "hostages_released", 50, "accepts")},
        ),
    ],
)
def test_a_deal_binds_its_terms_only_in_the_turn_that_says_it_was_agreed(
    extractor: Extractor, text: str, expected: set[Quad]
) -> None:
    assert quads(extractor.extract(BRIEFING, text)) == expected


def test_this_deal_in_a_briefing_is_not_taken_as_agreed(extractor: Extractor) -> None:
    text = (
        "SENIOR ADMINISTRATION OFFICIAL: Israel and Hamas are still talking. It is our hope that this "
        "deal would lead to a permanent ceasefire in Gaza.\n\nQ Thanks.\n\n"
        "SENIOR ADMINISTRATION OFFICIAL: Sure."
    )
    assert quads(extractor.extract("Background Press Call by Senior Administration Officials", text)) == set()


def test_a_time_is_not_what_was_agreed(extractor: Extractor) -> None:
    text = (
        "MR. KIRBY: We had reached 200 aid trucks a day during the pause in Gaza, and Israel helped.\n\n"
        "Q Thanks.\n\nMR. KIRBY: Sure."
    )
    assert quads(extractor.extract(BRIEFING, text)) == set()


def test_a_follow_up_question_goes_by_the_exchange_before_it(extractor: Extractor) -> None:
    text = (
        "MR. KIRBY: Good afternoon. We are working on the hostages in Gaza, Hamas, Rafah and the "
        "Palestinians in Gaza.\n\n"
        "Q On Lebanon: will Hezbollah and Beirut take the offer?\n\n"
        "MR. KIRBY: We are talking to them.\n\n"
        "Q But what would an all-out war look like?\n\n"
        "MR. KIRBY: We want to see a 21-day ceasefire."
    )
    assert quads(extractor.extract(BRIEFING, text)) == set()


def test_a_deal_reached_by_a_mediator_binds_the_parties(extractor: Extractor) -> None:
    text = (
        "THE PRESIDENT: Israel and Hamas have been talking for weeks. Beginning this morning, under a deal "
        "reached by extensive U.S. diplomacy, fighting in Gaza will halt for four days.\n\nQ Thank you.\n\n"
        "THE PRESIDENT: Thank you."
    )
    assert quads(extractor.extract("Remarks by President Biden on the Hostage Deal", text)) == {
        ("hamas", "ceasefire_duration", 4, "accepts"),
        ("israel", "ceasefire_duration", 4, "accepts"),
    }


def test_my_administration_in_a_statement_is_its_issuer(extractor: Extractor) -> None:
    text = "My Administration is doing everything we can to end the war in Gaza and free all hostages."
    assert quads(extractor.extract("Statement from President Joe Biden on the Holiday", text)) == {
        ("united_states", "permanent_ceasefire", "yes", "demands"),
        ("united_states", "hostages_released", "all", "demands"),
    }


def test_a_question_an_official_asks_gives_no_claim(extractor: Extractor) -> None:
    text = (
        "MR. KIRBY: Do we still want a six-week ceasefire in Gaza? We want all the hostages released.\n\n"
        "Q Thanks.\n\nMR. KIRBY: Sure."
    )
    expected = {("united_states", "hostages_released", "all", "demands")}
    assert quads(extractor.extract(BRIEFING, text)) == expected


@pytest.mark.parametrize(
    ("title", "voice"),
    [
        ("Hamas: we demand a five-day truce", ("hamas",)),
        ("Zelensky to Putin: we are ready for a 30-day ceasefire", ("ukraine",)),
        ("Netanyahu: 'Israel will never agree to a permanent ceasefire'", ("israel",)),
        ("Ukraine: The Latest - Russia demands a ceasefire", ()),  # a label, in no one's voice
        ("War in Ukraine: we must stop the war", ()),  # more than a name before the colon
        ("Gaza: we demand a five-day truce", ()),  # no actor
        ("Hamas, Israel: we agree", ()),  # more than one
    ],
)
def test_a_title_names_its_speaker_before_a_colon_when_it_speaks_in_its_own_voice(
    speakers: Speakers, title: str, voice: tuple[str, ...]
) -> None:
    floor = speakers.read(f"{title}\n\nWe support it.", title)
    assert floor.title_voice == voice
    assert floor.voice_at(0) == list(voice)
    assert floor.voice_at(len(title) + 3) == []  # the title's speaker does not speak in the text


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Hamas: we demand a five-day truce", {("hamas", "ceasefire_duration", 5, "demands")}),
        (
            "Zelensky to Putin: we are ready for a 30-day ceasefire",
            {("ukraine", "ceasefire_duration", 30, "accepts")},
        ),
        ("Gaza: we demand a five-day truce", set()),
    ],
)
def test_we_in_a_title_after_its_speakers_name_is_that_speaker(
    extractor: Extractor, title: str, expected: set[Quad]
) -> None:
    assert quads(extractor.extract(title, "")) == expected


ROUNDUP = (
    "Leaders around the world welcomed the plan to end the war in Gaza.\n\n"
    "[French President Emmanuel\nMacron](https://x.example/status/1): “I welcome the commitment. "
    "Hostilities must end, and all hostages must be released immediately.”\n\n"
    "[Former U.S. Ambassador to Israel Jack\nLew](https://x.example/status/2): “All hostages must be "
    "released now.”\n\n"
    "[Atlantic Council Fellow Frederick Kempe](https://x.example/status/3): “Hostilities must end.”\n\n"
    "[Italian Prime Minister Giorgia Meloni](https://x.example/status/5): “President Trump’s plan "
    "includes the release of all the hostages.”\n\n"
    "The war must end, said an analyst."
)


def test_a_quotation_opened_by_its_speakers_name_is_that_speakers(speakers: Speakers) -> None:
    title = "Global Support for the Plan"
    text = f"{title}\n\n{ROUNDUP}"
    floor = speakers.read(text, title)
    # the former envoy and the think tank's head speak for no one: their quotations are unplaced
    assert [actors for _, _, actors in floor.quotes] == [("france",), (), ()]
    start, end, _ = floor.quotes[0]
    assert text[start:end].startswith("I welcome") and text[start:end].endswith("immediately.")
    assert floor.voice_at(text.index("Hostilities")) == ["france"]
    assert not floor.unplaced(text.index("Hostilities"))
    assert floor.voice_at(text.index("All hostages")) == []
    assert floor.unplaced(text.index("All hostages"))
    assert floor.voice_at(text.index("The war must end")) == []
    assert not floor.unplaced(text.index("The war must end"))
    assert floor.unplaced(text.index("Hostilities must end.”"))  # the think tank's head


def test_a_former_officers_quoted_report_of_a_position_is_no_claim(extractor: Extractor) -> None:
    text = (
        "Leaders welcomed the summit.\n\n"
        "[Gen. Jack Keane (ret.)](https://x.example/status/4): “Putin agreeing to security guarantees "
        "for Ukraine was a huge breakthrough.”\n\n"
        "Putin agreed to security guarantees for Ukraine, the Kremlin said."
    )
    assert quads(extractor.extract("The Summit Hailed", text)) == {
        ("russia", "security_guarantees", "yes", "accepts")  # the Kremlin's own word, not the general's
    }
    quoted_only = text.rsplit("\n\n", 1)[0]
    assert quads(extractor.extract("The Summit Hailed", quoted_only)) == set()


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("I think he wants to stop fighting in Ukraine.", set()),  # a guess at another's wish
        ("I think Putin wants to stop fighting in Ukraine.", set()),
        ("I think we need a ceasefire in Ukraine now.", {("united_states", "ceasefire", "yes", "demands")}),
    ],
)
def test_a_speakers_guess_at_anothers_wish_is_no_claim(
    extractor: Extractor, said: str, expected: set[Quad]
) -> None:
    text = (
        f"THE PRESIDENT: Thank you. {said}\n\nQ Mr. President, will Putin agree?\n\nTHE PRESIDENT: We'll see."
    )
    assert quads(extractor.extract("Remarks by President Trump on Ukraine", text)) == expected


def test_a_speakers_guess_at_a_fact_still_reports_it(extractor: Extractor) -> None:
    text = (
        "MS. DOE: Good afternoon. Talks between Israel and Hamas went on in Doha. I think the good news "
        "from today is that the pause in Gaza has been extended for a further two days.\n\nQ Thank you."
        "\n\nMS. DOE: Thanks."
    )
    assert quads(extractor.extract(BRIEFING, text)) == {
        ("israel", "ceasefire_extension", 2, "accepts"),
        ("hamas", "ceasefire_extension", 2, "accepts"),
    }


def test_they_after_a_speech_verb_is_who_says_it(extractor: Extractor) -> None:
    result = extractor.extract(
        "Hamas says it wants a truce", "Hamas said they want a five-day truce in Gaza."
    )
    assert quads(result) == {("hamas", "ceasefire_duration", 5, "demands")}


def test_what_a_quoted_speaker_says_must_happen_is_their_demand(extractor: Extractor) -> None:
    assert quads(extractor.extract("Global Support for the Plan", ROUNDUP)) == {
        ("france", "permanent_ceasefire", "yes", "demands"),
        ("france", "hostages_released", "all", "demands"),
        # reported by a government that is no actor: a third party we can place (rule 5)
        ("united_states", "hostages_released", "all", "proposes"),
    }


@pytest.mark.parametrize(
    "said",
    [
        "And we really have to stop that war.",  # the value's own verb, had to be done
        "I want that bloodshed in Ukraine to stop.",
        "Well, we'd like to see a ceasefire from Russia.",
    ],
)
def test_a_presidents_call_to_stop_the_war_is_a_ceasefire_demand(extractor: Extractor, said: str) -> None:
    text = (
        f"THE PRESIDENT: Thank you. Russia and Ukraine have been at war for three years. {said}\n\n"
        "Q Mr. President, will Putin agree?\n\nTHE PRESIDENT: We'll see."
    )
    assert quads(extractor.extract("Remarks by President Trump on Ukraine", text)) == {
        ("united_states", "ceasefire", "yes", "demands")
    }
