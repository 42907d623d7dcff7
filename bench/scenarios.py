"""Benchmark: the whole scenario library, in-process, on every carrier each scenario names. Last line: one JSON.

    python bench/scenarios.py [--rounds 3]

Measures parsing (every file, with all checks) and running (every scenario × carrier on a fresh in-process
simulation each) separately; ``--rounds N`` keeps the best of N. Bar (issue #5): the whole library ≤ 20 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# this folder holds bench/http.py, which would shadow the standard library's http package: off the path with it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from carriersim.scenarios.parser import load_paths  # noqa: E402
from carriersim.scenarios.runner import PASSED, run  # noqa: E402
from carriersim.scenarios.targets.inprocess import InProcessTarget  # noqa: E402

LIBRARY = Path(__file__).resolve().parents[1] / "scenarios" / "library"
BAR_SECONDS = 20.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    best: dict[str, float] | None = None
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        library = load_paths([LIBRARY])
        t1 = time.perf_counter()
        target = InProcessTarget()
        outcomes = [run(sc, carrier, target) for sc in library for carrier in sc.carriers]
        t2 = time.perf_counter()
        figures = {"parse_s": t1 - t0, "run_s": t2 - t1, "total_s": t2 - t0}
        if best is None or figures["total_s"] < best["total_s"]:
            best = figures
    passed = sum(o.status == PASSED for o in outcomes)
    slowest = sorted(outcomes, key=lambda o: o.seconds, reverse=True)[:3]
    for o in slowest:
        print(f"slowest: {o.id} {o.seconds * 1000:.0f} ms")
    assert best is not None
    print(json.dumps({
        "files": len({sc.file for sc in library}), "scenarios": len(library), "runs": len(outcomes),
        "passed": passed, "parse_s": round(best["parse_s"], 3), "run_s": round(best["run_s"], 3),
        "total_s": round(best["total_s"], 3), "ms_per_run": round(best["run_s"] * 1000 / max(1, len(outcomes)), 2),
        "bar_s": BAR_SECONDS, "bar_met": best["total_s"] <= BAR_SECONDS and passed == len(outcomes),
    }))


if __name__ == "__main__":
    main()
