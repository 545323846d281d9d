"""Folding text for search: case-, accent- and width-insensitive, the same on every database.

A user's folded name and email are stored beside them (User.search_text), so a search is a plain
`contains` on one column: the same on SQLite and PostgreSQL, and indexable (trigrams) at scale.
"""

import unicodedata

# Letters that Unicode does not decompose into a base letter and an accent. \u0131 is the
# dotless i of Turkish names such as Yilmaz.
_UNDECOMPOSED = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "\u0131": "i",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ħ": "h",
    }
)


def fold(text: str) -> str:
    """'Zoë  Müller' → 'zoe muller': lower case, no accents, single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    # ASCII has no combining marks: most names and every plain email skip the walk.
    plain = (
        decomposed
        if decomposed.isascii()
        else "".join(char for char in decomposed if not unicodedata.combining(char))
    )
    return " ".join(plain.split())
