"""The README's HTTP walk-through (curl) works as written against a real `carriersim serve`."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_readme_curl_walkthrough_runs_as_written(tmp_path):
    text = README.read_text("utf-8").split("## The HTTP API", 1)[1]
    script = re.search(r"```sh\n(.*?)```", text, flags=re.DOTALL).group(1)
    port = str(_free_port())
    script = script.replace("8080", port)  # the same walk-through, on a port free on this machine
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert '"state": "retained"' in out and '"reasons": ["expired"]' in out
    assert '"new_state": "cancelled"' in out
    assert "ready at http://127.0.0.1:" + port in out
