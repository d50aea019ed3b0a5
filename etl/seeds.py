"""Reference data from ``seeds/``: feeds, actors and negotiations with their issues, validated on load.

The YAML files are the contract that keeps parley free of any one negotiation: adding a negotiation
(one file in ``seeds/negotiations/``), an actor, an alias, an issue or a feed is an edit there, never
in code. A bad file raises :class:`SeedError` whose message names the file, the entry and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from etl.errors import UserError
from etl.ingest.urls import UrlError, check_feed_url
from models.enums import ActorKind, Stance, ValueType

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class SeedError(UserError):
    """A seed file is missing or invalid; the message is one line naming file, entry and field."""


def _snake_case(value: str) -> str:
    if not KEY_RE.match(value):
        raise ValueError("must be lower_snake_case")
    return value


Key = Annotated[str, AfterValidator(_snake_case)]
"""An actor id, issue or negotiation key: lower_snake_case."""


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedSeed(_Seed):
    url: str
    title: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        try:
            return check_feed_url(value)
        except UrlError as exc:
            raise ValueError(str(exc)) from exc


class ActorSeed(_Seed):
    id: Key
    name: str
    kind: ActorKind = ActorKind.OTHER
    aliases: list[str] = Field(default_factory=list)
    # aliases that name the actor only when the actor is also named plainly in the same article
    weak_aliases: list[str] = Field(default_factory=list)
    # descriptions ("the group") that refer back to the actor, only when it is named in the same article
    anaphors: list[str] = Field(default_factory=list)
    # actors whose word on this actor's position does not count (codebook: attributed by an adversary)
    adversaries: list[str] = Field(default_factory=list)
    # aliases that name the actor only in a text about one negotiation: negotiation key -> aliases
    scoped_aliases: dict[str, list[str]] = Field(default_factory=dict)
    # offices and officials that speak for the actor in its own texts, named so only there (codebook
    # rule 14): transcript labels ("THE PRESIDENT:", "MS. LEAVITT:"), a title's byline ("Statement from
    # the Press Secretary"), and what "the President" means in the voice of one who speaks for it
    speakers: list[str] = Field(default_factory=list)


class IssueSeed(_Seed):
    key: Key
    label: str
    value_type: ValueType
    description: str = ""
    choices: list[str] = Field(default_factory=list, description="allowed values of choice/categories")
    cues: list[str] = Field(default_factory=list, description="words that signal the issue")
    # the extractor's reading of the issue (etl/extract/values.py): value regexes, their named fragments,
    # surface words for choice/categories values, stance cue words and agreement nouns
    patterns: list[str] = Field(default_factory=list, description="value regexes, {name} from vocab")
    vocab: dict[str, str] = Field(default_factory=dict, description="named regex fragments")
    terms: dict[str, str] = Field(default_factory=dict, description="surface word -> canonical value")
    stance_cues: dict[Stance, list[str]] = Field(default_factory=dict, description="cue words by stance")
    deal_cues: list[str] = Field(default_factory=list, description="nouns naming an agreement")
    context: list[str] = Field(default_factory=list, description="lemmas one of which must govern a value")


class AboutSeed(_Seed):
    """What tells a text is about a negotiation: the actors it names, and words or places."""

    actors: list[str] = Field(default_factory=list)
    words: list[str] = Field(default_factory=list)


class NegotiationSeed(_Seed):
    """One negotiation, one file: ``seeds/negotiations/<key>.yaml``."""

    key: Key
    label: str
    description: str = ""
    parties: list[str] = Field(default_factory=list, description="actors an agreed deal binds")
    about: AboutSeed = Field(default_factory=AboutSeed)
    issues: list[IssueSeed]


class ElsewhereFile(_Seed):
    """Words of conflicts no negotiation follows (``seeds/elsewhere.yaml``)."""

    words: list[str] = Field(default_factory=list)


class FeedsFile(_Seed):
    feeds: list[FeedSeed]


class ActorsFile(_Seed):
    actors: list[ActorSeed]


_File = TypeVar("_File", FeedsFile, ActorsFile, NegotiationSeed)


def read_yaml(path: Path, error: type[Exception], not_found: str = "file not found") -> Any:
    """The YAML document in ``path``; every way it can be unreadable raises ``error`` with one line
    naming the file (and the line, for bad YAML)."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{path}: {not_found}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise error(f"{path}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from exc


def validation_line(
    path: Path,
    raw: dict[str, Any],
    exc: ValidationError,
    label: Callable[[Any], str | None],
    *,
    list_field: str | None = None,
) -> str:
    """The first error of ``exc`` as one line:
    ``<file>: <section> entry #n (<label>) field '<name>' item #m: <message>``.

    ``label(entry)`` names an entry of a list (its key, its channel) or gives None. ``<section>`` is
    left out when it is ``list_field``, the one list of a file such as ``feeds.yaml``.
    """
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = f"{path}:"
    if len(loc) > 1 and isinstance(loc[0], str):
        section = loc.pop(0)
        if section != list_field:
            where += f" {section}"
        if loc and isinstance(loc[0], int):
            index = loc.pop(0)
            where += f" entry #{index + 1}"
            entries = raw.get(section)
            name = label(entries[index]) if isinstance(entries, list) else None
            if name:
                where += f" ({name})"
    names = [str(part) for part in loc if isinstance(part, str)]
    items = [part for part in loc if isinstance(part, int)]
    if names:
        where += f" field '{'.'.join(names)}'"
    if items:
        where += f" item #{items[0] + 1}"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def _load(path: Path, model: type[_File], list_field: str, id_field: str) -> _File:
    raw = read_yaml(path, SeedError)
    if not isinstance(raw, dict) or not isinstance(raw.get(list_field), list):
        raise SeedError(f"{path}: expected a mapping with a list under '{list_field}'")

    def label(entry: Any) -> str | None:
        return entry.get(id_field) if isinstance(entry, dict) else None

    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        raise SeedError(validation_line(path, raw, exc, label, list_field=list_field)) from exc
    seen: set[str] = set()
    for index, item in enumerate(getattr(parsed, list_field)):
        key = getattr(item, id_field)
        if key in seen:
            raise SeedError(f"{path}: entry #{index + 1} ({key}) field '{id_field}': duplicate")
        seen.add(key)
    return parsed


