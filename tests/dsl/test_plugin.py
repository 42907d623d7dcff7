"""The pytest plugin: scenario files become items (scenario × carrier) with rule-id markers; users' own tests get
``carrier_sim`` and ``carrier_sim_server``."""

from __future__ import annotations

SCENARIO = """\
- name: quota stop
  rules: [QUOTA-1, QUOTA-2]
  carriers: [cmcc, ctcc]
  given:
    cards: [{id: tracker, balance: 20}]
  steps:
    - use: {mb: 1000}
    - expect: {state: suspended, reasons: [quota]}
- name: wrong on purpose
  rules: [PLAN-1]
  carriers: [cucc]
  given:
    cards: [{id: tracker}]
  steps:
    - expect: {state: suspended}
"""


def ini(pytester, extra: str = "") -> None:
    pytester.makeini(f"[pytest]\nasyncio_default_fixture_loop_scope = function\n{extra}")


def test_scenario_files_become_items_with_rule_markers(pytester):
    ini(pytester)
    pytester.makefile(".scenario.yaml", quota=SCENARIO)
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*quota.scenario.yaml::quota stop?cmcc? PASSED*",
                                 "*quota.scenario.yaml::wrong on purpose?cucc? FAILED*",
                                 "*expected: {state: suspended}*", "*found:    state: expected suspended, found active*"])
    selected = pytester.runpytest("-m", "PLAN_1", "-p", "no:cacheprovider")
    selected.assert_outcomes(failed=1)
    by_carrier = pytester.runpytest("-m", "ctcc and QUOTA_2", "-p", "no:cacheprovider", "--strict-markers")
    by_carrier.assert_outcomes(passed=1)


def test_configured_folder_collects_plain_yaml(pytester):
    folder = pytester.mkdir("qa")
    (folder / "edge.yaml").write_text(SCENARIO)
    ini(pytester, "carriersim_scenarios = qa\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2, failed=1)


def test_a_broken_file_is_a_collection_error_with_its_position(pytester):
    ini(pytester)
    pytester.makefile(".scenario.yaml", broken="name: x\nrules: [PLAN-1]\nsteps:\n  - advence: 1 day\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*broken.scenario.yaml:4:5: unknown step 'advence' (did you mean 'advance'?)*"])
    assert result.ret != 0


def test_fixtures_for_users_own_tests(pytester):
    ini(pytester)
    pytester.makepyfile("""
        import json, urllib.request

        from carriersim import State

        def test_sim(carrier_sim):
            acct = carrier_sim.create_account("Acme")
            iccid = carrier_sim.open_card(acct, "cmcc", "CMCC-M30")
            assert carrier_sim.card(iccid).state is State.READY

        def test_server(carrier_sim_server):
            req = urllib.request.Request(carrier_sim_server.url + "/_sim/clock",
                                         headers={"Authorization": "Bearer " + carrier_sim_server.admin_token})
            assert json.load(urllib.request.urlopen(req))["mode"] == "frozen"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


MARKED = """\
- name: retention boundary
  rules: [RET-2]
  carriers: [cmcc]
  given: {cards: [{id: tracker}]}
  steps:
    - expect: {state: active}
- name: retention twenty
  rules: [RET-1]
  carriers: [cmcc]
  given: {cards: [{id: tracker}]}
  steps:
    - expect: {state: active}
- name: known to fail on one carrier
  rules: [PLAN-1]
  carriers: [cmcc, ctcc]
  marks:
    - {xfail: {reason: "ticket SIM-7", carriers: [ctcc], strict: true}}
  given:
    cards: [{id: tracker}]
  steps:
    - expect: {state: suspended}
    - expect: {state: suspended}
      unless: ${carrier}
- name: parked
  rules: [PLAN-1]
  carriers: [cucc]
  marks: [{skip: needs the 2028 calendar}, slow]
  steps:
    - expect: {state: active}
"""


def test_dash_k_selects_a_rule_by_its_id_with_the_dash(pytester):
    ini(pytester)
    pytester.makefile(".scenario.yaml", marks=MARKED)
    result = pytester.runpytest("-k", "RET-2", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=4)
    result.stdout.fnmatch_lines(["*retention boundary?cmcc? PASSED*"])
    both = pytester.runpytest("-k", "RET-1 or RET-2", "-p", "no:cacheprovider")
    both.assert_outcomes(passed=2, deselected=3)


def test_scenario_files_set_skip_and_xfail_marks_with_their_reason(pytester):
    ini(pytester, "markers =\n    slow: slow scenarios")
    pytester.makefile(".scenario.yaml", marks=MARKED)
    result = pytester.runpytest("-rsxX", "-p", "no:cacheprovider", "--strict-markers", "-k", "PLAN-1")
    # the xfail applies to ctcc only: cmcc fails, ctcc is an expected failure; the skipped one never runs
    result.assert_outcomes(failed=1, xfailed=1, skipped=1, deselected=2)
    result.stdout.fnmatch_lines(["*needs the 2028 calendar*", "*ticket SIM-7*"])
    slow = pytester.runpytest("-m", "slow", "-rs", "-p", "no:cacheprovider", "--strict-markers")
    slow.assert_outcomes(skipped=1, deselected=4)


def test_a_bad_mark_is_a_clear_error_before_anything_runs(pytester):
    ini(pytester)
    pytester.makefile(".scenario.yaml", bad=MARKED.replace("carriers: [ctcc], strict", "carriers: [cucc], strict"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*marks: 'cucc' is not one of this scenario's carriers*"])
