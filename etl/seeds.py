"""Reference data from ``seeds/``: feeds, actors and issues, validated on load.

The YAML files are the contract that keeps parley free of any one negotiation: adding an actor, an
alias, an issue or a feed is an edit here, never in code. A bad file raises :class:`SeedError` whose
message names the file, the entry and the field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from etl.urls import UrlError, check_feed_url

KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class SeedError(Exception):
    """A seed file is missing or invalid; the message is one line naming file, entry and field."""


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
    id: str
    name: str
    kind: Literal["party", "mediator", "other"] = "other"
    aliases: list[str] = Field(default_factory=list)
    # aliases that name the actor only when the actor is also named plainly in the same article
    weak_aliases: list[str] = Field(default_factory=list)
    # descriptions ("the group") that refer back to the actor, only when it is named in the same article
    anaphors: list[str] = Field(default_factory=list)
    # actors whose word on this actor's position does not count (codebook: attributed by an adversary)
    adversaries: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("must be lower_snake_case")
        return value


Stance = Literal["proposes", "demands", "accepts", "rejects"]
ValueType = Literal["days", "count", "count_or_all", "number", "flag", "choice", "categories"]


class IssueSeed(_Seed):
    key: str
    label: str
    value_type: ValueType
    description: str = ""
    choices: list[str] = Field(default_factory=list, description="allowed values of choice/categories")
    cues: list[str] = Field(default_factory=list, description="words that signal the issue")
    # the extractor's reading of the issue (etl/extract.py): value regexes, their named fragments,
    # surface words for choice/categories values, stance cue words and agreement nouns
    patterns: list[str] = Field(default_factory=list, description="value regexes, {name} from vocab")
    vocab: dict[str, str] = Field(default_factory=dict, description="named regex fragments")
    terms: dict[str, str] = Field(default_factory=dict, description="surface word -> canonical value")
    stance_cues: dict[Stance, list[str]] = Field(default_factory=dict, description="cue words by stance")
    deal_cues: list[str] = Field(default_factory=list, description="nouns naming an agreement")
    context: list[str] = Field(default_factory=list, description="lemmas one of which must govern a value")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("must be lower_snake_case")
        return value


class FeedsFile(_Seed):
    feeds: list[FeedSeed]


class ActorsFile(_Seed):
    actors: list[ActorSeed]


class IssuesFile(_Seed):
    issues: list[IssueSeed]


_File = TypeVar("_File", FeedsFile, ActorsFile, IssuesFile)


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


def _load(path: Path, model: type[_File], list_field: str, id_field: str) -> _File:
    raw = read_yaml(path, SeedError)
    if not isinstance(raw, dict) or not isinstance(raw.get(list_field), list):
        raise SeedError(f"{path}: expected a mapping with a list under '{list_field}'")
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        entry = ""
        if len(loc) >= 2 and loc[0] == list_field and isinstance(loc[1], int):
            item = raw[list_field][loc[1]]
            name = item.get(id_field) if isinstance(item, dict) else None
            entry = f" entry #{loc[1] + 1}" + (f" ({name})" if name else "")
            loc = loc[2:]
        field = ".".join(str(p) for p in loc) or "(entry)"
        raise SeedError(f"{path}:{entry} field '{field}': {err['msg']}") from exc
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


def load_issues(path: Path) -> list[IssueSeed]:
    issues = _load(path, IssuesFile, "issues", "key").issues
    for index, issue in enumerate(issues):
        if issue.value_type in ("choice", "categories") and not issue.choices:
            raise SeedError(
                f"{path}: entry #{index + 1} ({issue.key}) field 'choices': "
                f"required for value_type {issue.value_type}"
            )
    return issues
