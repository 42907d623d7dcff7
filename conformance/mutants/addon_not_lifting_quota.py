"""QUOTA-3 broken: buying an add-on pack adds its data but does not lift the ``quota`` stop until the next cycle.

Realistic because the add-on is often just credited to the quota counters, while resuming a stopped card is left
to the cycle start (which does resume quota stops), so the customer pays and stays offline.
"""

from carriersim.simulator.events import Kind
from carriersim.simulator.errors import SimError
from carriersim.simulator.model import Cause, Reason, State
from carriersim.simulator.rules import quota
from carriersim.simulator.rules.billing import require_funds, require_not_cancelled

from . import Mutant


def buy_addon(engine, card, addon):
    require_not_cancelled(card)
    if card.phase != State.ACTIVE or card.reasons & Reason.EXPIRED:
        raise SimError("addon_not_allowed", f"Card {card.iccid} is {card.state.label}; add-ons are sold to active "
                       "cards with a valid plan (renew an expired plan first).", state=card.state.label)
    require_funds(card, addon.price, f"Add-on {addon.code}")
    quota.roll(engine, card)
    engine.post(card, Kind.CHARGE, -addon.price, Cause.API, addon.code)
    if card.pool is not None:  # POOL-1 kept: a pool's add-on still resumes its members
        card.pool.addon_kb += addon.quota_kb
        quota._pool_room(engine, card.pool, {"addon": addon.code, "pool": card.pool.id})
        return
    card.addon_kb += addon.quota_kb  # the bug: the quota stop is left in place


MUTANT = Mutant(
    name="addon_not_lifting_quota",
    rule="QUOTA-3",
    description="An add-on pack bought for a card stopped for quota is credited, but the card stays suspended.",
    patches=(("carriersim.simulator.rules.quota.buy_addon", buy_addon),),
)
