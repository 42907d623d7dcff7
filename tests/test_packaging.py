"""Installing carriersim without a registry release, as the README says.

The README's CI example checks out a release tag, builds its wheel with ``python -m build`` and installs it; this
test runs those very commands (read from the README) in a fresh virtual environment on a copy of this checkout,
then the commands the example goes on to run (``carriersim conformance …``) from there, plus ``--help`` and a tiny
scenario. The Dockerfile cannot be built here (no Docker engine), so its commands are checked against the README's
``docker build``/``docker run`` lines and against the CLI's own parser.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from carriersim.simulator.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text("utf-8")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
SOURCE = ".carriersim"  # where the README's example checks carriersim out

TINY = """\
name: A card opened with its plan paid is active a day later
rules: [BILL-1]
carriers: [cmcc]
given:
  cards: [{id: tracker, plan: monthly}]
steps:
  - expect: {state: active, reasons: []}
  - advance: 1 day
  - expect: {state: active}
"""


def _block(marker: str) -> str:
    text = README.split(f"<!-- {marker}:begin -->")[1].split(f"<!-- {marker}:end -->")[0]
    return re.search(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL).group(1)


def _ci_steps() -> list[dict]:
    return yaml.safe_load(_block("ci-example"))["jobs"]["carrier-conformance"]["steps"]


def _step(name: str) -> dict:
    return next(s for s in _ci_steps() if s.get("name") == name)


def _commands(step: dict) -> list[str]:
    lines = [line.split("#")[0].strip() for line in step["run"].splitlines()]
    return [line for line in lines if line]


def test_readme_ci_example_checks_out_the_current_release_tag():
    checkout = next(s for s in _ci_steps() if s.get("with", {}).get("repository", "").endswith("/carriersim"))
    assert checkout["with"]["ref"] == f"v{VERSION}"
    assert checkout["with"]["path"] == SOURCE
    assert f'carriersim @ git+https://github.com/OWNER/carriersim@v{VERSION}' in README
    assert "pip install carriersim " not in README  # nothing installs from a registry it is not on


def _copy_checkout(dest: Path) -> None:
    """The files a clone of this checkout has (tracked files, as they are now in the work tree)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
        files = [f for f in listed.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: nothing says which files a clone would have")
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARRIERSIM_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(command: str | list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, shell=isinstance(command, str), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """A job's work directory after the README's install step: carriersim's checkout in .carriersim, its wheel
    built and installed in a fresh virtual environment (the job's own project, ./my-platform, left out)."""
    job = tmp_path_factory.mktemp("ci-job")
    _copy_checkout(job / SOURCE)
    venv = job / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = _env(venv)
    for command in _commands(_step("install carriersim and the implementation under test")):
        command = command.replace(" ./my-platform", "")
        assert command.startswith("python -m "), command  # the venv's python, found first on PATH
        _run(command, job, env)
    return job, venv, env


def test_readme_ci_install_builds_a_wheel_of_carriersim_alone_with_its_data(installed):
    job, _, _ = installed
    wheels = list((job / SOURCE / "dist").glob("carriersim-*.whl"))
    assert [w.name for w in wheels] == [f"carriersim-{VERSION}-py3-none-any.whl"]
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert {n.split("/")[0] for n in names if not n.startswith("carriersim-")} == {"carriersim"}
    for data in ("simulator/data/cn_counties.tsv", "simulator/data/cn_calendar.yaml", "simulator/http/openapi.json",
                 "simulator/profiles/profile.schema.json", "scenarios/library/billing.yaml",
                 "conformance/suites/core.yaml"):
        assert f"carriersim/{data}" in names, data


def test_the_installed_wheel_runs_help_a_scenario_and_the_readme_conformance_step(installed, tmp_path):
    job, venv, env = installed
    where = _run([str(venv / "bin" / "python"), "-c", "import carriersim; print(carriersim.__file__, "
                  "carriersim.__version__)"], tmp_path, env)
    path, version = where.split()
    assert Path(path).is_relative_to(venv) and version == VERSION  # the wheel, not this checkout
    usage = _run("carriersim --help", tmp_path, env)
    for command in ("demo", "serve", "run", "conformance", "profiles"):
        assert command in usage
    (tmp_path / "tiny.yaml").write_text(TINY, encoding="utf-8")
    out = _run("carriersim run tiny.yaml", tmp_path, env)
    assert "1 passed" in out
    (tmp_path / "conformance-expectations.yaml").write_text("known_failures: []\n", encoding="utf-8")
    for command in _commands(_step("conformance (core suite)")):  # as written; no target URL: in-process
        out = _run(command, tmp_path, env)
    assert "CONFORMS" in out and (tmp_path / "reports" / "matrix.md").is_file()


def test_only_carriersim_lands_in_site_packages(installed):
    """No module named simulator, scenarios or conformance is installed at the top level."""
    _, venv, env = installed
    site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     venv, env).strip())
    top = {p.name.split("-")[0].split(".")[0] for p in site.iterdir()}
    assert "carriersim" in top
    assert not top & {"simulator", "scenarios", "conformance"}, sorted(top & {"simulator", "scenarios", "conformance"})
    assert (site / "carriersim" / "py.typed").is_file()
    version = _run([str(venv / "bin" / "carriersim"), "--version"], venv, env)
    assert version.strip() == f"carriersim {VERSION}"


