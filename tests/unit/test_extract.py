"""The extractor on sentences written for these tests: values, actors, stances, the codebook's rules,
and bad input. Every case names the triples it must yield (exactly) in ``(actor, issue, value, stance)``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etl.extract.engine import (
    MAX_ARTICLE_CHARS,
    TITLE_SEPARATOR,
    ArticleResult,
    Extractor,
    article_text,
)
from etl.extract.numbers import parse_number
from etl.extract.store import load_extractor
from etl.settings import Settings
from tests.conftest import REPO, shared_path


def quads(result: ArticleResult) -> set[tuple[str, str, int | float | str, str]]:
    return {(c.actor, c.issue, c.value, c.stance) for c in result.claims}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60", 60),
        ("1,200", 1200),
        ("two", 2),
        ("Twenty-five", 25),
        ("sixty", 60),
        ("a hundred", 100),
        ("2.5", 2.5),
        ("several", None),
        ("", None),
    ],
)
def test_parse_number_reads_digits_and_words(text: str, expected: int | float | None) -> None:
    assert parse_number(text) == expected


CASES: list[tuple[str, str, str, set[tuple[str, str, int | float | str, str]]]] = [
    (
        "offer_of_days",
        "Truce talks resume",
        "Hamas has offered a five-day truce in exchange for fuel deliveries.",
        {("hamas", "ceasefire_duration", 5, "proposes")},
    ),
    (
        "agreed_deal_binds_both_parties",
        "Breakthrough in talks",
        "Israel and Hamas agreed to a six-week ceasefire on Thursday.",
        {("israel", "ceasefire_duration", 42, "accepts"), ("hamas", "ceasefire_duration", 42, "accepts")},
    ),
    (
        "negated_acceptance_is_rejection",
        "Cabinet meets on Gaza",
        "The Israeli cabinet will not agree to a permanent ceasefire, officials said on Monday.",
        {("israel", "permanent_ceasefire", "yes", "rejects")},
    ),
    (
        "past_release_is_no_position",
        "Exchange continues",
        "Hamas freed 12 hostages on Sunday evening and Israel freed 36 prisoners.",
        set(),
    ),
    (
        "mediator_proposal_is_the_mediator_s",
        "Gaza mediators busy",
        "Egypt proposed a truce of 10 days to both warring parties.",
        {("egypt", "ceasefire_duration", 10, "proposes")},
    ),
    (
        "both_sides_are_the_parties_named",
        "Israel-Hamas talks in Doha",
        "Qatar says both sides have agreed to extend the pause by one day.",
        {("israel", "ceasefire_extension", 1, "accepts"), ("hamas", "ceasefire_extension", 1, "accepts")},
    ),
    (
        "all_prisoners",
        "Hamas sets out terms",
        "Hamas demands the release of all Palestinian prisoners before any further exchange.",
        {("hamas", "prisoners_released", "all", "demands")},
    ),
    (
        "exchange_ratio",
        "Hamas terms",
        "Hamas is seeking three Palestinian prisoners for each hostage, a negotiator said.",
        {("hamas", "exchange_ratio", 3, "demands")},
    ),
    (
        "exchange_ratio_with_a_verb_between",
        "Mediator's framework",
        "Egypt proposes that two Palestinian detainees be released for every captive freed.",
        {("egypt", "exchange_ratio", 2, "proposes")},
    ),
    (
        "categories_named_as_who_is_freed_first",
        "Offer details",
        "Egypt proposes that the first captives freed be women and children.",
        {("egypt", "release_categories", "children,women", "proposes")},
    ),
    (
        "categories_of_a_past_release_are_not_a_position",
        "Release",
        "Hamas said the hostages released on Friday were women and children.",
        set(),
    ),
    (
        "range_gives_no_value",
        "Talks continue",
        "Israel has proposed a three- to four-day pause in the fighting.",
        set(),
    ),
    (
        "aid_trucks_per_day",
        "Gaza aid appeal",
        "The United Nations called for 300 aid trucks a day to enter the territory.",
        {("united_nations", "aid_trucks_per_day", 300, "demands")},
    ),
    (
        "unnamed_actor_gives_no_claim",
        "Vigil in the square",
        "Families of the captives called for a permanent ceasefire at a vigil.",
        set(),
    ),
    (
        "position_reported_by_adversary_does_not_count",
        "Netanyahu speaks",
        "Netanyahu said Hamas had rejected a two-week truce offered by mediators.",
        set(),
    ),
    (
        "guarantees",
        "Hamas position",
        "Hamas says it wants guarantees that the war will not resume after the exchange.",
        {("hamas", "guarantees", "yes", "demands")},
    ),
    (
        "return_of_displaced",
        "Hamas position",
        "Hamas insists on the return of displaced families to the north of the strip.",
        {("hamas", "return_of_displaced", "yes", "demands")},
    ),
    (
        "offer_to_release_prisoners",
        "New offer",
        "Israel offered to release 150 Palestinian prisoners in a new proposal.",
        {("israel", "prisoners_released", 150, "proposes")},
    ),
    (
        "batch_under_a_deal_is_implementation",
        "Exchange schedule",
        "Israel agreed to free the first 30 prisoners on Friday.",
        set(),
    ),
    (
        "hours_become_days",
        "Truce extended",
        "Israel agreed to a 48-hour extension of the truce with Hamas.",
        {("israel", "ceasefire_extension", 2, "accepts")},
    ),
    (
        "categories_sorted",
        "Release terms",
        "Israel has proposed the release of elderly, women and children hostages first.",
        {("israel", "release_categories", "children,elderly,women", "proposes")},
    ),
    (
        "headline_in_title_case",
        "Hamas Rejects Four-Day Truce Offer",
        "",
        {("hamas", "ceasefire_duration", 4, "rejects")},
    ),
    (
        "killing_is_no_release",
        "Outrage in Israel",
        "Netanyahu insists the offensive will go on despite the deaths of three hostages.",
        set(),
    ),
    (
        "parties_confirming_a_truce_accept_it",
        "Truce confirmed",
        "Israel and Hamas confirmed a three-day truce on Tuesday.",
        {("israel", "ceasefire_duration", 3, "accepts"), ("hamas", "ceasefire_duration", 3, "accepts")},
    ),
    (
        "mediator_confirming_a_truce_announces_the_parties_deal",
        "Truce confirmed",
        "Egypt confirmed a five-day truce between Israel and Hamas.",
        {("israel", "ceasefire_duration", 5, "accepts"), ("hamas", "ceasefire_duration", 5, "accepts")},
    ),
    (
        "confirming_that_hostages_were_freed_is_a_report",
        "Exchange goes ahead",
        "Israel confirmed that 13 hostages were released on Friday.",
        set(),
    ),
    (
        "condition_after_provided_is_a_demand",
        "Extension terms",
        "Israel agreed to a one-day extension of the truce, provided Hamas frees 10 hostages a day.",
        {("israel", "ceasefire_extension", 1, "accepts"), ("israel", "hostages_released", 10, "demands")},
    ),
    (
        "condition_after_on_condition_that_is_a_demand",
        "Extension terms",
        "Hamas will extend the truce on condition that Israel releases 30 Palestinian prisoners a day.",
        {("hamas", "prisoners_released", 30, "demands")},
    ),
    (
        "condition_after_as_long_as_is_a_demand",
        "Pause terms",
        "Israel will keep the pause as long as Hamas releases 10 hostages each day.",
        {("israel", "hostages_released", 10, "demands")},
    ),
    (
        "passive_agent_on_the_value_owns_the_offer",
        "Gaza mediators weigh options",
        "Egypt weighed the 30-day pause offered by Israel's cabinet.",
        {("israel", "ceasefire_duration", 30, "proposes")},
    ),
    (
        "rejected_proposal_keeps_its_proposer",
        "Talks stall",
        "Hamas rejected the 60-day truce proposed by Qatar.",
        {("hamas", "ceasefire_duration", 60, "rejects"), ("qatar", "ceasefire_duration", 60, "proposes")},
    ),
    (
        "truce_extended_without_by",
        "Israel-Hamas pause extended three days, Egypt says",
        "",
        {("israel", "ceasefire_extension", 3, "accepts"), ("hamas", "ceasefire_extension", 3, "accepts")},
    ),
    (
        "offer_to_stop_fighting_for_a_week",
        "Talks stall",
        "Islamic Jihad rejected an Israeli offer to halt the fighting for two weeks.",
        {
            ("israel", "ceasefire_duration", 14, "proposes"),
            ("islamic_jihad", "ceasefire_duration", 14, "rejects"),
        },
    ),
    (
        "what_a_proposal_calls_for_is_proposed",
        "New plan",
        "An Israeli proposal calls for the release of 25 hostages.",
        {("israel", "hostages_released", 25, "proposes")},
    ),
    (
        "resolution_calling_for_speaks_for_the_un",
        "Vote on Gaza in New York",
        "The UN General Assembly met on Tuesday. "
        "The US voted against the resolution calling for an end to the war.",
        {
            ("united_nations", "permanent_ceasefire", "yes", "demands"),
            ("united_states", "permanent_ceasefire", "yes", "rejects"),
        },
    ),
    (
        "hoping_for_a_term_is_wanting_it",
        "Gaza mediation",
        "Egypt is hopeful of securing a three-day extension of the pause.",
        {("egypt", "ceasefire_extension", 3, "demands")},
    ),
    (
        "deal_approved_by_one_party_binds_that_party_alone",
        "Cabinet vote",
        "The accord approved by Hamas on Sunday provides for the release of 30 captives in exchange for "
        "the release of 90 Palestinian prisoners held by Israel.",
        {("hamas", "hostages_released", 30, "accepts"), ("hamas", "prisoners_released", 90, "accepts")},
    ),
    (
        "terms_under_an_agreed_deal_belong_to_the_parties_that_agreed",
        "Israel and Hamas agree on a truce deal",
        "Under the agreement, Hamas is to release 30 hostages in return for 90 prisoners.",
        {
            ("israel", "hostages_released", 30, "accepts"),
            ("hamas", "hostages_released", 30, "accepts"),
            ("israel", "prisoners_released", 90, "accepts"),
            ("hamas", "prisoners_released", 90, "accepts"),
        },
    ),
    (
        "terms_still_to_come_after_a_headline_that_the_parties_agreed",
        "Israel and Hamas agree hostage deal",
        "Hamas will free 30 hostages and Israel will free 90 prisoners.",
        {
            ("israel", "hostages_released", 30, "accepts"),
            ("hamas", "hostages_released", 30, "accepts"),
            ("israel", "prisoners_released", 90, "accepts"),
            ("hamas", "prisoners_released", 90, "accepts"),
        },
    ),
    (
        "terms_after_one_party_approves_bind_that_party_alone",
        "Israeli cabinet approves hostage deal with Hamas",
        "Hamas is expected to release 30 hostages over five days.",
        {("israel", "hostages_released", 30, "accepts")},
    ),
    (
        "batch_set_for_a_day_under_the_deal_is_implementation",
        "Israel and Hamas agree truce deal",
        "Hamas is set to release 12 hostages on Saturday under the agreement.",
        set(),
    ),
    (
        "release_already_done_under_the_deal_is_no_term",
        "Israel and Hamas agree truce deal",
        "Hamas released 12 hostages under the agreement.",
        set(),
    ),
    (
        "term_that_could_be_is_no_term",
        "Israel and Hamas agree truce deal",
        "Under the agreement, Hamas could release 30 hostages.",
        set(),
    ),
    (
        "deal_not_yet_agreed_binds_nobody",
        "Israel and Hamas close to agreeing a deal",
        "Hamas would release 30 hostages.",
        set(),
    ),
    (
        "length_of_the_truce_being_extended_is_no_position",
        "Truce talks",
        "Israel and Hamas agreed to extend the six-day truce by one day.",
        {("israel", "ceasefire_extension", 1, "accepts"), ("hamas", "ceasefire_extension", 1, "accepts")},
    ),
    (
        "what_others_demand_of_an_actor_is_not_its_demand",
        "Hunger strike",
        "A poet is among writers who are fasting to demand US President Biden calls for an end to the war.",
        set(),
    ),
    (
        "the_way_to_end_the_war_is_no_demand_to_end_it",
        "War goes on",
        "Netanyahu insisted the only way to end the war is more pressure.",
        set(),
    ),
    (
        "palestinians_held_in_israeli_prisons_are_prisoners",
        "Talks stall",
        "Hamas demands the release of 300 Palestinians held in Israeli prisons.",
        {("hamas", "prisoners_released", 300, "demands")},
    ),
    # issue 14: shapes the extractor did not read before 2.2.0
    (
        "a_mediator_seeking_a_deal_demands_its_terms",
        "Egypt seeking deal to free 30 hostages and a 5-day pause in Gaza",
        "",
        {("egypt", "hostages_released", 30, "demands"), ("egypt", "ceasefire_duration", 5, "demands")},
    ),
    (
        "a_day_counted_by_its_ordinal_is_one_more_day",
        "Captives freed",
        "Israel and Hamas agreed on Friday to extend the Gaza truce for an eighth day.",
        {("israel", "ceasefire_extension", 1, "accepts"), ("hamas", "ceasefire_extension", 1, "accepts")},
    ),
    (
        "a_truce_extended_said_of_no_one_is_the_parties_doing",
        "Gaza pause holds",
        "Hamas handed over more captives and Israel let prisoners go. The pause was then extended by "
        "three days after Egyptian mediation.",
        {("israel", "ceasefire_extension", 3, "accepts"), ("hamas", "ceasefire_extension", 3, "accepts")},
    ),
    (
        "a_mediator_beside_an_adversary_still_reports_the_move",
        "Truce prolonged",
        "The Gaza truce between Israel and Hamas has been prolonged by two days, Egypt and Hamas said.",
        {("israel", "ceasefire_extension", 2, "accepts"), ("hamas", "ceasefire_extension", 2, "accepts")},
    ),
    (
        "a_truce_the_text_calls_agreed_binds_the_parties_it_names",
        "Gaza waits",
        "Residents wait for the start of an agreed five-day truce as Israel keeps up its strikes on Gaza.",
        {("israel", "ceasefire_duration", 5, "accepts")},
    ),
    (
        "an_agreed_truce_that_only_dates_something_is_no_acceptance",
        "Gaza strikes",
        "Israeli strikes hit Gaza before the agreed five-day truce.",
        set(),
    ),
    (
        "the_agreement_named_again_binds_the_parties_that_agreed_it",
        "Gaza truce",
        "Israel and Hamas agreed to a truce deal on Monday. The deal will see Hamas free 30 hostages "
        "in Gaza.",
        {("israel", "hostages_released", 30, "accepts"), ("hamas", "hostages_released", 30, "accepts")},
    ),
    (
        "only_if_sets_a_condition",
        "Talks in Doha",
        "Israel says it will halt its offensive in Gaza only if all captives are freed.",
        {("israel", "hostages_released", "all", "demands")},
    ),
    (
        "a_lower_bound_gives_its_number",
        "Gaza talks",
        "Israel wants a pause of at least three days in Gaza.",
        {("israel", "ceasefire_duration", 3, "demands")},
    ),
    (
        "an_upper_bound_gives_its_number",
        "Gaza talks",
        "The Qatari plan calls for a truce of up to a week in Gaza.",
        {("qatar", "ceasefire_duration", 7, "proposes")},
    ),
    (
        "a_truce_urged_to_become_permanent",
        "Gaza truce",
        "The UN has urged for the Gaza truce to become permanent.",
        {("united_nations", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "a_deal_said_agreed_in_the_passive_binds_the_parties",
        "Gaza truce",
        "A deal to prolong the truce between Israel and Hamas by three days has been agreed, mediators said.",
        {("israel", "ceasefire_extension", 3, "accepts"), ("hamas", "ceasefire_extension", 3, "accepts")},
    ),
    (
        "a_headline_deal_agreed_to_extend",
        "Deal agreed to extend Israel-Hamas truce for three days, say Hamas and Egypt",
        "",
        {("israel", "ceasefire_extension", 3, "accepts"), ("hamas", "ceasefire_extension", 3, "accepts")},
    ),
    (
        "a_value_is_read_from_its_own_words_not_a_verb_the_parser_hangs_elsewhere",
        "Gaza deal",
        "Weeks of talks led to the Israel-Hamas agreement to halt the fighting and swap Palestinian "
        "prisoners for an initial 40 women and children held captive.",
        {
            ("israel", "hostages_released", 40, "accepts"),
            ("hamas", "hostages_released", 40, "accepts"),
            ("israel", "release_categories", "children,women", "accepts"),
            ("hamas", "release_categories", "children,women", "accepts"),
        },
    ),
    (
        "terms_in_a_sentence_of_their_own_after_a_deal_is_announced",
        "Truce announced",
        "Egypt announced a deal between Israel and Hamas. It includes a three-day pause and the "
        "release of 20 hostages.",
        {
            ("israel", "ceasefire_duration", 3, "accepts"),
            ("hamas", "ceasefire_duration", 3, "accepts"),
            ("israel", "hostages_released", 20, "accepts"),
            ("hamas", "hostages_released", 20, "accepts"),
        },
    ),
    (
        "a_proposed_deal_named_again_binds_no_one",
        "Talks",
        "Hamas proposed a deal to Israel. It includes a five-day pause.",
        set(),
    ),
    (
        "a_plan_by_a_party_to_end_the_war_is_its_proposal",
        "Gaza talks",
        "A plan by Egypt to end the war in Gaza was handed to both sides.",
        {("egypt", "permanent_ceasefire", "yes", "proposes")},
    ),
    (
        "an_extended_detention_is_no_truce",
        "Gaza and beyond",
        "A Russian court extended the reporter's detention by three months.",
        set(),
    ),
    (
        "a_truce_announced_between_the_parties_by_no_one_named_is_theirs",
        "Truce in Gaza",
        "Officials in Doha announced a five-day truce between Israel and Hamas.",
        {("israel", "ceasefire_duration", 5, "accepts"), ("hamas", "ceasefire_duration", 5, "accepts")},
    ),
    (
        "a_lasting_ceasefire_is_one_that_holds_not_a_permanent_one",
        "Gaza",
        "France called for a lasting ceasefire in Gaza.",
        set(),
    ),
    (
        "all_hostages_named_by_their_place",
        "Israel demands the release of all Gaza hostages",
        "",
        {("israel", "hostages_released", "all", "demands")},
    ),
    (
        "a_government_welcoming_a_truce_whose_length_is_stated_accepts_it",
        "Gaza truce",
        "Egypt welcomed the five-day truce between Israel and Hamas.",
        {("egypt", "ceasefire_duration", 5, "accepts")},
    ),
    (
        "a_title_case_deal_agreed_binds_both_parties_to_the_terms_that_follow",
        "War in Gaza: Israel and Hamas Agree to Cease-Fire",
        "The agreement calls for a pause in fighting of at least five days.",
        {("israel", "ceasefire_duration", 5, "accepts"), ("hamas", "ceasefire_duration", 5, "accepts")},
    ),
    (
        "a_condition_the_parser_hangs_beside_its_clause_is_still_a_demand",
        "Talks on a longer truce",
        "Israel has said the truce could go on, provided Hamas continues to free at least 12 hostages.",
        {("israel", "hostages_released", 12, "demands")},
    ),
    (
        "categories_given_after_the_people_freed_under_an_agreed_deal",
        "Deal in Gaza",
        "Israel and Hamas agreed a deal on Tuesday. Under the agreement, Hamas is expected to release "
        "30 hostages for 90 Palestinian prisoners, all women and teenagers.",
        {
            ("israel", "hostages_released", 30, "accepts"),
            ("hamas", "hostages_released", 30, "accepts"),
            ("israel", "prisoners_released", 90, "accepts"),
            ("hamas", "prisoners_released", 90, "accepts"),
            ("israel", "release_categories", "children,women", "accepts"),
            ("hamas", "release_categories", "children,women", "accepts"),
        },
    ),
    (
        "what_is_refused_until_it_is_done_is_demanded",
        "Talks stall",
        "Hamas says it will not resume talks on captives until Israel ends its war on Gaza.",
        {("hamas", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "what_is_done_until_it_is_done_is_no_demand",
        "Gaza",
        "Israel will keep fighting in Gaza until all the hostages are freed.",
        set(),
    ),
    (
        "a_headline_clause_after_a_comma_is_not_the_speakers",
        "Biden says talks in Cairo are serious, Hamas seeks international guarantees",
        "",
        {("hamas", "guarantees", "yes", "demands")},
    ),
    (
        "a_clause_describing_an_actor_is_not_its_cue",
        "Protest in Washington",
        "Activists began a fast outside the White House aimed at pressing Biden into demanding a "
        "permanent ceasefire in Gaza.",
        set(),
    ),
    # extractor 2.5.0
    (
        "a_proposal_put_forward_by_a_party_is_its_proposal",
        "Israel's new offer",
        "The proposal put forward by Israel calls for the release of 40 hostages in Gaza.",
        {("israel", "hostages_released", 40, "proposes")},
    ),
    (
        "a_plan_drafted_by_a_mediator_is_its_proposal",
        "Egypt's plan",
        "The plan drafted by Egypt includes the release of all hostages held in Gaza.",
        {("egypt", "hostages_released", "all", "proposes")},
    ),
    (
        "a_deal_rejected_by_a_party_binds_no_one",
        "Talks on Gaza stall",
        "The deal rejected by Hamas included the release of 40 hostages.",
        set(),
    ),
    (
        "a_deal_someone_approved_still_binds_them",
        "Talks on Gaza",
        "The deal approved by Israel includes the release of 50 hostages.",
        {("israel", "hostages_released", 50, "accepts")},
    ),
    # extractor 2.4.0
    (
        "categories_coordinated_are_read_once",
        "Hamas offers to release women and children hostages",
        "",
        {("hamas", "release_categories", "children,women", "proposes")},
    ),
    (
        "categories_held_in_gaza",
        "Hamas ready to release civilians held in Gaza",
        "",
        {("hamas", "release_categories", "civilians", "accepts")},
    ),
    (
        "a_complete_halt_to_the_war_is_permanent",
        "Hamas demands a complete halt to the war in Gaza",
        "",
        {("hamas", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "the_war_must_end_is_the_speakers_demand",
        "Hamas says the war on Gaza must end",
        "",
        {("hamas", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "bringing_the_war_to_a_close_is_permanent",
        "Qatar seeks to bring the war in Gaza to a close",
        "",
        {("qatar", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "what_will_not_end_the_war_is_no_position_on_it",
        "Gaza",
        "Israel's prime minister vows that the pause will not end the war in Gaza.",
        set(),
    ),
    (
        "a_deal_that_would_free_is_its_authors_proposal",
        "Biden outlines deal",
        "President Biden outlined a deal that would lead to the release of all hostages in Gaza.",
        {("united_states", "hostages_released", "all", "proposes")},
    ),
    (
        "what_a_party_must_accept_is_no_acceptance_of_it",
        "Remarks",
        "Hamas needs to accept the deal, which would lead to a permanent end to hostilities in Gaza.",
        set(),
    ),
    (
        "what_a_party_must_accept_is_its_speakers_demand",
        "Remarks",
        "President Biden said Hamas needs to accept the deal, which would lead to a permanent end to "
        "hostilities in Gaza.",
        {("united_states", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "a_relative_clause_on_a_person_is_no_term",
        "Gaza hostages",
        "The US is hopeful that a girl who is among three American hostages in Gaza could be released.",
        set(),
    ),
    (
        "which_is_the_actor_the_clause_describes",
        "Sullivan in Israel",
        "The comments were delivered to the Biden administration, which is pressing for a quicker end "
        "to the war in Gaza.",
        {("united_states", "permanent_ceasefire", "yes", "demands")},
    ),
    (
        "an_approximate_count_is_no_value",
        "Israeli Cabinet approves cease-fire with Hamas that includes release of some 50 hostages",
        "",
        set(),
    ),
    (
        "leaving_gaza_with_no_part_named_is_full_withdrawal",
        "Israel refuses to withdraw its troops from Gaza",
        "",
        {("israel", "withdrawal", "full", "rejects")},
    ),
    (
        "pulling_forces_out_of_gaza_is_full_withdrawal",
        "Hamas insists Israel pull its forces out of Gaza",
        "",
        {("hamas", "withdrawal", "full", "demands")},
    ),
    ("leaving_a_city_is_no_full_withdrawal", "Israel will not withdraw from Gaza City", "", set()),
    (
        "return_to_northern_gaza",
        "Israel rejects the return of displaced Palestinians to northern Gaza",
        "",
        {("israel", "return_of_displaced", "yes", "rejects")},
    ),
    (
        "open_to_is_acceptance",
        "Hamas is open to a five-day truce in Gaza",
        "",
        {("hamas", "ceasefire_duration", 5, "accepts")},
    ),
    (
        "what_a_deal_must_include_is_demanded",
        "Hamas says any deal must include a permanent ceasefire in Gaza",
        "",
        {("hamas", "permanent_ceasefire", "yes", "demands")},
    ),
    ("a_yes_no_question_states_nothing", "Is Israel really ready to withdraw from Gaza?", "", set()),
    (
        "living_hostages_are_counted",
        "Israel offers a 45-day truce in exchange for the release of 11 living hostages in Gaza",
        "",
        {("israel", "ceasefire_duration", 45, "proposes"), ("israel", "hostages_released", 11, "proposes")},
    ),
    (
        "willingness_is_acceptance",
        "Call with Zelenskyy",
        "President Zelenskyy reiterated his willingness to adopt a full ceasefire.",
        {("ukraine", "ceasefire", "yes", "accepts")},
    ),
    (
        "the_killing_must_stop_is_a_ceasefire_demand",
        "Statement on Ukraine",
        "President Trump said the killing in Ukraine must stop.",
        {("united_states", "ceasefire", "yes", "demands")},
    ),
    (
        "a_partial_ceasefire_against_energy_is_an_energy_truce",
        "Statement",
        "President Trump and President Zelenskyy agreed on a partial ceasefire against energy.",
        {("united_states", "energy_truce", "yes", "accepts"), ("ukraine", "energy_truce", "yes", "accepts")},
    ),
    (
        "an_agreement_to_ban_strikes_on_energy_is_an_energy_truce",
        "Outcomes",
        "The United States and Ukraine agreed to develop measures for implementing President Trump's and "
        "President Zelenskyy's agreement to ban strikes against energy facilities of Russia and Ukraine.",
        {("united_states", "energy_truce", "yes", "accepts"), ("ukraine", "energy_truce", "yes", "accepts")},
    ),
    (
        "what_a_guarantee_could_include_is_proposed",
        "Donald Trump says Ukraine security guarantee could include US air support",
        "",
        {("united_states", "security_guarantees", "yes", "proposes")},
    ),
    (
        "pulling_troops_out_of_a_region_is_a_territorial_concession",
        "Putin demands Ukraine pull its troops out of Donetsk",
        "",
        {("russia", "territorial_concessions", "yes", "demands")},
    ),
]


@pytest.mark.parametrize(("name", "title", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_claims_follow_the_codebook(
    extractor: Extractor,
    name: str,
    title: str,
    text: str,
    expected: set[tuple[str, str, int | float | str, str]],
) -> None:
    result = extractor.extract(title, text)
    assert result.error is None
    assert quads(result) == expected


def test_one_triple_per_article_however_often_repeated(extractor: Extractor) -> None:
    text = "Hamas demands a permanent ceasefire. Hamas again demanded a permanent ceasefire on Friday."
    result = extractor.extract("Hamas repeats demand", text)
    assert [(c.actor, c.issue, c.value) for c in result.claims] == [("hamas", "permanent_ceasefire", "yes")]


def test_evidence_offsets_point_into_the_returned_text(extractor: Extractor) -> None:
    result = extractor.extract(
        "Hamas Demands", "<p>Officials said <b>Hamas</b> demands a permanent&nbsp;ceasefire.</p>"
    )
    assert result.claims
    assert "<" not in result.text and "&nbsp;" not in result.text
    for claim in result.claims:
        assert result.text[claim.start : claim.end] == claim.evidence
        assert 0.0 <= claim.confidence <= 1.0
    for mention in result.mentions:
        assert result.text[mention.start : mention.end] == mention.text


def test_title_and_text_are_joined_by_a_blank_line() -> None:
    text, truncated = article_text("A <i>title</i>", "Body &amp; more")
    assert text == "A title" + TITLE_SEPARATOR + "Body & more"
    assert not truncated


@pytest.mark.parametrize(
    ("title", "read"),
    [
        (
            "Scoop: Trump peace plan includes a security guarantee",
            "Trump peace plan includes a security guarantee",
        ),
        ("Analysis — Hamas demands a truce", "Hamas demands a truce"),
        ("LIVE UPDATES | Talks resume", "Talks resume"),
        ("Watchdog: talks resume", "Watchdog: talks resume"),  # a word, not the label
        ("Hamas: we want a truce", "Hamas: we want a truce"),  # a speaker, not a label
    ],
)
def test_a_desks_label_before_the_title_is_left_out(title: str, read: str) -> None:
    assert article_text(title, "Body")[0] == read + TITLE_SEPARATOR + "Body"


def test_a_labelled_titles_claim_reads_as_without_the_label(extractor: Extractor) -> None:
    result = extractor.extract(
        "Scoop: Trump peace plan for Ukraine includes NATO-style security guarantee", ""
    )
    assert quads(result) == {("united_states", "security_guarantees", "yes", "proposes")}
    assert result.claims[0].evidence == "Trump peace plan for Ukraine includes NATO-style security guarantee"


def test_weak_alias_counts_only_beside_a_plain_name(extractor: Extractor) -> None:
    alone = extractor.extract("Doha talks", "Talks in Doha resumed on Monday.")
    assert alone.mentions == []
    beside = extractor.extract("Qatar hosts talks", "Talks in Doha resumed on Monday.")
    assert {m.text for m in beside.mentions} == {"Qatar", "Doha"}
    assert {m.actor for m in beside.mentions} == {"qatar"}


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("", ""),
        ("Israël et le Hamas", "Le Hamas exige un cessez-le-feu permanent de quatre jours, selon l'Égypte."),
        ("<script>alert(1)</script>", "<div><<<>>> unclosed <b tag"),
        ("\x00\x01", "\u200b\u202e reversed"),
    ],
)
def test_odd_input_yields_a_result_not_a_crash(extractor: Extractor, title: str, text: str) -> None:
    result = extractor.extract(title, text)
    assert result.error is None
    assert result.claims == []


def test_huge_text_is_truncated_and_still_read(extractor: Extractor) -> None:
    sentence = "Hamas demands a permanent ceasefire. " + "Nothing else happened today. " * 20
    huge = sentence * (2_000_000 // len(sentence))
    result = extractor.extract("Long read", huge)
    assert result.error is None
    assert result.truncated
    assert len(result.text) <= MAX_ARTICLE_CHARS
    assert ("hamas", "permanent_ceasefire", "yes", "demands") in quads(result)


def test_non_string_item_fails_alone_in_a_batch(extractor: Extractor) -> None:
    items = [("Hamas demands", "Hamas demands a permanent ceasefire."), (None, 42), ("", "")]
    results = list(extractor.extract_many(items, batch_size=2))  # type: ignore[arg-type]
    assert len(results) == 3
    assert results[0].claims and results[0].error is None
    assert results[1].error is not None and results[1].claims == []
    assert results[2].error is None


def test_seed_article_yields_the_positions_it_states(extractor: Extractor) -> None:
    path = shared_path("seed_article.txt")
    result = extractor.extract("", path.read_text(encoding="utf-8"))
    found = quads(result)
    assert ("israel", "ceasefire_duration", 60, "proposes") in found
    assert ("hamas", "permanent_ceasefire", "yes", "demands") in found
    assert ("hamas", "prisoners_released", "all", "demands") in found
    assert ("hamas", "guarantees", "yes", "demands") in found
    categories = [c.value for c in result.claims if c.actor == "israel" and c.issue == "release_categories"]
    assert any({"children", "women"} <= set(str(v).split(",")) for v in categories)


def test_the_extractor_is_built_once_per_seeds_and_again_when_they_change(tmp_path: Path) -> None:
    # a replay or a long-lived worker runs many ticks: the language model loads once, and an edit of
    # the seeds takes effect at the next tick
    seeds = tmp_path / "seeds"
    shutil.copytree(REPO / "seeds", seeds, ignore=shutil.ignore_patterns("demo"))
    settings = Settings(seeds_dir=seeds)
    first = load_extractor(settings)
    assert load_extractor(settings) is first
    actors = seeds / "actors.yaml"
    text = actors.read_text(encoding="utf-8")
    actors.write_text(text.replace("- Haniyeh\n", "- Haniyeh\n      - Abu Obaida\n"), encoding="utf-8")
    again = load_extractor(settings)
    assert again is not first
    assert again.extract("Abu Obaida demands a permanent ceasefire in Gaza", "").claims[0].actor == "hamas"
