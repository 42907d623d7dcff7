"""Whole-process time of an in-process ``carriersim conformance`` run (the core suite), and what its CLI imports.

    python bench/startup.py [--rounds 5] [--carriersim PATH ...]

Each ``--carriersim`` is a console script to time (default: the one beside this interpreter); give two — e.g. an
install of an earlier version and this one — to compare them in the same run, rounds interleaved so that both see
the same machine. Reports, per script, the best and median wall and CPU seconds of the whole process, the
cumulative import time of the CLI module and whether importing it loads aiohttp. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(script: Path) -> tuple[float, float]:
    started = time.perf_counter()
    before = os.times()
    subprocess.run([str(script), "conformance", "--quiet"], check=True, capture_output=True)
    after = os.times()
    return time.perf_counter() - started, (after.children_user - before.children_user
                                           + after.children_system - before.children_system)


def imports(script: Path) -> tuple[float, bool]:
    python = script.parent / "python"
    module = "carriersim.conformance.cli"
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, text=True)
    if probe.returncode != 0:
        module = "conformance.cli"  # carriersim 0.1 installed its layers as top-level modules
    out = subprocess.run([str(python), "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                         text=True, check=True).stderr
    line = next(l for l in out.splitlines() if re.search(rf"\| {re.escape(module)}$", l))
    return int(line.split("|")[1]) / 1e6, "aiohttp" in out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--carriersim", action="append", type=Path,
                    help="a carriersim console script to time (repeat to compare)")
    args = ap.parse_args()
    scripts = args.carriersim or [Path(sys.executable).parent / "carriersim"]
    runs: dict[Path, list[tuple[float, float]]] = {s: [] for s in scripts}
    for _ in range(args.rounds):
        for script in scripts:
            runs[script].append(timed(script))
    result = {}
    for script, times in runs.items():
        wall, cpu = [w for w, _ in times], [c for _, c in times]
        import_s, aiohttp = imports(script)
        version = subprocess.run([str(script.parent / "python"), "-c", "from importlib.metadata import version; "
                                  "print(version('carriersim'))"], capture_output=True, text=True).stdout.strip()
        result[str(script)] = {"version": version, "wall_best_s": round(min(wall), 3),
                               "wall_median_s": round(statistics.median(wall), 3), "cpu_best_s": round(min(cpu), 3),
                               "cpu_median_s": round(statistics.median(cpu), 3),
                               "cli_import_s": round(import_s, 3), "cli_imports_aiohttp": aiohttp}
        print(f"{version:>8}  wall best {min(wall):.2f} s (median {statistics.median(wall):.2f}), CPU best "
              f"{min(cpu):.2f} s; CLI import {import_s:.2f} s, aiohttp {'loaded' if aiohttp else 'not loaded'}")
    print(json.dumps({"rounds": args.rounds, "runs": result}))


if __name__ == "__main__":
    main()