def load_feeds(path: Path) -> list[FeedSeed]:
    return _load(path, FeedsFile, "feeds", "url").feeds


def load_actors(path: Path) -> list[ActorSeed]:
    return _load(path, ActorsFile, "actors", "id").actors


def load_negotiation(path: Path) -> NegotiationSeed:
    """One negotiation file; its key must be the file's name."""
    negotiation = _load(path, NegotiationSeed, "issues", "key")
    if negotiation.key != path.stem:
        raise SeedError(f"{path}: field 'key': {negotiation.key!r} is not the file's name {path.stem!r}")
    _check_issues(path, negotiation.issues)
    return negotiation


def _check_issues(path: Path, issues: Sequence[IssueSeed]) -> None:
    for index, issue in enumerate(issues):
        where = f"{path}: entry #{index + 1} ({issue.key}) field"
        if issue.value_type in ("choice", "categories") and not issue.choices:
            raise SeedError(f"{where} 'choices': required for value_type {issue.value_type}")
        _check_patterns(issue, where)


@dataclass(frozen=True)
class Reference:
    """Everything ``seeds/`` says about the negotiations followed: actors, negotiations, elsewhere."""

    actors: list[ActorSeed]
    negotiations: list[NegotiationSeed]
    elsewhere: list[str]


def load_reference(seeds_dir: Path) -> Reference:
    """``actors.yaml``, every ``negotiations/*.yaml`` and ``elsewhere.yaml`` (optional), checked
    against each other: every actor a negotiation lists exists, every scoped alias names a
    negotiation, and at least one actor and one negotiation with an issue are defined."""
    actors = load_actors(seeds_dir / "actors.yaml")
    folder = seeds_dir / "negotiations"
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        raise SeedError(f"{folder}: no negotiation files (<key>.yaml) found")
    negotiations = [load_negotiation(path) for path in files]
    if not actors:
        raise SeedError(f"{seeds_dir / 'actors.yaml'}: must list at least one actor")
    known = {a.id for a in actors}
    keys = {n.key for n in negotiations}
    for path, negotiation in zip(files, negotiations, strict=True):
        if not negotiation.issues:
            raise SeedError(f"{path}: field 'issues': must list at least one issue")
        for field, listed in (("parties", negotiation.parties), ("about.actors", negotiation.about.actors)):
            unknown = [a for a in listed if a not in known]
            if unknown:
                raise SeedError(f"{path}: field '{field}': unknown actor {unknown[0]!r} (not in actors.yaml)")
    for index, actor in enumerate(actors):
        for key in actor.scoped_aliases:
            if key not in keys:
                raise SeedError(
                    f"{seeds_dir / 'actors.yaml'}: entry #{index + 1} ({actor.id}) field 'scoped_aliases':"
                    f" unknown negotiation {key!r}"
                )
        unknown = [a for a in actor.adversaries if a not in known]
        if unknown:
            raise SeedError(
                f"{seeds_dir / 'actors.yaml'}: entry #{index + 1} ({actor.id}) field 'adversaries':"
                f" unknown actor {unknown[0]!r}"
            )
    elsewhere_file = seeds_dir / "elsewhere.yaml"
    elsewhere: list[str] = []
    if elsewhere_file.exists():
        raw = read_yaml(elsewhere_file, SeedError)
        try:
            elsewhere = ElsewhereFile.model_validate(raw or {}).words
        except ValidationError as exc:
            raise SeedError(validation_line(elsewhere_file, raw or {}, exc, lambda _: None)) from exc
    return Reference(actors, negotiations, elsewhere)


def _check_patterns(issue: IssueSeed, where: str) -> None:
    """Every value pattern and vocab fragment compiles as extraction will compile it, so a bad regex
    is refused by ``parley seed`` rather than found by the first extraction."""
    # imported here: etl.extract.values reads IssueSeed from this module (it imports no spaCy)
    from etl.extract.values import PatternError, compile_pattern

    checks = [(f"'vocab.{name}'", f"{{{name}}}") for name in issue.vocab]
    checks += [(f"'patterns' item #{n}", raw) for n, raw in enumerate(issue.patterns, start=1)]
    for field, pattern in checks:
        try:
            compile_pattern(pattern, issue.vocab, issue.key)
        except PatternError as exc:
            cause = exc.__cause__
            reason = f"not a valid regex: {cause}" if cause else str(exc).split(": ", 1)[-1]
            raise SeedError(f"{where} {field}: {reason}") from exc
