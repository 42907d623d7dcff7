"""The README's engine example runs as written and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_engine_example_is_ten_lines_and_runs():
    block = re.search(r"```python\n(.*?)```", README.read_text("utf-8"), flags=re.DOTALL).group(1)
    assert len(block.strip().splitlines()) == 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README.md", "exec"), {})
    assert out.getvalue().splitlines() == [
        "suspended Reasons(quota)",
        "cancelled 0",
    ]


def _serve_parser():
    from carriersim.conformance.cli import main  # noqa: F401 - the console script's parser has every command
    from carriersim.simulator.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices["serve"]


def _serve_table() -> dict[str, list[str]]:
    text = README.read_text("utf-8")
    block = text.split("<!-- serve-options:begin -->")[1].split("<!-- serve-options:end -->")[0]
    rows = {}
    for line in block.splitlines():
        m = re.match(r"\| `(--[a-z-]+)([^`]*)` \| (.*?) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = [m.group(2).strip(), m.group(3), m.group(4)]
    return rows


def test_readme_serve_table_lists_every_option_of_carriersim_serve():
    """The table cannot drift from argparse: the same options, their choices, defaults and repeatability."""
    table = _serve_table()
    actions = [a for a in _serve_parser()._actions if a.option_strings and "--help" not in a.option_strings]
    assert sorted(table) == sorted(a.option_strings[0] for a in actions)
    for action in actions:
        arg, default, what = table[action.option_strings[0]]
        if action.choices:
            assert arg == "\\|".join(action.choices), action.dest
        elif action.nargs == 0:
            assert arg == "" and default == "off", action.dest
        else:
            assert arg == action.metavar or arg.isupper(), action.dest
        if action.__class__.__name__ == "_AppendAction":
            assert "repeatable" in what, action.dest
        elif action.default not in (None, False):
            assert default.startswith(f"`{action.default}`"), (action.dest, default)
    for env in ("CARRIERSIM_ADMIN_TOKEN", "CARRIERSIM_DB"):
        assert env in "".join(v[1] for v in table.values())
