"""pytest plugin: scenario files become pytest items, one per scenario × carrier, with rule ids as markers.

Collected: every ``*.scenario.yaml`` file, and every ``*.yaml`` under the folders named by the ``carriersim_scenarios``
ini option. Markers: ``rule("PLAN-1")`` and ``PLAN_1`` (so ``-m PLAN_1`` selects a rule), and the carrier
(``cmcc``); ``-k RET-2`` matches the rule ids too. A scenario's ``marks:`` (``skip``, ``{xfail: reason}``,
``{xfail: {reason, strict, carriers}}``, a marker name) become pytest marks of its items. Options:
``--carriersim-target`` (``inprocess`` or a server URL) and ``--carriersim-admin-token``.
Fixtures for users' own tests: ``carrier_sim`` (a fresh in-process ``Simulation``), ``carrier_sim_server`` (a
live HTTP server on a free port, with ``url`` and ``admin_token``) and ``carrier_world`` (a fresh world of its own
on one server shared by the session — the ``--carriersim-target`` URL, else a server this plugin starts — deleted
after the test; safe under ``pytest -n N``, since no two tests share a world or a clock).

Against a URL target, every scenario item runs in a world of its own (``HttpTarget(own_world=None)``: a server that
offers ``POST /_sim/worlds``), so ``pytest -n N`` can share one server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from .model import Mark, Scenario
from .parser import parse_file
from .runner import ERROR, FAILED, NOT_APPLICABLE, Outcome, run
from .source import ScenarioError
from .target import Target

TARGET_KEY = pytest.StashKey[Target]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("carriersim", "carriersim scenarios")
    group.addoption("--carriersim-target", default=os.environ.get("CARRIERSIM_TARGET_URL", "inprocess"),
                    help="where scenario items run: inprocess (default) or a server URL")
    group.addoption("--carriersim-admin-token", default=os.environ.get("CARRIERSIM_ADMIN_TOKEN"),
                    help="the server's /_sim admin token")
    parser.addini("carriersim_scenarios", "folders whose *.yaml files are carriersim scenarios", type="paths",
                  default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rule(id): the carriersim rule id a scenario covers (RULES.md)")
    config.addinivalue_line("markers", "carriersim_scenario: an item made from a carriersim scenario file")
    from carriersim.simulator.catalogue import rule_ids
    from .parser import known_carriers
    for rule in rule_ids():  # registered, so that --strict-markers accepts -m PLAN_1
        config.addinivalue_line("markers", f"{rule.replace('-', '_')}: scenarios covering {rule}")
    for carrier in known_carriers():
        config.addinivalue_line("markers", f"{carrier}: scenario runs on carrier {carrier}")
    spec = config.getoption("--carriersim-target")
    if spec not in ("", "inprocess") and not spec.startswith(("http://", "https://")):
        raise pytest.UsageError(f"--carriersim-target {spec!r}: use inprocess or a server's URL (http://host:port).")


def _scenario_folders(config: pytest.Config) -> list[Path]:
    return [Path(p).resolve() for p in config.getini("carriersim_scenarios")]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    name = file_path.name
    if name.endswith(".scenario.yaml") or name.endswith(".scenario.yml"):
        return ScenarioFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml"):
        resolved = file_path.resolve()
        if any(folder == resolved.parent or folder in resolved.parents for folder in _scenario_folders(parent.config)):
            return ScenarioFile.from_parent(parent, path=file_path)
    return None


def _target(config: pytest.Config) -> Target:
    if TARGET_KEY not in config.stash:
        from .targets import open_target
        try:
            target = open_target(config.getoption("--carriersim-target"),
                                 admin_token=config.getoption("--carriersim-admin-token"), own_world=None)
        except ValueError as exc:
            raise pytest.UsageError(f"--carriersim-target: {exc}") from None
        config.stash[TARGET_KEY] = target
        config.add_cleanup(target.close)
    return config.stash[TARGET_KEY]


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        for scenario in parse_file(self.path):
            for carrier in scenario.carriers:
                item = ScenarioItem.from_parent(self, name=f"{scenario.name}[{carrier}]", scenario=scenario,
                                                carrier=carrier)
                item.add_marker(pytest.mark.carriersim_scenario)
                item.add_marker(getattr(pytest.mark, carrier))
                for rule in scenario.rules:
                    item.add_marker(pytest.mark.rule(rule))
                    item.add_marker(getattr(pytest.mark, rule.replace("-", "_")))
                    item.extra_keyword_matches.add(rule)  # -k RET-2 selects the rule's scenarios
                for mark in scenario.marks:
                    if not mark.carriers or carrier in mark.carriers:
                        item.add_marker(_pytest_mark(mark))
                yield item

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioError):
            return f"broken scenario file (nothing in it ran):\n{excinfo.value.render()}"
        return super().repr_failure(excinfo)


def _pytest_mark(mark: Mark) -> pytest.MarkDecorator:
    """A scenario file's mark as pytest's: skip and xfail with their reason (xfail's strict too)."""
    if mark.name == "skip":
        return pytest.mark.skip(reason=mark.reason or "skipped in the scenario file")
    if mark.name == "xfail":
        kwargs: dict[str, Any] = {"reason": mark.reason or "expected to fail (scenario file)"}
        if mark.strict is not None:
            kwargs["strict"] = mark.strict
        return pytest.mark.xfail(**kwargs)
    return getattr(pytest.mark, mark.name)


class ScenarioFailed(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.failure.render() if outcome.failure else outcome.reason)
        self.outcome = outcome


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, carrier: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.carrier = carrier

    def runtest(self) -> None:
        outcome = run(self.scenario, self.carrier, _target(self.config))
        if outcome.status == NOT_APPLICABLE:
            pytest.skip(f"not applicable: {outcome.reason}")
        if outcome.status in (FAILED, ERROR):
            raise ScenarioFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioFailed):
            o = excinfo.value.outcome
            head = f"scenario {o.scenario.name!r} on {o.carrier} ({o.scenario.where}) {o.status}"
            body = o.failure.render() if o.failure else o.reason
            return f"{head}\n{body}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.scenario.where.line - 1, f"scenario: {self.name}"


