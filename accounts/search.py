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


# Punctuation of emails and names that the trigram index accounts_user_org_squeezed_trgm
# (migration 0024) leaves out of the search text. pg_trgm reads only letters and digits: for
# "ia.garc" it looks up "ia" and "garc" as two word parts, and the index offers every Garcia of
# the organization (3,040 of them at the bench's million users, each then read in the table to
# find the 235 that hold "ia.garc"). Without the dot, "iagarc" is one run of letters, whose
# trigrams only those 235 hold.
SQUEEZED_OUT = ".@-_+'"
_SQUEEZE = str.maketrans("", "", SQUEEZED_OUT)


def squeeze(text: str) -> str:
    """'maria.garcia@contoso.com' → 'mariagarciacontosocom': the text without SQUEEZED_OUT.

    A word the text holds is held, squeezed, by the squeezed text: a search may ask both, the
    squeezed one of the index and the plain one that decides."""
    return text.translate(_SQUEEZE)


# A word of fewer letters than a trigram gives a trigram index nothing to look up.
TRIGRAM = 3


def looked_up(word: str) -> bool:
    """Whether a trigram index can answer a folded search word: its letters and digits, once
    SQUEEZED_OUT is left out, make at least a trigram (squeezed, "a.b" has two)."""
    return len(squeeze(word)) >= TRIGRAM
