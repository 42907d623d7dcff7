"""Acceptance (issue 11): parallel runs against one server, each in worlds of their own.

- The scenario library as pytest items with ``pytest -n 2 --carriersim-target URL``: every item passes, the same
  items as in-process, and the server's default world is untouched (every item ran in a world of its own, deleted
  after it: the server allows only 2 created worlds at a time, one per xdist worker).
- ``carriersim conformance --target URL --jobs 2`` gives the matrix of ``--jobs 1``.
- The ``carrier_world`` fixture under ``pytest -n 2``: tests that each move their world's clock by a different
  amount, none seeing another's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from carriersim import scenarios
from carriersim.scenarios.live_server import ServeProcess
from carriersim.scenarios.parser import load_paths
from carriersim.scenarios.runner import PASSED, run
from carriersim.scenarios.targets.inprocess import InProcessTarget
from carriersim.scenarios.worlds import RemoteServer

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = Path(scenarios.__file__).parent / "library"


def pytest_run(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def junit_outcomes(path: Path) -> dict[str, str]:
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = child.tag
        out[f"{case.get('classname')}::{case.get('name')}"] = status
    return out


def test_the_library_under_xdist_against_one_server_runs_each_item_in_its_own_world(tmp_path):
    library = load_paths([LIBRARY])
    local = InProcessTarget()
    here = {f"{sc.name}[{c}]": run(sc, c, local).status for sc in library for c in sc.carriers}
    assert set(here.values()) == {PASSED}
    report = tmp_path / "junit.xml"
    with ServeProcess("--max-worlds", "2") as server:
        done = pytest_run("-n", "2", "scenarios/library", "--carriersim-target", server.url,
                          f"--carriersim-admin-token={server.admin_token}", "-q", f"--junitxml={report}")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        there = junit_outcomes(report)
        assert len(there) == len(here)
        assert {name.split("::", 1)[1] for name in there} == set(here)
        assert set(there.values()) == {"passed"}, {k: v for k, v in there.items() if v != "passed"}
        worlds = RemoteServer(server.url, server.admin_token).worlds()
        assert [w["id"] for w in worlds] == ["default"]  # each item's world was deleted after it
        assert (worlds[0]["accounts"], worlds[0]["cards"]) == (0, 0)  # and no item used the default world
        assert worlds[0]["clock"]["now"] == "2027-01-01T00:00:00+08:00"


def test_conformance_with_two_jobs_against_one_server_gives_the_matrix_of_one(tmp_path):
    with ServeProcess() as server:
        matrices = {}
        for jobs in ("1", "2"):
            out = tmp_path / f"jobs{jobs}"
            done = subprocess.run([sys.executable, "-m", "carriersim", "conformance", "--target", server.url,
                                   f"--admin-token={server.admin_token}", "--jobs", jobs, "--report-dir", str(out),
                                   "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
            report = json.loads((out / "conformance.json").read_text())
            matrices[jobs] = report
        one, two = matrices["1"], matrices["2"]
        assert _verdicts(one) == _verdicts(two) and len(_verdicts(one)) >= 200
        assert one["counts"] == two["counts"] and one["conforms"] and two["conforms"]
        assert [w["id"] for w in RemoteServer(server.url, server.admin_token).worlds()] == ["default"]


def _verdicts(report: dict) -> dict[tuple[str, str], str]:
    """rule × carrier -> status, from conformance.json, and each outcome's status."""
    cells = {(req["rule"], c): cell["status"] for req in report["requirements"]
             for c, cell in req["carriers"].items()}
    runs = {(o["scenario"], o["carrier"]): o["status"] for o in report["outcomes"]}
    return {**cells, **runs}


WORLD_TESTS = '''
import pytest

@pytest.mark.parametrize("hours", range(1, 9))
def test_my_world_moves_alone(carrier_world, hours):
    account, key = carrier_world.create_account("Acme IoT")
    card = carrier_world.api("POST", "/v1/cards", key, {"carrier": "cmcc", "plan": "CMCC-M100", "payment": "20"})
    before = carrier_world.now()
    carrier_world.advance(by=f"{hours} hours")
    assert carrier_world.now() == f"2027-01-01T{hours:02d}:00:00+08:00" and before.startswith("2027-01-01T00:00")
    assert carrier_world.api("GET", "/v1/cards", key)["items"][0]["iccid"] == card["iccid"]
'''


def test_the_carrier_world_fixture_under_xdist_on_a_server_of_its_own(tmp_path):
    """Without --carriersim-target, each xdist worker starts a session server; on a URL, see
    tests/api/test_readme_worlds.py (the README's example under -n 2 against one server)."""
    (tmp_path / "test_mine.py").write_text(WORLD_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    done = pytest_run("-n", "2", "-q", cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and "8 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
