"""What text a caller may send: one rule for every string from outside, on both databases.

PostgreSQL cannot store the NUL character in text, and no database can store a lone
UTF-16 surrogate (U+D800–U+DFFF: JSON can spell one as `"\\ud800"`, and a command-line
argument that is not UTF-8 arrives as one), because it has no UTF-8 form. SQLite would
keep a NUL silently while PostgreSQL answers an error, so such a string is refused at
the door — body fields, path and query parameters, command-line arguments — the same on
either database, before anything is read or written.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    what = "the NUL character" if char == "\x00" else "a lone surrogate"
    return (
        f"contains {what} (U+{ord(char):04X}) at position {found.start()}, which cannot be "
        "stored; send UTF-8 text without it"
    )
