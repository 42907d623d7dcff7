"""The recorder: a live session over HTTP (``serve --record DIR``) exported as a scenario (``carriersim record
export ID``) replays with ``carriersim run`` — and fails under a mutant of the rule it exercised. Bad input is a
clear error and writes nothing."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from carriersim.conformance.cli import main
from carriersim.conformance.mutants import all_mutants
from carriersim.scenarios.live_server import ServeProcess
from carriersim.simulator import Simulation
from carriersim.simulator.http import create_app
from carriersim.simulator.http.recorder import RecorderError

from .apihelp import ADMIN, account, ok
from .test_readme_http import README, _free_port

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"
MUTANTS = {m.name: m for m in all_mutants()}


def carriersim(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def replays(path: Path, mutant: str | None = None) -> int:
    """``carriersim run FILE`` in this process (under a mutant when named): its exit code."""
    with MUTANTS[mutant].applied() if mutant else contextlib.nullcontext():
        return carriersim("run", str(path), "--quiet")[0]


def _admin(url: str, token: str, method: str, path: str) -> dict:
    req = urllib.request.Request(url + path, method=method, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash")
def test_the_readme_walkthrough_recorded_exports_a_scenario_that_replays(tmp_path):
    script = re.search(r"```sh\n(.*?)```", README.read_text("utf-8").split("## The HTTP API", 1)[1],
                       flags=re.DOTALL).group(1)
    recs = tmp_path / "recs"
    script = script.replace("8080", str(_free_port())).replace("--admin-token secret &",
                                                               f"--admin-token secret --record {recs} &")
    script += "\nwait\n"  # the clean stop closes the recording
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rc, text, err = carriersim("record", "export", "rec-0001", "--dir", str(recs))
    assert rc == 0, err
    assert "8986" not in text  # ICCIDs are names (card1), not literals
    assert "state: cancelled" in text and "advance: '2027-05-01T00:00:00+08:00'" in text
    bug = tmp_path / "bug.yaml"
    bug.write_text(text)
    assert replays(bug) == 0
    assert replays(bug, "retention_four_months") == 1


@pytest.mark.parametrize("name, mutant", [("expiry_retention.yaml", "retention_four_months"),
                                          ("quota.yaml", "quota_stop_not_lifted"),
                                          ("plan_change.yaml", "plan_change_immediate")])
def test_library_scenarios_over_http_recorded_replay_and_catch_a_mutant(tmp_path, name, mutant):
    recs = tmp_path / "recs"
    with ServeProcess("--record", str(recs)) as server:
        rc, _, err = carriersim("run", str(LIBRARY / name), "--target", server.url, "--admin-token",
                                server.admin_token, "--quiet")
        assert rc == 0, err
        running = _admin(server.url, server.admin_token, "GET", "/_sim/recordings")["items"]
        assert [r["status"] for r in running] == ["running"]
        stopped = _admin(server.url, server.admin_token, "POST", "/_sim/recordings/rec-0001/stop")
        assert stopped["status"] == "stopped" and stopped["entries"] > 10
    out = tmp_path / "exported.yaml"
    rc, _, err = carriersim("record", "export", "rec-0001", "--dir", str(recs), "-o", str(out))
    assert rc == 0, err
    assert replays(out) == 0
    assert replays(out, mutant) == 1


def test_export_of_an_unknown_recording_is_a_clear_error_and_writes_nothing(tmp_path):
    out = tmp_path / "bug.yaml"
    rc, text, err = carriersim("record", "export", "rec-0042", "--dir", str(tmp_path), "-o", str(out))
    assert rc == 1 and text == "" and "no recording 'rec-0042'" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


async def test_export_of_a_recording_still_running_is_refused(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", record=str(tmp_path)))
    acme = await account(client)
    await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100"}, headers=acme["H"]), 201)
    listed = await ok(await client.get("/_sim/recordings", headers=ADMIN))
    assert [r["status"] for r in listed["items"]] == ["running"]
    out = tmp_path / "bug.yaml"
    rc, text, err = carriersim("record", "export", "rec-0001", "--dir", str(tmp_path), "-o", str(out))
    assert rc == 1 and text == "" and "still running" in err and not out.exists()
    assert (await client.post("/_sim/recordings", headers=ADMIN)).status == 409  # one at a time
    await ok(await client.post("/_sim/recordings/rec-0001/stop", headers=ADMIN))
    assert (await client.post("/_sim/recordings/rec-0001/stop", headers=ADMIN)).status == 409
    assert (await client.get("/_sim/recordings/rec-0099", headers=ADMIN)).status == 404
    rc, text, err = carriersim("record", "export", "rec-0001", "--dir", str(tmp_path))
    assert rc == 0 and "open_card" in text, err
    second = await ok(await client.post("/_sim/recordings", headers=ADMIN), 201)
    assert second["id"] == "rec-0002" and second["status"] == "running"


async def test_recordings_need_a_directory(client):
    resp = await client.post("/_sim/recordings", headers=ADMIN)
    assert resp.status == 409 and (await resp.json())["code"] == "recording_disabled"
    assert (await ok(await client.get("/_sim/recordings", headers=ADMIN))) == {"items": [], "dir": None}


def test_a_directory_that_cannot_be_written_is_refused_before_serving(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RecorderError, match="cannot write recordings to"):
        create_app(Simulation(seed=1), admin_token="admin", record=str(blocker / "recs"))
    done = subprocess.run([sys.executable, "-m", "carriersim", "serve", "--port", "0", "--record",
                           str(blocker / "recs")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "cannot write recordings to" in done.stderr and "ready" not in done.stdout
    assert list(tmp_path.iterdir()) == [blocker]


def test_swaps_refunds_and_batches_become_names_and_variables(tmp_path):
    recs = tmp_path / "recs"
    with ServeProcess("--record", str(recs)) as server:
        for name in ("lost_swap.yaml", "batch_refunds.yaml"):
            rc, _, err = carriersim("run", str(LIBRARY / name), "--target", server.url, "--admin-token",
                                    server.admin_token, "--quiet")
            assert rc == 0, err
    rc, text, err = carriersim("record", "export", "rec-0001", "--dir", str(recs))
    assert rc == 0, err
    opened = {op["result"] for line in (recs / "rec-0001.jsonl").read_text().splitlines()
              for op in json.loads(line).get("ops", []) if op["op"] in ("open_card", "swap") and "result" in op}
    assert opened and not any(iccid in text for iccid in opened)  # the cards are names; bad batch rows stay
    assert "- swap:" in text and "- batch:" in text
    assert "save: payment1" in text and "${payment1.payment}" in text
    out = tmp_path / "exported.yaml"
    out.write_text(text)
    assert replays(out) == 0


async def test_accelerated_clock_moves_are_advances_and_a_fleet_cannot_be_exported(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(Simulation(seed=1), admin_token="admin", record=str(tmp_path)))
    acme = await account(client)
    card = await ok(await client.post("/v1/cards", json={"carrier": "cmcc", "plan": "CMCC-M100",
                                                         "auto_renew": False}, headers=acme["H"]), 201)
    await ok(await client.post(f"/v1/cards/{card['iccid']}/activation", json={}, headers=acme["H"]))
    await ok(await client.post("/_sim/clock/mode", json={"mode": "accelerated", "rate": 86400 * 20}, headers=ADMIN))
    import asyncio

    for _ in range(100):  # a month of simulated time passes in ticks of the accelerated clock
        await asyncio.sleep(0.1)
        if (await ok(await client.get(f"/v1/cards/{card['iccid']}", headers=acme["H"])))["state"] == "retained":
            break
    await asyncio.sleep(0)  # a month of simulated time passes in ticks of the accelerated clock
    await ok(await client.post("/_sim/clock/mode", json={"mode": "frozen"}, headers=ADMIN))
    await ok(await client.post("/_sim/recordings/rec-0001/stop", headers=ADMIN))
    rc, text, err = carriersim("record", "export", "rec-0001", "--dir", str(tmp_path))
    assert rc == 0, err
    assert text.count("- advance:") >= 1 and "state: retained" in text and card["iccid"] not in text
    assert "set_clock_mode ×2" in text  # server-side, listed, not replayed
    exported = tmp_path / "accelerated.yaml"
    exported.write_text(text)
    assert replays(exported) == 0
    await ok(await client.post("/_sim/recordings", headers=ADMIN), 201)
    await ok(await client.post("/_sim/fleet", json={"cards": 3}, headers=ADMIN), 201)
    await ok(await client.post("/_sim/recordings/rec-0002/stop", headers=ADMIN))
    rc, text, err = carriersim("record", "export", "rec-0002", "--dir", str(tmp_path))
    assert rc == 1 and text == "" and "already had 1 card" in err