PLATFORM_TEST = """\
from simulator.billing import monthly_fee
from scenarios.checks import is_ours
from conformance.rules import RULES


def test_the_platforms_own_packages_are_its_own(carrier_sim):
    assert monthly_fee() == 5 and is_ours() and RULES == ["PLAN-1"]
    from carriersim import State
    acct = carrier_sim.create_account("Acme")
    assert carrier_sim.card(carrier_sim.open_card(acct, "cmcc", "CMCC-M30"), acct).state is State.READY
"""


def test_a_platform_repo_with_its_own_simulator_scenarios_and_conformance_packages(installed, tmp_path):
    """The collision the import name avoids: a SIM platform's repository with packages named like carriersim's
    folders, a scenario file, and ``python -m pytest`` with carriersim's plugin autoloaded."""
    _, venv, env = installed
    project = tmp_path / "platform"
    for package, module, body in (("simulator", "billing", "def monthly_fee():\n    return 5\n"),
                                  ("scenarios", "checks", "def is_ours():\n    return True\n"),
                                  ("conformance", "rules", 'RULES = ["PLAN-1"]\n')):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text("", encoding="utf-8")
        (project / package / f"{module}.py").write_text(body, encoding="utf-8")
    (project / "tests").mkdir()
    (project / "tests" / "test_platform.py").write_text(PLATFORM_TEST, encoding="utf-8")
    (project / "tests" / "tiny.scenario.yaml").write_text(TINY, encoding="utf-8")
    _run([str(venv / "bin" / "pip"), "install", "-q", "pytest>=8"], project, env)
    out = _run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], project, env)
    assert "2 passed" in out, out  # the platform's own test and the scenario item (one run: cmcc)


# ------------------------------------------------------------------------------------------------ Dockerfile


def _dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text("utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _instruction(word: str) -> list[str]:
    return [rest for w, rest in _dockerfile() if w == word]


def _docker_commands() -> list[list[str]]:
    return [shlex.split(line) for line in _block("docker").replace("\\\n", " ").splitlines() if line.strip()]


def test_dockerfile_follows_the_container_conventions_and_serves_on_all_interfaces():
    import json

    assert _instruction("EXPOSE") == ["8080"]
    cmd = json.loads(_instruction("CMD")[-1])
    assert cmd[0] == "carriersim"
    args = build_parser().parse_args(cmd[1:])
    assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8080)
    (health,) = _instruction("HEALTHCHECK")
    assert "http://127.0.0.1:8080/healthz" in health
    assert _instruction("VOLUME") == ["/data"]
    for copied in _instruction("COPY"):
        if "--from" not in copied:
            for source in copied.split()[:-1]:
                assert (ROOT / source).exists(), source
    assert any("python -m build --wheel" in run for run in _instruction("RUN"))
    text = (ROOT / "Dockerfile").read_text("utf-8")
    for env in ("CARRIERSIM_ADMIN_TOKEN", "CARRIERSIM_DB"):
        assert env in text


def test_readme_docker_commands_match_the_dockerfile(monkeypatch):
    import json

    commands = _docker_commands()
    build = [c for c in commands if c[:2] == ["docker", "build"]]
    assert build == [["docker", "build", "-t", "carriersim", "."]]
    image = build[0][3]
    runs = [c for c in commands if c[:2] == ["docker", "run"]]
    assert len(runs) == 3
    default_cmd = json.loads(_instruction("CMD")[-1])
    assert f"`{' '.join(default_cmd)}`" in README  # the README says what the image runs by default
    for run in runs:
        i = run.index(image, 2)
        options, command = run[2:i], run[i + 1:]
        assert options[options.index("-p") + 1] == "8080:8080"
        env = dict(options[j + 1].split("=", 1) for j, o in enumerate(options) if o == "-e")
        assert set(env) <= {"CARRIERSIM_ADMIN_TOKEN", "CARRIERSIM_DB"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if "CARRIERSIM_DB" in env:
            volume = options[options.index("-v") + 1].split(":")[1]
            assert volume in _instruction("VOLUME") and env["CARRIERSIM_DB"].startswith(volume + "/")
        command = command or default_cmd
        assert command[0] == "carriersim"
        args = build_parser().parse_args(command[1:])  # the parser reads $CARRIERSIM_DB as --db's default
        assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8080)
        assert args.db == env.get("CARRIERSIM_DB")
        for name in env:
            monkeypatch.delenv(name)
