"""``-k EXPR``: pytest-style keyword selection over a scenario's name, file name and rule ids."""

from __future__ import annotations

import re
from pathlib import PurePath

from .model import Scenario

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def matches_keyword(expr: str, scenario: Scenario) -> bool:
    """``quota``, ``PLAN-1 or PLAN-2``, ``retention and not pool``: each word matches as a case-insensitive
    substring of the scenario's name, file name or any of its rule ids."""
    haystack = " ".join([scenario.name, PurePath(scenario.file).name, *scenario.rules]).lower()
    tokens = _TOKEN.findall(expr)
    pos = 0

    def parse_or() -> bool:
        nonlocal pos
        value = parse_and()
        while pos < len(tokens) and tokens[pos].lower() == "or":
            pos += 1
            value = parse_and() or value
        return value

    def parse_and() -> bool:
        nonlocal pos
        value = parse_not()
        while pos < len(tokens) and tokens[pos].lower() == "and":
            pos += 1
            value = parse_not() and value
        return value

    def parse_not() -> bool:
        nonlocal pos
        if pos < len(tokens) and tokens[pos].lower() == "not":
            pos += 1
            return not parse_not()
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            value = parse_or()
            if pos >= len(tokens) or tokens[pos] != ")":
                raise ValueError(f"-k {expr!r}: a '(' is not closed")
            pos += 1
            return value
        if pos >= len(tokens):
            raise ValueError(f"-k {expr!r}: a word is missing at the end")
        word = tokens[pos].lower()
        pos += 1
        return word in haystack

    result = parse_or()
    if pos != len(tokens):
        raise ValueError(f"-k {expr!r}: cannot read {' '.join(tokens[pos:])!r}")
    return result
