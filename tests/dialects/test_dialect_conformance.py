"""The core conformance suite through each dialect target gives, on carriersim, the native verdict for every
requirement that applies (the rest is not applicable: features the dialect has no API for)."""

from __future__ import annotations

from collections import Counter

import pytest

from carriersim.conformance.cli import run_suite
from carriersim.scenarios.live_server import LiveServer
from carriersim.scenarios.targets import open_target
from carriersim.scenarios.targets.dialects import JasperTarget, TwilioTarget

BUILTIN = "cmcc,cucc,ctcc"


@pytest.fixture(scope="module")
def server():
    with LiveServer(dialects=(f"twilio={BUILTIN}", f"jasper={BUILTIN}")) as live:
        yield live


@pytest.fixture(scope="module")
def native(server):
    return run_suite("core", server.url, admin_token=server.admin_token)


@pytest.mark.parametrize("dialect", ["twilio", "jasper"])
def test_the_core_suite_through_a_dialect_matches_the_native_verdicts(server, native, dialect):
    assert native.conforms
    through = run_suite("core", f"{dialect}+{server.url}", admin_token=server.admin_token)
    by_id = {o.id: o.status for o in native.outcomes}
    applicable = [o for o in through.outcomes if o.status != "not_applicable"]
    differ = [(o.id, o.status, by_id[o.id], o.reason or (o.failure and o.failure.found)) for o in applicable
              if o.status != by_id[o.id]]
    assert not differ, differ
    assert len(applicable) >= 20, Counter(o.status for o in through.outcomes)  # a real share of the suite
    assert through.conforms  # within its capabilities


def test_dialect_targets_are_opened_by_their_url_scheme_and_declare_what_they_lack(server):
    twilio = open_target(f"twilio+{server.url}", admin_token=server.admin_token)
    jasper = open_target(f"jasper+{server.url}", admin_token=server.admin_token)
    assert isinstance(twilio, TwilioTarget) and isinstance(jasper, JasperTarget)
    assert {"pools", "batch", "cancellation", "lost_swap"}.isdisjoint(twilio.capabilities | jasper.capabilities)
    assert {"time_travel", "usage", "accounts"} <= twilio.capabilities & jasper.capabilities
    assert twilio.carriers() == ["cmcc", "cucc", "ctcc"]
