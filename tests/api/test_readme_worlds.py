"""The README's "One server, many worlds" examples work as written: the curl walk-through against a real
`carriersim serve`, and the pytest example under `pytest -n 2` against one server given by URL."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from carriersim.scenarios.live_server import ServeProcess
from carriersim.scenarios.worlds import RemoteServer

from .test_readme_http import _free_port

README = Path(__file__).resolve().parents[2] / "README.md"


def block(name: str) -> str:
    text = README.read_text("utf-8").split(f"<!-- {name}:begin -->")[1].split(f"<!-- {name}:end -->")[0]
    return re.search(r"```\w+\n(.*?)```", text, flags=re.DOTALL).group(1)


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_the_worlds_curl_walkthrough_runs_as_written(tmp_path):
    script = block("worlds-curl").replace("8080", str(_free_port()))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in re.findall(r"^\{.*\}$", done.stdout.replace("}{", "}\n{"), re.M)]
    card, advanced, default_clock, listing = answers[:4]
    assert card["carrier"] == "cmcc" and card["iccid"]
    assert advanced["now"] == "2027-04-01T00:00:00+08:00"
    assert default_clock["now"] == "2027-01-01T00:00:00+08:00"
    assert [w["cards"] for w in listing["items"]] == [0, 1]


def test_the_worlds_pytest_example_runs_as_written(tmp_path):
    (tmp_path / "test_retention.py").write_text(block("worlds-pytest"))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    with ServeProcess() as server:
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-q",
                               "--carriersim-target", server.url, f"--carriersim-admin-token={server.admin_token}"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
        assert [w["id"] for w in RemoteServer(server.url, server.admin_token).worlds()] == ["default"]
