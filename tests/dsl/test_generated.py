"""The generated library files (``python -m carriersim.scenarios.generate``): committed as generated, and covering
what they claim — every holiday break and make-up day of the shipped calendar, every bar against every other
operation, each threshold at limit - 1, limit and limit + 1 on every carrier."""

from __future__ import annotations

from datetime import date

import pytest

from carriersim.scenarios import generate
from carriersim.scenarios.parser import parse_file


def test_the_committed_generated_files_are_current():
    stale = [p.name for p, text in generate.render().items()
             if not p.exists() or p.read_text(encoding="utf-8") != text]
    assert not stale, f"run python -m carriersim.scenarios.generate: {stale} are stale"
    assert generate.main(["--check"]) == 0


def test_the_check_reports_a_stale_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(generate, "LIBRARY", tmp_path)
    assert generate.main(["--check"]) == 1
    assert "stale generated scenario files" in capsys.readouterr().err
    assert generate.main([]) == 0 and generate.main(["--check"]) == 0


def test_the_working_day_oracle_skips_weekends_and_holidays_and_counts_make_up_days():
    cal = generate.Calendar()
    assert cal.add(date(2027, 3, 12), 1) == date(2027, 3, 15)  # Friday + 1: Monday
    assert cal.add(date(2027, 2, 4), 1) == date(2027, 2, 11)  # Spring Festival 5-10 Feb
    assert cal.add(date(2026, 2, 13), 1) == date(2026, 2, 14)  # Saturday 14 Feb 2026 is a make-up working day
    assert (date(2027, 10, 1), date(2027, 10, 5)) in cal.breaks()


def test_every_holiday_break_and_make_up_day_has_a_review_on_every_carrier():
    cal = generate.Calendar()
    names = [sc.name for sc in parse_file(generate.LIBRARY / "generated_calendars.yaml")]
    for carrier in generate.CARRIERS:
        mine = [n for n in names if n.startswith(f"{carrier}:")]
        for first, _ in cal.breaks():
            assert any(f"holiday of {first.isoformat()}" in n for n in mine), (carrier, first)
        for d in cal.working_weekends:
            assert any(f"make-up working day {d.isoformat()}" in n for n in mine), (carrier, d)


def test_every_bar_meets_every_operation_but_the_one_that_lifts_it():
    scenarios = {sc.name: sc for sc in parse_file(generate.LIBRARY / "generated_bars.yaml")}
    assert len(scenarios) == len(generate.BARS)
    for bar, spec in generate.BARS.items():
        sc = next(s for n, s in scenarios.items() if n.startswith(f"A {bar} stop"))
        kinds = [s.kind for s in sc.steps]
        for name, step in generate.OPERATIONS:
            if name != spec["lift"]:
                assert next(iter(step)) in kinds, (bar, name)
        assert kinds.count("expect") >= len(generate.OPERATIONS)


@pytest.mark.parametrize("carrier", generate.CARRIERS)
def test_thresholds_are_tried_below_at_and_above_the_carriers_limit(carrier):
    p = generate.profile(carrier)["cancellation"]
    names = [sc.name for sc in parse_file(generate.LIBRARY / "generated_boundaries.yaml") if sc.carriers == (carrier,)]
    for n in (p["high_risk_device_changes"] + d for d in (-1, 0, 1)):
        assert any(name.startswith(f"{carrier}: {n} device changes") for name in names)
    for n in (p["reject_device_changes"] + d for d in (-1, 0, 1)):
        assert any(f" {n} device changes (reject" in name for name in names)
    for n in (p["batch_threshold"] + d for d in (-1, 0, 1)):
        assert any(f"template of {n} cards" in name for name in names)
