"""REG-1 restricted regions (使用禁区): usage from a restricted region is refused and suspends the card for
``region``; time does not lift it, only an appeal to the carrier does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import SimError
from ..events import Kind
from ..model import Card, Cause, Reason
from ..profile import region_codes
from .billing import require_not_cancelled

if TYPE_CHECKING:
    from ..engine import Engine


_ZH_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


def short_zh(name: str) -> str:
    """The everyday short name of a province (新疆 for 新疆维吾尔自治区, 广西, 西藏, 福建 …), as the seeds write them."""
    for suffix in _ZH_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def normalise_region(value: str) -> str:
    """A region code (``CN-XJ``) from a code or an English/Chinese name; a clear error for anything else."""
    codes = region_codes()
    text = str(value).strip()
    if text.upper() in codes:
        return text.upper()
    for code, r in codes.items():
        if text.lower() == r["name"].lower() or text == r["zh"] or text == short_zh(r["zh"]):
            return code
    raise SimError("invalid_region", f"{value!r} is not a region; use an ISO 3166-2:CN code such as CN-XJ or a "
                   "province name such as Xinjiang.", status=422)


def check_usage_region(engine: "Engine", card: Card, region: str) -> bool:
    """True when traffic from ``region`` may flow; otherwise suspend for ``region`` (REG-1) and refuse it."""
    card.last_region = region
    if region not in card.profile.restricted_regions:
        return True
    if not card.reasons & Reason.REGION:
        engine.change(card, Cause.USAGE, add=Reason.REGION, detail={"region": region})
    engine.emit(card, Kind.USAGE_REFUSED, Cause.USAGE, detail={"why": "region", "region": region})
    return False


def appeal(engine: "Engine", card: Card) -> None:
    """REG-1: the appeal (申诉) is the only way to lift ``region``."""
    require_not_cancelled(card)  # RET-3/CAN-4: a cancelled card's number is gone; nothing to lift
    if not card.reasons & Reason.REGION:
        raise SimError("not_region_restricted", f"Card {card.iccid} is not suspended for a restricted region.")
    engine.change(card, Cause.API, remove=Reason.REGION, detail={"request": "appeal"})
