"""What the article store computes and sends, without a database: the content hash's normalisation
(which decides ``duplicate_of``) and the text of a value in a COPY stream (``etl.db.copy_field``)."""

from __future__ import annotations

import hashlib
import re
import sys
from datetime import UTC, date, datetime

import pytest

from etl.db import copy_field
from etl.ingest.entries import content_hash


def test_str_split_knows_the_same_whitespace_as_the_regex_it_replaced() -> None:
    # content_hash collapses whitespace with str.split(); stored hashes were made with re's \s+.
    # The two must agree on every code point, or old and new copies of a story would not match.
    space = re.compile(r"\s")
    differing = [
        hex(point)
        for point in range(sys.maxunicode + 1)
        if chr(point).isspace() != bool(space.match(chr(point)))
    ]
    assert differing == []


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Title", "Gaza  truce\textended\n\nby two days "),
        ("Title", "\u00a0non-breaking\u2003em space\u3000ideographic\x1cfile separator\x85next line "),
        ("Truce talks resume", " \n\t "),  # no text: the title is hashed
        ("", ""),
        ("Title", "ÜNÏCODE Straße ǅ"),  # casefolded, not just lowercased
    ],
)
def test_content_hash_is_the_sha256_of_the_normalised_text(title: str, text: str) -> None:
    basis = text if text.strip() else title
    normal = re.sub(r"\s+", " ", basis).strip().casefold()
    assert content_hash(title, text) == hashlib.sha256(normal.encode("utf-8")).hexdigest()


def test_copies_differing_only_in_whitespace_and_case_hash_alike() -> None:
    assert content_hash("a", "Hamas  Says\nYes") == content_hash("b", " hamas says yes\t")
    assert content_hash("a", "Hamas says yes") != content_hash("a", "Hamas says no")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        (None, "\\N"),
        ("plain", "plain"),
        ("tab\there", "tab\\there"),
        ("two\nlines\r\n", "two\\nlines\\r\\n"),
        ("back\\slash \\N", "back\\\\slash \\\\N"),  # a literal \N is not NULL
        ("", ""),
        (b"\x00\xffA", "\\\\x00ff41"),  # bytea's hex input, its backslash escaped
        (b"", "\\\\x"),
        (42, "42"),
        (0.5, "0.5"),
        (True, "True"),
        (datetime(2023, 11, 24, 7, 0, tzinfo=UTC), "2023-11-24T07:00:00+00:00"),
        (date(2023, 11, 24), "2023-11-24"),
    ],
)
def test_copy_field_writes_copy_text_format(value: object, field: str) -> None:
    assert copy_field(value) == field
