"""The carriersim command: the demo (main job), profile validation and batch templates."""

from __future__ import annotations

import subprocess
import sys

import yaml

from carriersim.simulator.batch_files import read_batch
from carriersim.simulator.cli import main
from carriersim.simulator.profile import builtin_profile, parse_profile


def test_demo_runs_a_small_fleet_and_prints_the_state_table(capsys):
    assert main(["demo", "--cards", "60", "--months", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Cards by state on 2027-05-01T00:00:00+08:00" in out
    for carrier in ("cmcc", "cucc", "ctcc"):
        assert carrier in out
    assert "events:" in out and "charged" in out


def _table_lines(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Cards by state" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("└"))
    return lines[start:end + 1]


def test_demo_cards_by_state_keeps_every_carrier_on_an_80_column_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["demo", "--cards", "60", "--months", "2", "--quiet"]) == 0
    table = _table_lines(capsys.readouterr().out)
    assert max(map(len, table)) <= 80
    header = next(line for line in table if line.startswith("┃"))
    assert header.split("┃")[2:6] == [" cmcc ", " cucc ", " ctcc ", " all "]
    rows = {line.split("│")[1].strip(): [int(x) for x in line.split("│")[2:6]] for line in table if "│" in line}
    assert list(rows) == ["testing", "ready", "active", "suspended", "retained", "pending_cancel", "cancelled"]
    assert sum(r[3] for r in rows.values()) == 60 and all(sum(r[:3]) == r[3] for r in rows.values())


def test_demo_cards_by_state_fits_80_columns_with_a_users_carrier_too():
    from rich.console import Console

    from carriersim.simulator import Simulation
    from carriersim.simulator.cli import cards_by_state

    data = {**builtin_profile("cucc").raw, "id": "acme_berlin_iot"}
    sim = Simulation(profiles=[builtin_profile(c) for c in ("cmcc", "cucc", "ctcc")] + [
        parse_profile(data)])
    console = Console(width=80, record=True)
    console.print(cards_by_state(sim))
    lines = console.export_text().splitlines()
    assert max(map(len, lines)) <= 80
    assert "acme_berlin_iot" in lines[2] and "cmcc" in lines[2] and "…" not in console.export_text()


def test_demo_is_deterministic_for_a_seed(capsys):
    main(["demo", "--cards", "40", "--months", "3", "--quiet", "--seed", "5"])
    first = capsys.readouterr().out
    main(["demo", "--cards", "40", "--months", "3", "--quiet", "--seed", "5"])
    second = capsys.readouterr().out
    strip = lambda text: [line for line in text.splitlines() if "real time" not in line]  # noqa: E731
    assert strip(first) == strip(second)


def test_demo_refuses_bad_numbers(capsys):
    assert main(["demo", "--cards", "0"]) == 2
    assert "--cards must be at least 1" in capsys.readouterr().err
    assert main(["demo", "--months", "-1"]) == 2


def test_profiles_validate_good_and_bad_files(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({**builtin_profile("cucc").raw, "id": "cucc_copy"}, allow_unicode=True),
                    encoding="utf-8")
    assert main(["profiles", "--validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    bad_data = dict(builtin_profile("cucc").raw)
    bad_data["billing_cycle_day"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bad_data, allow_unicode=True), encoding="utf-8")
    assert main(["profiles", "--validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "billing_cycle_day" in err


def test_template_writes_a_file_the_batch_reader_accepts(tmp_path, capsys):
    target = tmp_path / "t.xlsx"
    assert main(["template", "change_plan", "--format", "xlsx", "-o", str(target)]) == 0
    data = target.read_bytes()
    assert data[:2] == b"PK"
    try:
        read_batch(data, "t.xlsx", "change_plan")
    except ValueError as exc:  # an empty template has no rows yet: that, and nothing else, is wrong with it
        assert "no rows" in str(exc)


def test_console_script_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "carriersim", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for word in ("demo", "profiles", "rules", "template"):
        assert word in out


def _carriersim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "carriersim", *args], capture_output=True, text=True)


def test_version_says_the_installed_version():
    from importlib.metadata import version

    done = _carriersim("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"carriersim {version('carriersim')}"


def test_bare_carriersim_prints_help_and_exits_zero():
    done = _carriersim()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: carriersim") and "conformance" in done.stdout and not done.stderr


def test_completion_scripts_know_the_commands_and_their_options():
    bash = _carriersim("completion", "bash")
    assert bash.returncode == 0
    for word in ("conformance", "serve", "--report-dir", "--admin-token"):
        assert word in bash.stdout
    assert _carriersim("completion", "zsh").stdout.startswith("#compdef carriersim")
    bad = _carriersim("completion", "fish")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_conformance_help_documents_plugin_targets():
    out = _carriersim("conformance", "--help").stdout
    assert "plugin:NAME" in out and "carriersim.targets" in out
