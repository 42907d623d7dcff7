"""carriersim: a fake multi-carrier IoT connectivity platform with a clock you can move.

The distribution installs one import name, ``carriersim``, so that it never collides with a platform's own
``simulator``, ``scenarios`` or ``conformance`` packages. Its three layers are subpackages (imports point down only):

* ``carriersim.simulator`` — the engine, carrier profiles, durable state and the HTTP API;
* ``carriersim.scenarios`` — the scenario language, its runner, targets and pytest plugin;
* ``carriersim.conformance`` — versioned suites, reports, mutants and the ``carriersim`` command.

The common entry points are re-exported here::

    from carriersim import Simulation
    sim = Simulation(seed=1)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .simulator import ProfileError, Reason, SimError, Simulation, State, builtin_profile, builtin_profiles, \
    load_profile

try:
    __version__ = version("carriersim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["Simulation", "SimError", "ProfileError", "State", "Reason", "load_profile", "builtin_profile",
           "builtin_profiles", "__version__"]
