"""Benchmark: the full ``core`` conformance suite for all carriers, in-process and over HTTP against
``carriersim serve`` (a child process, as in CI), in the same run. Last line: one JSON object.

    python bench/conformance.py

Also checks that both targets give identical results (``identical``: the same status for every scenario × carrier).
Bars (issue #6): in-process ≤ 15 s, HTTP ≤ 60 s.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# this folder holds bench/http.py, which would shadow the standard library's http package: off the path with it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carriersim.conformance.cli import run_suite  # noqa: E402
from carriersim.scenarios.live_server import ServeProcess  # noqa: E402

BARS = {"inprocess_s": 15.0, "http_s": 60.0}


def main() -> None:
    t0 = time.perf_counter()
    local = run_suite("core", "inprocess")
    inprocess_s = time.perf_counter() - t0
    with ServeProcess() as server:
        t1 = time.perf_counter()
        remote = run_suite("core", server.url, admin_token=server.admin_token)
        http_s = time.perf_counter() - t1
    statuses = {(o.scenario.id, o.carrier): o.status for o in local.outcomes}
    identical = statuses == {(o.scenario.id, o.carrier): o.status for o in remote.outcomes}
    print(json.dumps({
        "suite": local.suite.title, "scenario_runs": len(local.outcomes),
        "requirements": sum(len(row) for row in local.matrix.values()),
        "inprocess_s": round(inprocess_s, 2), "http_s": round(http_s, 2),
        "inprocess_conforms": local.conforms, "http_conforms": remote.conforms, "identical": identical,
        "bars_s": BARS, "bar_met": inprocess_s <= BARS["inprocess_s"] and http_s <= BARS["http_s"] and identical
        and local.conforms,
    }))


if __name__ == "__main__":
    main()
