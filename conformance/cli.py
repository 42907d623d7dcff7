"""The ``carriersim`` console script: the simulator's commands plus ``run`` (scenarios) and ``conformance``.

It lives in the top layer because it is the one place that brings all three together; ``simulator.cli`` alone
knows nothing of scenarios."""

from __future__ import annotations

import sys

from scenarios.cli import add_run_command
from simulator.cli import main as simulator_main


def main(argv: list[str] | None = None) -> int:
    return simulator_main(argv, extensions=(add_run_command,))


if __name__ == "__main__":
    sys.exit(main())