@pytest.fixture
def carrier_sim() -> Any:
    """A fresh in-process simulation (the shipped carriers, seed 0, clock at 2027-01-01 00:00 +08:00)."""
    from carriersim.simulator.simulation import Simulation
    return Simulation()


@pytest.fixture
def carrier_sim_server() -> Iterator[Any]:
    """A live carriersim HTTP server on a free port: ``.url``, ``.admin_token``."""
    from .live_server import LiveServer
    with LiveServer() as server:
        yield server


@pytest.fixture(scope="session")
def carrier_worlds_server(pytestconfig: pytest.Config) -> Iterator[Any]:
    """The server ``carrier_world`` makes its worlds on: the ``--carriersim-target`` URL (with
    ``--carriersim-admin-token``), else a live server started for the session (one per xdist worker)."""
    from .live_server import LiveServer
    from .worlds import RemoteServer

    spec = pytestconfig.getoption("--carriersim-target")
    if spec.startswith(("http://", "https://")):
        token = pytestconfig.getoption("--carriersim-admin-token")
        if not token:
            raise pytest.UsageError("carrier_world on --carriersim-target needs the server's admin token: "
                                    "--carriersim-admin-token T (or $CARRIERSIM_ADMIN_TOKEN).")
        yield RemoteServer(spec.rstrip("/"), token)
        return
    with LiveServer() as server:
        yield RemoteServer(server.url, server.admin_token)


@pytest.fixture
def carrier_world(carrier_worlds_server: Any) -> Iterator[Any]:
    """A fresh world of this test's own (``carriersim.scenarios.worlds.World``: ``.id``, ``.url``,
    ``.admin_token``, ``.control()``, ``.api()``, ``.create_account()``, ``.advance()``, ``.now()``), deleted
    after the test."""
    world = carrier_worlds_server.create_world()
    try:
        yield world
    finally:
        world.delete()
