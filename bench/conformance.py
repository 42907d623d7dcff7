"""Benchmark: the full ``core`` conformance suite for all carriers, in-process and over HTTP against
``carriersim serve`` (a child process, as in CI), and repeated runs of the reference. Last line: one JSON object.

    python bench/conformance.py [--repeat 20]

- ``whole_process_s``: ``carriersim conformance`` (core, in-process) as a fresh process, start to exit — what a CI
  step pays. Bar (issue #16): ≤ 5 s.
- ``http_s``: the suite against ``carriersim serve`` in a child process. Bar: ≤ 30 s.
- ``identical``: both targets give the same status for every scenario × carrier.
- ``false_failures``: over ``--repeat`` runs of the reference (the in-process simulator), every scenario × carrier
  that did not pass; the reference must give none (bar: 0 in 20 runs), so a failure always means a fault.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

# this folder holds bench/http.py, which would shadow the standard library's http package: off the path with it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carriersim.conformance.cli import run_suite  # noqa: E402
from carriersim.scenarios.live_server import ServeProcess  # noqa: E402

BARS = {"whole_process_s": 5.0, "http_s": 30.0, "false_failures": 0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=20, help="runs of the reference to count false failures over")
    args = ap.parse_args()
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "carriersim", "conformance", "--quiet"], capture_output=True,
                          text=True)
    whole_process_s = time.perf_counter() - t
    t0 = time.perf_counter()
    local = run_suite("core", "inprocess")
    inprocess_s = time.perf_counter() - t0
    with ServeProcess() as server:
        t1 = time.perf_counter()
        remote = run_suite("core", server.url, admin_token=server.admin_token)
        http_s = time.perf_counter() - t1
    statuses = {(o.scenario.id, o.carrier): o.status for o in local.outcomes}
    identical = statuses == {(o.scenario.id, o.carrier): o.status for o in remote.outcomes}
    false_failures: list[str] = []
    for _ in range(args.repeat):
        again = run_suite("core", "inprocess")
        false_failures += [o.id for o in again.outcomes if o.status != "passed"]
    print(json.dumps({
        "suite": local.suite.title, "scenario_runs": len(local.outcomes),
        "requirements": sum(len(row) for row in local.matrix.values()),
        "whole_process_s": round(whole_process_s, 2), "whole_process_exit": done.returncode,
        "inprocess_s": round(inprocess_s, 2), "http_s": round(http_s, 2),
        "inprocess_conforms": local.conforms, "http_conforms": remote.conforms, "identical": identical,
        "repeats": args.repeat, "false_failures": len(false_failures), "false_failure_ids": sorted(set(false_failures)),
        "bars": BARS, "bar_met": whole_process_s <= BARS["whole_process_s"] and http_s <= BARS["http_s"]
        and identical and local.conforms and done.returncode == 0 and not false_failures,
    }))


if __name__ == "__main__":
    main()
