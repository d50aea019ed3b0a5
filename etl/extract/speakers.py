"""Who holds the floor where (codebook rule 14): the speaker turns of a transcript ("THE PRESIDENT:",
"MS. LEAVITT:", "Q"), and the voice of a text without turns that says who issued it ("Statement from
President Joe Biden on ...", "Readout of National Security Advisor Jake Sullivan's Meeting ...").

This module owns reading them (:class:`Speakers`, built once from the actor seeds) and what they give
(:class:`Floor`: per character offset of the article text, the actors the one holding the floor speaks
for, and whether a reporter asks). Who speaks for whom comes from the seeds: a speaker label or a
byline that names an actor by one of its aliases ("PRESIDENT ZELENSKYY:", "MR. KIRBY:"), or by one of
its ``speakers`` (offices and officials named only so: "THE PRESIDENT:", "Press Secretary",
"JEAN-PIERRE"), or a name the title gives with such an office ("Press Briefing by Press Secretary
Karine Jean-Pierre" makes "MS. JEAN-PIERRE:" the actor's); a name the title places abroad ("Prime
Minister Albanese of Australia") or knows no office of speaks for no one we know.

A speaker's first person ("we", "I", "our"), and the offices of the actor they speak for ("the
President", "the administration"), stand for that actor (``actors``); a reporter's question states
no position at all, whatever it contains. Turns are found on the article text itself, by offset, so
that a label far before a sentence still holds (the pre-pass parses long texts only in parts).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from etl.seeds import ActorSeed

# a turn opens a line, or follows an interruption ("... on — THE PRESIDENT: Yeah.") or a stage
# direction ("(Laughter.) Q On NATO ..."): "Q" then a space (a transcript's non-breaking one too), a
# colon, a dash or, a transcript's glitch, the next word glued to it ("QAnd then"); or a name in
# capitals then a colon ("MS. JEAN-PIERRE:", "PRESIDENT BIDEN:")
_TURN = re.compile(
    r"(?:^|(?<=[—–)][^\S\n]))[^\S\n]*(?:(?P<q>Q)(?:[^\S\n]*[:.\-–—]|[^\S\n]+|(?=[A-Z][a-z]))"
    r"|(?P<label>[A-Z][A-Z.'’\- ]{1,60}[A-Z.]):)",
    re.MULTILINE,
)
# labels of those who ask rather than answer: reporters, the audience of a town hall, callers
QUESTIONERS = frozenset(
    {
        "Q",
        "QUESTION",
        "REPORTER",
        "REPORTERS",
        "AUDIENCE",
        "AUDIENCE MEMBER",
        "AUDIENCE MEMBERS",
        "PARTICIPANT",
    }
)
_HONORIFIC = re.compile(r"^(?:MR|MS|MRS|MISS|DR)\.?\s+")
# a title that says who issued the text: "Statement from ...", "Readout of ...", "Remarks by ...";
# what follows, up to what the text is about, is who ("President Biden" of "President Biden's Call")
_BYLINE = re.compile(
    r"^\s*(?:readout\s+of|statement\s+(?:from|by|of)|remarks\s+(?:by|of|from)|message\s+from|"
    r"letter\s+from|fact\s+sheet\s*:)\s+(?P<who>.+)$",
    re.IGNORECASE,
)
_WHO_ENDS = re.compile(
    r"['’]s?\b|\s(?:on|regarding|with|to|at|in|for|about|after|before|ahead)\s|[:;,–—(|]", re.IGNORECASE
)
_JOINT = re.compile(r"\b(?:and|joint)\b|&", re.IGNORECASE)
# a name the title places abroad: "Prime Minister Albanese of Australia", "President Yoon Suk Yeol of ..."
_OF_ELSEWHERE = re.compile(r"^(?:\s+[A-Z][\w.'’-]*){0,3}\s+of\b")
# a title that gives its speaker before a colon, in their own voice: "Hamas: we demand ...",
# "Ukraine to Putin: you cut our power, we ...", "Putin: 'the solution will be negotiated'"; the name
# alone before the colon (a label such as "Ukraine: The Latest" or "War in Ukraine:" is no speaker)
_TITLE_SPEAKER = re.compile(r"^\s*(?P<who>[^:\n]{1,60}?)(?:\s+to\s+[^:\n]{1,60}?)?\s*:\s+(?P<said>\S[^\n]*)$")
_OWN_VOICE = re.compile(r"^[\"“‘']|\b(?:[Ww]e|[Oo]ur|us|[Mm]y|I)\b")
# a quotation opened by who says it, at a paragraph's start: "[French President Emmanuel
# Macron](https://x.com/...): “I welcome ...”", "Hamas said in a statement: “...”" (a roundup of
# reactions); the quotation runs to its closing mark, or to the paragraph's end
_QUOTED = re.compile(
    r"(?m)^[^\S\n]*(?:\[(?P<linked>[^\]\n]{2,160}(?:\n[^\]\n]{1,160})?)\]\([^)\s]*\)|(?P<plain>[^\n:“”]{2,160}))"
    r"[^\S\n]*:[^\S\n]*\n?[^\S\n]*“"
)
_QUOTE_END = re.compile(r"”|\n[^\S\n]*\n")
_FORMER = re.compile(r"\b(?:former|ex|ret\.)(?![\w-])", re.IGNORECASE)
# an office of a government, which a quoted speaker who names no actor may still hold ("Italian Prime
# Minister Giorgia Meloni"): a third party, but one we can place
_OFFICE = re.compile(
    r"\b(?:president|prime\s+minister|minister|ministry|chancellor|king|queen|emir|crown\s+prince|"
    r"sheikh|sultan|secretary|spokes(?:person|man|woman)|government|ambassador|envoy)\b",
    re.IGNORECASE,
)
# what a speaker may call their own government in their own voice
FIRST_PERSON = frozenset({"we", "i", "us", "our", "my", "me", "ours"})
_DETERMINERS = frozenset({"the", "this", "my", "our", "a"})


def turn_labels(text: str) -> Iterator[tuple[int, int]]:
    """Where each turn's label is in ``text`` (start, end): "MR. KIRBY:", "Q"."""
    for match in _TURN.finditer(text):
        label = "q" if match.group("q") else "label"
        yield match.start(label), match.end()


