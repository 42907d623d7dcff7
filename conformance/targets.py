"""Which implementation a conformance run judges: ``inprocess``, a server URL, or ``plugin:NAME`` — a Python
adapter registered under the ``carriersim.targets`` entry point group (see conformance/examples/tinycmp)."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from carriersim.scenarios.target import Target
from carriersim.scenarios.targets import open_target

ENTRY_POINT_GROUP = "carriersim.targets"
TARGET_ENV = "CARRIERSIM_TARGET_URL"
TOKEN_ENV = "CARRIERSIM_ADMIN_TOKEN"


def plugin_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def resolve(spec: str | None, admin_token: str | None = None) -> Target:
    """A target from ``--target`` (default: $CARRIERSIM_TARGET_URL, else in-process)."""
    spec = spec or os.environ.get(TARGET_ENV) or "inprocess"
    if spec.startswith("plugin:"):
        name = spec.split(":", 1)[1]
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            known = ", ".join(plugin_names()) or "none installed"
            raise ValueError(f"No target plugin {name!r} in the {ENTRY_POINT_GROUP!r} entry point group "
                             f"(installed: {known}).")
        factory = found[0].load()
        target = factory()
        if not isinstance(target, Target):
            raise ValueError(f"Plugin {name!r} ({found[0].value}) made a {type(target).__name__}, which does not "
                             "implement the Target protocol (scenarios/target.py).")
        return target
    # a server that offers worlds gives each run a world of its own (and so each --jobs worker): the default
    # world is left as it was
    return open_target(spec, admin_token=admin_token or os.environ.get(TOKEN_ENV), own_world=None)


def isolated_per_process(spec: str | None, admin_token: str | None = None) -> bool:
    """Whether separate worker processes get separate worlds: in-process and plugin targets do; a server does when
    it offers worlds of their own (``POST /_sim/worlds``: carriersim serve), else it has one world and its runs
    cannot overlap."""
    spec = spec or os.environ.get(TARGET_ENV) or "inprocess"
    if "://" not in spec:
        return True
    if not spec.startswith(("http://", "https://")):
        return False  # a dialect of a server (twilio+http://…) drives the server's default world
    from carriersim.scenarios.targets.http import HttpTarget

    target = HttpTarget(spec, admin_token=admin_token or os.environ.get(TOKEN_ENV))
    try:
        return target.offers_worlds()
    except Exception:  # no answer: the probe of the target (run_suite) says what is wrong
        return False
    finally:
        target.close()
