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