@dataclass(frozen=True, slots=True)
class Turn:
    """A turn from ``start`` (its label) on: ``actors`` it speaks for (``()``: no one known)."""

    start: int
    label: str
    actors: tuple[str, ...]
    question: bool


@dataclass(frozen=True, slots=True)
class Floor:
    """Who holds the floor in one article: its turns in text order, and ``voice``, who speaks where
    no turn does (the issuer of a statement; ``()`` in a transcript's preamble or a news article)."""

    turns: list[Turn] = field(default_factory=list)
    voice: tuple[str, ...] = ()
    # who speaks in the title alone, when it names them before a colon ("Hamas: we demand ..."), and
    # where the title ends
    title_voice: tuple[str, ...] = ()
    title_end: int = 0
    # quotations whose speaker a text without turns names before them: (start, end, actors the
    # speaker speaks for, ``()`` for none)
    quotes: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)
    # actor id → the offices that stand for it in its own voice ("president", "administration")
    offices: dict[str, frozenset[str]] = field(default_factory=dict)
    starts: list[int] = field(default_factory=list)  # each turn's start

    def turn_at(self, char: int) -> Turn | None:
        at = bisect_right(self.starts, char) - 1
        return self.turns[at] if at >= 0 else None

    def same_turn(self, first: int, second: int) -> bool:
        """``first`` and ``second`` are in one turn (always, in a text without turns)."""
        return self.turn_at(first) == self.turn_at(second)

    def asked(self, char: int) -> bool:
        """``char`` is in a reporter's question: nothing there is anyone's position."""
        turn = self.turn_at(char)
        return turn is not None and turn.question

    def voice_at(self, char: int) -> list[str]:
        """The actors the one holding the floor at ``char`` speaks for."""
        turn = self.turn_at(char)
        if turn is not None:
            return list(turn.actors)
        for start, end, actors in self.quotes:
            if start <= char < end:
                return list(actors)
        return list(self.voice or (self.title_voice if char < self.title_end else ()))

    def unplaced(self, char: int) -> bool:
        """``char`` is in a quotation of someone who speaks for no one (a commentator)."""
        return any(start <= char < end and not actors for start, end, actors in self.quotes)

    def office_of(self, char: int, words: Iterable[str]) -> list[str]:
        """The voice at ``char`` when ``words`` (a noun phrase, lower case) name one of its own
        offices: "the President" said in the Press Secretary's turn is the Press Secretary's
        government."""
        phrase = " ".join(w for w in words if w not in _DETERMINERS)
        return [a for a in self.voice_at(char) if phrase in self.offices.get(a, frozenset())]

    @property
    def spoken(self) -> bool:
        """A transcript, or a statement whose issuer we know."""
        return bool(self.turns or self.voice)

    @property
    def exchanges(self) -> list[int]:
        """Where each question starts a new exchange (a question after an answer)."""
        starts: list[int] = []
        for before, turn in zip([None, *self.turns], self.turns, strict=False):
            if turn.question and (before is None or not before.question):
                starts.append(turn.start)
        return starts

    @property
    def actors(self) -> set[str]:
        """Every actor someone speaks for somewhere in the article."""
        quoted = {a for _, _, actors in self.quotes for a in actors}
        return set(self.voice) | set(self.title_voice) | quoted | {a for t in self.turns for a in t.actors}


