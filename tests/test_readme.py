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
