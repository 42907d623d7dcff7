"""BIND-1 broken: the card binds to its first device, but traffic from another device is carried anyway.

Realistic because binding is often recorded (the IMEI is stored and shown) without the usage path ever comparing
the reporting device with it: 机卡分离 goes unnoticed.
"""

from carriersim.simulator.events import Kind
from carriersim.simulator.model import Cause

from . import Mutant


def check_usage_device(engine, card, imei):
    if card.bind_device and card.imei is None:
        card.imei = imei
        engine.emit(card, Kind.DEVICE_BOUND, Cause.USAGE, detail={"imei": imei, "first": True})
    return True  # the bug: another device is never refused


MUTANT = Mutant(
    name="device_mismatch_ignored",
    rule="BIND-1",
    description="Usage from a device other than the bound one is accepted and the card is not suspended.",
    patches=(("carriersim.simulator.rules.usage.check_usage_device", check_usage_device),),
)
