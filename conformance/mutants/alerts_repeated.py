"""ALERT-1 broken: a usage alert is emitted again on every usage report past its threshold, not once per cycle.

Realistic because the alert is a comparison made on each usage record; without remembering which thresholds were
already sent this cycle, a card at 85% raises its 80% alert on every record (alert storms).
"""

from carriersim.simulator.events import Kind
from carriersim.simulator.model import Cause

from . import Mutant


def _alerts(engine, card, used, quota):
    for i, pct in enumerate(card.profile.alert_thresholds):
        if used * 100 >= quota * pct:  # the bug: card.alerts_sent not consulted
            card.alerts_sent |= 1 << i
            engine.emit(card, Kind.ALERT, Cause.USAGE,
                        detail={"threshold": pct, "used_kb": used, "quota_kb": quota, "scope": "card"})


MUTANT = Mutant(
    name="alerts_repeated",
    rule="ALERT-1",
    description="A card's usage alert for a threshold is emitted on every usage report above it, many times a "
                "cycle.",
    patches=(("carriersim.simulator.rules.quota._alerts", _alerts),),
)
