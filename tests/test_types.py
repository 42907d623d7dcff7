"""The engine and the server type-check: mypy over simulator/ (configured in pyproject.toml) reports nothing.

Run in a fresh interpreter so the check sees the source as CI does; the package ships ``py.typed``, so a platform
that type-checks its own code against carriersim sees the same annotations.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_no_errors_in_the_simulator():
    done = subprocess.run([sys.executable, "-m", "mypy", "simulator"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout


def test_the_package_ships_py_typed():
    assert (ROOT / "carriersim" / "py.typed").is_file()
