""""Did you mean …?": the nearest valid word for a misspelt one."""

from __future__ import annotations

import difflib
from typing import Any, Iterable


def nearest(word: Any, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or an empty string when nothing is close."""
    if not isinstance(word, str):
        return ""
    choices = list(options)
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not match:
        lowered = {c.lower(): c for c in choices}
        match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        match = [lowered[m] for m in match]
    return f" (did you mean {match[0]!r}?)" if match else ""
