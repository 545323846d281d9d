"""The checks a CSV import runs on every character, written for speed, answer exactly as their
definitions do: control characters by Unicode category, skeletons character by character,
folding without combining marks."""

from __future__ import annotations

import sys
import unicodedata

from accounts.forms.text import has_control_characters
from accounts.identity import _prototypes, skeleton
from accounts.search import _UNDECOMPOSED, fold

EVERY_CODE_POINT = [chr(point) for point in range(sys.maxunicode + 1)]
NOT_ONE_LINE = {"Cc", "Zl", "Zp"}  # control characters, line and paragraph separators
DIRECTION_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def by_category(value: str) -> bool:
    """What has_control_characters means, by Unicode's categories: the test's reference."""
    return any(
        unicodedata.category(char) in NOT_ONE_LINE or char in DIRECTION_OVERRIDES for char in value
    )


def test_control_characters_are_found_as_their_categories_say_over_every_code_point():
    flagged = {char for char in EVERY_CODE_POINT if has_control_characters(char)}
    categorized = {char for char in EVERY_CODE_POINT if by_category(char)}

    assert flagged == categorized
    assert {"\x00", "\u202e", "\u2028"} <= flagged
    assert has_control_characters("Zoë\tMüller")
    assert not has_control_characters("Zoë Müller")


def test_a_skeleton_maps_each_character_to_its_prototype_as_tr39_says():
    def by_character(text: str) -> str:
        prototypes = _prototypes()
        decomposed = unicodedata.normalize("NFD", text)
        mapped = "".join(prototypes.get(char, char) for char in decomposed)
        return unicodedata.normalize("NFD", mapped)

    every_source = "".join(_prototypes())
    look_alikes = ["p\u0430ypal.example", "\uff4d\uff49\uff43\uff52\uff4f"]  # Cyrillic a, fullwidth
    for text in [every_source, *look_alikes, "Zoë Müller", "plain"]:
        assert skeleton(text) == by_character(text)


def test_folding_skips_the_walk_only_where_there_is_no_mark_to_drop():
    def walking_every_character(text: str) -> str:  # fold as it was, without the ASCII path
        decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
        plain = "".join(char for char in decomposed if not unicodedata.combining(char))
        return " ".join(plain.split())

    texts = ["Zoë  Müller", "ZOE MULLER", "İstanbul", "plain@example.com", "Ærøskøbing", "ﬁle"]
    for text in texts + EVERY_CODE_POINT[:0x3000]:
        assert fold(text) == walking_every_character(text)
    assert fold("Zoë  Müller") == "zoe muller"
