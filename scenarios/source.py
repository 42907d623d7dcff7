"""YAML text to plain data, remembering where every key and value was written.

PyYAML's composer gives nodes with marks; we build the Python values ourselves so that each path
(``("steps", 3, "advance")``) maps to the line and column of its key and of its value. Every later error (schema,
unknown step, misspelt field, bad duration) can then point at the exact spot in the file. Timestamps stay text:
the scenario language reads times itself, in the carrier's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
import yaml.constructor

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Where:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Problem:
    where: Where
    message: str
    line: str | None = None  # the source line the problem is on, for the excerpt

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    def render(self) -> str:
        """``file:line:column: message``, then the line of source with a caret under the spot."""
        if self.line is None or self.where.line < 1:
            return str(self)
        number = str(self.where.line)
        text = self.line.rstrip("\n").replace("\t", " ")
        caret = " " * (max(self.where.column, 1) - 1) + "^"
        return f"{self}\n  {number} | {text}\n  {' ' * len(number)} | {caret}"


class ScenarioError(Exception):
    """One or more problems in scenario files; nothing runs until there are none."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    def render(self) -> str:
        """Every problem with its excerpt."""
        return "\n".join(p.render() for p in self.problems)


@dataclass
class Located:
    """A loaded document and the marks of its values and keys, by path."""

    file: str
    data: Any
    values: dict[Path, Where] = field(default_factory=dict)
    keys: dict[Path, Where] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    #: values YAML 1.1 read as booleans from a word (no, on, yes, off …), with the word as written
    words: dict[Path, str] = field(default_factory=dict)

    def line(self, where: Where) -> str | None:
        return self.lines[where.line - 1] if 0 < where.line <= len(self.lines) else None

    def at(self, path: Path, *, key: bool = False) -> Where:
        """The closest known mark for ``path`` (the key's mark when ``key``), walking up to the parent."""
        path = tuple(path)
        table = self.keys if key else self.values
        while path:
            if path in table:
                return table[path]
            if not key and path in self.keys:
                return self.keys[path]
            path = path[:-1]
        return self.values.get((), Where(self.file, 1, 1))


_constructor = yaml.constructor.SafeConstructor()
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _where(file: str, node: yaml.Node) -> Where:
    return Where(file, node.start_mark.line + 1, node.start_mark.column + 1)


# libyaml composes about ten times faster than PyYAML's pure-Python parser (the library's 13 files were half
# of an in-process conformance run) with the same nodes and marks; syntax errors are re-read by the pure-Python
# parser, whose messages and positions the hints below were written for.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str, file: str) -> Located:
    """Parse ``text``; a YAML syntax error (bad indentation, an unclosed bracket …) is a ``ScenarioError`` with
    the position PyYAML found it at."""
    try:
        try:
            node = yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Where(file, mark.line + 1, mark.column + 1) if mark else Where(file, 1, 1)
        problem = exc.problem or "not valid YAML"
        context = f" ({exc.context})" if exc.context else ""
        if "'\\t'" in problem:
            hint = " Indent with spaces; YAML does not allow tabs."
        elif "indent" in problem or "mapping values" in problem or "block" in (exc.context or ""):
            hint = " Check the indentation: items of one list or mapping start in the same column."
        else:
            hint = ""
        lines = text.splitlines()
        excerpt = lines[where.line - 1] if 0 < where.line <= len(lines) else None
        raise ScenarioError([Problem(where, f"YAML syntax: {problem}{context}.{hint}", excerpt)]) from None
    located = Located(file, None, lines=text.splitlines())
    problems: list[Problem] = []
    if node is None:
        raise ScenarioError([Problem(Where(file, 1, 1), "the file is empty; it should hold a scenario "
                                     "(a mapping with name and steps) or a list of them.")])
    located.data = _build(node, (), located, problems)
    for p in problems:
        p.line = located.line(p.where)
    if problems:
        raise ScenarioError(problems)
    return located


def _build(node: yaml.Node, path: Path, out: Located, problems: list[Problem]) -> Any:
    out.values[path] = _where(out.file, node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(_where(out.file, key_node), "a key must be a plain word."))
                continue
            key = _scalar(key_node)
            if key == "<<":
                problems.append(Problem(_where(out.file, key_node), "merge keys (<<) are not supported; "
                                        "write the fields out."))
                continue
            if key in result:
                problems.append(Problem(_where(out.file, key_node), f"{key!r} is given twice in this mapping; "
                                        "the second would silently win. Keep one."))
                continue
            out.keys[path + (key,)] = _where(out.file, key_node)
            result[key] = _build(value_node, path + (key,), out, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), out, problems) for i, item in enumerate(node.value)]
    value = _scalar(node)
    # a plain scalar has no style: None from PyYAML's parser, "" from libyaml's
    if isinstance(value, bool) and not node.style and node.value.lower() not in ("true", "false"):
        out.words[path] = node.value
    return value


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _TIMESTAMP:
        return node.value  # times are read by the scenario language, in the carrier's zone
    return _constructor.construct_object(node, deep=True)
