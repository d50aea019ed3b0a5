"""Generic English words the codebook's rules look for, whatever the negotiation: speech verbs,
negation and hedges, verbs by which a deal is agreed, words of time still to come, bystanders who speak
for no one, pronouns. Words of one negotiation (actors, issues, cue words) come from the seeds instead.

This module also owns :func:`inflections`, the regular forms by which a seed's cue word is matched.
"""

from __future__ import annotations

import re

SPEECH_VERBS = frozenset(
    [
        "say",
        "tell",
        "claim",
        "report",
        "announce",
        "state",
        "add",
        "accuse",
        "allege",
        "believe",
        "confirm",
        "deny",
        "note",
        "warn",
        "write",
        "reveal",
        "assert",
        "argue",
        "suggest",
        "think",
        "declare",
        "insist",
        "stress",
        "signal",
        "indicate",
    ]
)
# "I think he wants to stop fighting": a speaker's guess at another's wish states no one's position
# (a guess at a fact, "I think the pause has been extended", still reports it)
GUESS_VERBS = frozenset({"think", "believe", "guess", "suppose", "assume", "suspect", "imagine", "feel"})
WISH_VERBS = frozenset({"want", "wish", "seek", "hope", "desire", "intend", "like", "prefer", "plan"})
# "unlikely to back X", "decline to agree": the head negates the cue beneath it
NEGATING_HEADS = frozenset({"unlikely", "decline", "hesitant", "reluctant"})
# "EU leaders fail to agree to use the assets": no agreement, and no rejection either (rule 9)
FAILING_HEADS = frozenset({"fail"})
# "ready to hold elections after a ceasefire": a term named as a time is not what the cue is about
TEMPORAL_PREPS = frozenset({"after", "before", "until", "since", "during", "following", "ahead"})
# "ready to hold a referendum if a ceasefire is reached": what a clause is conditional on is not
# what the cue above it accepts or asks for
CONDITIONAL_MARKERS = frozenset({"if", "unless", "once"})
# "backs off", "backs away from", "backs down": a phrasal verb is another verb than its cue word
CUE_CHANGING_PARTICLES = frozenset({"off", "away", "down"})
# "could/might agree", "expected to agree": not yet an acceptance
HEDGE_AUX = frozenset({"could", "might", "may"})
HEDGE_HEADS = frozenset({"likely", "expect", "hope", "possible", "consider"})
HEDGE_MODIFIERS = frozenset(
    [
        "propose",
        "proposed",
        "possible",
        "potential",
        "tentative",
        "prospective",
        "draft",
        "future",
        "new",
        "hoped",
        "expected",
        "mooted",
        "emerging",
        "likely",
    ]
)
# "the deal rejected by Hamas": turned down, so no one is bound by it
REJECTED_MODIFIERS = frozenset(["reject", "refuse", "dismiss", "spurn", "oppose", "veto"])
# a deal so modified is not (yet) one the parties agreed
UNAGREED_MODIFIERS = HEDGE_MODIFIERS | REJECTED_MODIFIERS
AGREED_MODIFIERS = frozenset(
    ["agree", "approve", "reach", "seal", "sign", "finalize", "finalise", "accept", "strike", "conclude"]
)
# verbs by which a text says a deal was agreed ("Israel and Hamas agree to ...", "Qatar confirmed the deal")
AGREEING_VERBS = AGREED_MODIFIERS | {"confirm", "announce", "declare", "proclaim"}
# "close to reaching a deal", "working to finalise it": the agreement is not yet there
NOT_YET_HEADS = HEDGE_HEADS | {"close", "near", "work", "try", "aim", "seek", "push", "set", "due", "need"}
# prepositions that put a clause under a deal: "under the agreement, ...", "as part of the deal"
DEAL_PREPS = frozenset({"under", "in", "as", "through", "according", "by"})
# "Hamas is set to release 50", "would be freed": a term still to be carried out, as deals state them
FUTURE_AUX = frozenset({"will", "would", "shall", "'ll"})
FUTURE_HEADS = frozenset({"set", "expect", "due", "slate", "poise"})
# verbs that carry no stance of their own: the subject of "present a plan" owns the plan
LIGHT_VERBS = frozenset(
    [
        "be",
        "have",
        "make",
        "present",
        "put",
        "issue",
        "submit",
        "cast",
        "lead",
        "table",
        "give",
        "send",
        "deliver",
        "hand",
        "unveil",
        "float",
        "draft",
        "continue",
        "renew",
        "reiterate",
        "repeat",
        "step",
        "join",
        "begin",
        "start",
        # "Putin doubles down on demands for ...", "stands by its demand", "sticks to its proposal"
        "double",
        "stand",
        "stick",
        "maintain",
        "restate",
        "outline",
    ]
)
# "..., provided Hamas frees 10 hostages a day": the clause is a condition the main clause's subject sets
CONDITION_MARKERS = frozenset({"provided", "providing"})
# "Ukraine must cede land", "Kyiv has to give up land": what someone is told to do, not what they accept
OBLIGING_AUX = frozenset({"must", "should", "ought"})
OBLIGING_HEADS = frozenset({"have", "need"})
# "Russia has 10 days to agree a ceasefire", "an ultimatum to accept": a deadline is a demand (rule 12)
DEADLINE_NOUNS = frozenset({"day", "week", "hour", "month", "deadline", "ultimatum"})
# "Trump gives Russia 10 days": the subject of these sets the deadline
DEADLINE_SETTERS = frozenset({"give", "set", "issue", "grant"})
# "It includes a four-day pause": verbs by which an agreed deal, named again, states its terms
TERM_VERBS = frozenset(
    {"include", "provide", "stipulate", "envisage", "envision", "entail", "involve", "comprise"}
)
# "the terms provide for ...", "the first phase includes ...": parts of a deal that state its terms
DEAL_PARTS = frozenset({"term", "phase", "stage", "framework", "arrangement"})
# "the deal would see Ukraine cede Donbas": verbs by which a plan or deal states what it holds
CONTENT_VERBS = frozenset({"see", "mean", "involve", "entail", "envisage", "envision", "foresee"})
# "any deal must include a permanent ceasefire": what a deal must hold is the speaker's demand
HOLDING_VERBS = CONTENT_VERBS | TERM_VERBS | {"contain", "guarantee", "ensure"}
# "the proposal put forward by Israel", "the plan drafted by Egypt": the agent of these participles
# on a noun is its author (a possessive, as "Israel's proposal"); "put", "draw" and "lay" with their
# particle only ("put forward", "draw up", "lay out")
AUTHORING_VERBS = frozenset(
    {
        "propose",
        "draft",
        "outline",
        "present",
        "offer",
        "unveil",
        "submit",
        "table",
        "float",
        "craft",
        "author",
    }
)
AUTHORING_PHRASAL = frozenset({("put", "forward"), ("draw", "up"), ("lay", "out")})
# "Trump tells Ukraine to give up on NATO": the subject of these demands what it tells to be done
DIRECTIVE_VERBS = frozenset({"tell", "order", "instruct", "ask", "force", "pressure"})
# "the Russia-Ukraine war", "US-Russia talks": an event, which speaks for none of the actors naming it
EVENT_NOUNS = frozenset({"war", "peace", "talk", "conflict", "summit", "negotiation", "invasion", "fighting"})
PRONOUNS = frozenset({"it", "they", "he", "she", "we", "i"})
# negation in a headline read word by word ("Ukraine Won’t Give Up Land")
NEGATIONS = frozenset({"not", "no", "never", "n't", "n’t", "won't", "won’t"})
POSSESSIVE_PRONOUNS = frozenset({"its", "their", "his", "her", "our", "my"})
# "former defence minister", "Ex-UK Prime Minister Johnson": no longer speaks for the government
FORMER_MARKERS = frozenset({"former", "ex", "sacked", "ousted", "fired", "dismissed"})
BYSTANDERS = frozenset(
    [
        "voter",
        "citizen",
        "public",
        "people",
        "protester",
        "demonstrator",
        "family",
        "relative",
        "resident",
        "medium",
        "press",
        "newspaper",
        "poll",
        "activist",
        "student",
        "civilian",
        "hostage",
        "captive",
        "prisoner",
        "detainee",
        "lawmaker",
        "critic",
        "analyst",
        "expert",
        "commentator",
        "observer",
        "source",
        "report",
    ]
)
COLLECTIVE_NOUNS = frozenset({"side", "sides", "party", "parties"})
COLLECTIVE_MARKERS = frozenset({"both", "two", "warring", "all"})


def inflections(word: str) -> set[str]:
    """Regular English forms of a verb or noun, so title-case headlines match ("Rejects", "Agreeing")."""
    forms = {word, word + "s", word + "es", word + "ed", word + "d", word + "ing"}
    if word.endswith("e"):
        forms.add(word[:-1] + "ing")
    if word.endswith("y"):
        forms |= {word[:-1] + "ies", word[:-1] + "ied"}
    if re.search(r"[^aeiou][aeiou][bdgmnprt]$", word):  # "ban" → "banned"
        forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}
    return forms
