"""The seeds' actors in the spaCy pipeline: an entity ruler that labels every alias of an actor with
its id, and the component that makes the title a sentence of its own (and a transcript's turns).

An alias is ``ACTOR``; a weak alias (``weak_aliases`` in ``seeds/actors.yaml``, e.g. a leader's
surname) is ``ACTOR_WEAK`` and names the actor only in an article that names it by a strong alias too;
an alias scoped to one negotiation (``scoped_aliases``) is ``ACTOR@<negotiation>`` and names the actor
only in a sentence about that negotiation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from etl.extract.speakers import turn_labels
from etl.seeds import ActorSeed

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

ACTOR_LABEL = "ACTOR"
WEAK_ACTOR_LABEL = "ACTOR_WEAK"
SCOPED_PREFIX = "ACTOR@"
SHORT_TITLE_TOKENS = 40  # a longer "title" is a lede pasted into the title field: let the parser split it


def add_components(nlp: Language, actors: Sequence[ActorSeed]) -> None:
    """Add the title splitter before the parser and the actors' entity ruler before the NER."""
    from spacy.language import Language

    if "parley_paragraphs" not in Language.factories:

        @Language.component("parley_paragraphs")
        def paragraphs(doc: Doc) -> Doc:
            # The title is its own sentence, whatever the parser thinks: headlines have no final stop,
            # and left alone the parser makes "Talks stall" the subject of the text's first verb.
            for token in doc[:-1]:
                if token.is_space and "\n" in token.text:
                    if token.i <= SHORT_TITLE_TOKENS:
                        for inner in doc[1 : token.i + 1]:
                            inner.is_sent_start = False
                    doc[token.i + 1].is_sent_start = True
                    if token.i + 2 < len(doc):
                        # without this the parser tends to cut the text's first word off on its own
                        doc[token.i + 2].is_sent_start = False
                    break
            _split_turns(doc)
            return doc

    before = "parser" if "parser" in nlp.pipe_names else None
    nlp.add_pipe("parley_paragraphs", before=before)
    ruler = nlp.add_pipe(
        "entity_ruler",
        name="parley_actors",
        before="ner" if "ner" in nlp.pipe_names else None,
        config={"overwrite_ents": True},
    )
    patterns: list[dict[str, Any]] = []
    for actor in actors:
        labelled = [(ACTOR_LABEL, actor.aliases), (WEAK_ACTOR_LABEL, actor.weak_aliases)]
        labelled += [(scoped_label(key), aliases) for key, aliases in actor.scoped_aliases.items()]
        for label, aliases in labelled:
            for alias in aliases:
                for variant in sorted(_case_variants(alias)):
                    patterns.append({"label": label, "pattern": variant, "id": actor.id})
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]


def _split_turns(doc: Doc) -> None:
    """A speaker's turn in a transcript ("MR. KIRBY:", "Q") starts a sentence, and so does what they
    say after the label: a question and its answer on adjacent lines are not one sentence."""
    at = {token.idx: token for token in doc}
    for start, end in turn_labels(doc.text):
        first = at.get(start)
        if first is None:
            continue
        first.is_sent_start = True
        for token in doc[first.i + 1 :]:
            if token.idx >= end and not token.is_space:
                token.is_sent_start = True
                break
            token.is_sent_start = False


def scoped_label(negotiation: str) -> str:
    """The entity label of an alias that names its actor only in a text about ``negotiation``."""
    return SCOPED_PREFIX + negotiation


def _case_variants(alias: str) -> set[str]:
    if alias.replace(".", "").isupper():
        return {alias}
    first_upper = alias[:1].upper() + alias[1:]
    title = " ".join(w[:1].upper() + w[1:] for w in alias.split(" "))
    return {alias, first_upper, title}