class Speakers:
    """The actor seeds read for who speaks for whom: aliases, and ``speakers`` (offices, officials)."""

    def __init__(self, actors: Iterable[ActorSeed]) -> None:
        self._aliases: list[tuple[re.Pattern[str], str]] = []
        self._offices: dict[str, frozenset[str]] = {}
        # an office right before a name and its first names: "Press Secretary Karine Jean-Pierre"
        self._titles: list[tuple[re.Pattern[str], str]] = []
        office_patterns: list[tuple[re.Pattern[str], str]] = []
        for actor in actors:
            names = [*actor.aliases, *(a for scoped in actor.scoped_aliases.values() for a in scoped)]
            for name in names:
                flags = 0 if name.replace(".", "").isupper() else re.IGNORECASE
                self._aliases.append((re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", flags), actor.id))
            offices = {_plain(s) for s in actor.speakers}
            self._offices[actor.id] = frozenset(offices)
            for office in offices:
                office_patterns.append((re.compile(rf"\b{re.escape(office)}\b", re.IGNORECASE), actor.id))
                self._titles.append(
                    (re.compile(rf"(?i:\b{re.escape(office)})\s+(?:[A-Z][\w.'’-]*\s+){{0,3}}$"), actor.id)
                )
        self._office_patterns = office_patterns

    def read(self, text: str, title: str) -> Floor:
        """The floor of ``text`` (the article text, title included), its ``title`` naming who speaks."""
        turns = [self._turn(match, title) for match in _TURN.finditer(text)]
        if len(turns) >= 2:  # a transcript: one stray "NOTE:" line is no speaker
            return Floor(turns=turns, offices=self._offices, starts=[t.start for t in turns])
        return Floor(
            voice=tuple(self._issuer(title)),
            title_voice=tuple(self._title_speaker(title)),
            title_end=len(title),
            quotes=list(self._quotes(text)),
            offices=self._offices,
        )

    def _quotes(self, text: str) -> Iterator[tuple[int, int, tuple[str, ...]]]:
        """Each quotation a paragraph opens by naming its speaker: where it runs, and the actor the
        speaker speaks for; ``()`` for one a link names who holds no office of a government (a
        commentator, "Gen. Jack Keane (ret.)", "Former U.S. Ambassador ..."), who speaks for no one:
        their report of a position is a third party's we cannot place (rule 9). A speaker of a
        government that is no actor ("Italian Prime Minister ...") is not listed: a third party's
        report of another's position stands."""
        for opened in _QUOTED.finditer(text):
            who = " ".join((opened.group("linked") or opened.group("plain")).split())
            found = self._named(who)
            if _FORMER.search(who):
                found = []
            elif len(found) > 1 or (not found and (not opened.group("linked") or _OFFICE.search(who))):
                continue  # several actors; words of a sentence ("he said:"); a government's office
            closed = _QUOTE_END.search(text, opened.end())
            yield opened.end(), closed.start() if closed else len(text), tuple(found)

    def _turn(self, match: re.Match[str], title: str) -> Turn:
        label = " ".join((match.group("q") or match.group("label")).replace("’", "'").split())
        plain = _HONORIFIC.sub("", label)
        if label in QUESTIONERS or plain in QUESTIONERS:
            return Turn(match.start(), label, (), True)
        return Turn(match.start(), label, tuple(self._speaks_for(plain, title)), False)

    def _speaks_for(self, label: str, title: str) -> list[str]:
        """A speaker label ("THE PRESIDENT", "KIRBY", "PRESIDENT ZELENSKYY"): the one actor it names
        by an office or an alias, or the office the title gives the name ("... by Press Secretary
        Karine Jean-Pierre"); none when that is not one actor."""
        lowered = _plain(label)
        found = [actor for actor, offices in self._offices.items() if lowered in offices]
        found = list(dict.fromkeys([*found, *self._named(label)]))
        if not found:
            found = self._titled(label.split()[-1], title)
        return found if len(found) == 1 else []

    def _named(self, words: str) -> list[str]:
        """The actors an alias of which ``words`` hold, each once, in the seeds' order."""
        return list(dict.fromkeys(actor for pattern, actor in self._aliases if pattern.search(words)))

    def _titled(self, surname: str, title: str) -> list[str]:
        """The actor whose office the title gives the bearer of ``surname`` ("Principal Deputy Press
        Secretary Olivia Dalton"), not when it places them abroad ("... Albanese of Australia")."""
        found: list[str] = []
        for name in re.finditer(rf"(?<![\w-]){re.escape(surname)}(?![\w-])", title, re.IGNORECASE):
            if _OF_ELSEWHERE.match(title[name.end() :]):
                continue
            found += [a for pattern, a in self._titles if pattern.search(title[: name.start()])]
        return list(dict.fromkeys(found))

    def _title_speaker(self, title: str) -> list[str]:
        """The one actor a title names alone before a colon, when what follows is said in its own
        voice (a first person, or a quotation); none otherwise."""
        lead = _TITLE_SPEAKER.match(title)
        if lead is None or not _OWN_VOICE.search(lead.group("said")):
            return []
        who = lead.group("who").strip()
        found = list(dict.fromkeys(actor for pattern, actor in self._aliases if pattern.fullmatch(who)))
        return found if len(found) == 1 else []

    def _issuer(self, title: str) -> list[str]:
        """Who issued a text without turns, by its title's byline; none when the title has no byline,
        names several issuers ("Joint Statement from the United States and ...") or none we know."""
        byline = _BYLINE.match(" ".join(title.split()))
        if byline is None:
            return []
        who = byline.group("who")
        end = _WHO_ENDS.search(who)
        who = who[: end.start()] if end else who
        if _JOINT.search(who):
            return []
        offices = [actor for pattern, actor in self._office_patterns if pattern.search(who)]
        found = list(dict.fromkeys([*self._named(who), *offices]))
        return found if len(found) == 1 else []


def _plain(words: str) -> str:
    """An office or label as compared: lower case, single spaces, no leading article."""
    lowered = " ".join(words.lower().replace("’", "'").split())
    return lowered.removeprefix("the ")
