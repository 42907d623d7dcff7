"""The state model: accounts, cards, pools — plain, compact records with no behaviour of their own.

Kept apart from the rules (``simulator/rules/``) and from any API facade, the way moto keeps a service's
``models.py`` apart from its ``responses.py``. Per-card state is a ``__slots__`` record with small integers for
state and reasons (a bit mask), so that a million cards fit in memory.
"""

from __future__ import annotations

from array import array
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .profile import CarrierProfile, Plan


class State(IntEnum):
    """LIFE-1: the card states (after OneLink/Jasper)."""

    INVENTORY = 0  # 库存
    TESTING = 1  # 可测试
    READY = 2  # 待激活
    ACTIVE = 3  # 正常
    SUSPENDED = 4  # 停机
    RETAINED = 5  # 停机保号
    PENDING_CANCEL = 6  # 预销户
    CANCELLED = 7  # 已销户

    @property
    def label(self) -> str:
        return self.name.lower()

    def __str__(self) -> str:
        return self.label


class Reason(IntEnum):
    """LIFE-2: why a card is suspended. A card carries a *set* of reasons, a bit mask of these values; LIFE-3:
    they stack. (An IntEnum, not an IntFlag: ``mask & Reason.X`` stays a plain, fast int operation.)"""

    QUOTA = 1  # 超停
    ARREARS = 2  # 欠费
    EXPIRED = 4  # 过期
    MANUAL = 8  # 人工停用
    UNVERIFIED = 16  # 未实名
    REGION = 32  # 使用禁区
    DEVICE = 64  # 机卡分离
    LOST = 128  # 挂失
    MAINTENANCE = 256  # 系统维护
    CARRIER = 512  # 运营商管控


REASON_NAMES = {r: r.name.lower() for r in Reason}
REASON_BY_NAME = {v: k for k, v in REASON_NAMES.items()}
STATE_BY_NAME = {s.label: s for s in State}


def reason_names(mask: int) -> list[str]:
    """Reason names of a mask, in the catalogue's order (stable for output and comparisons)."""
    return [name for bit, name in REASON_NAMES.items() if mask & bit]


class Cause(IntEnum):
    """LIFE-4: what caused an event."""

    API = 0  # a platform's request
    CLOCK = 1  # a scheduled job (cycle start, expiry, review …)
    USAGE = 2  # a usage report from the network
    WORLD = 3  # test control: maintenance window, carrier action

    @property
    def label(self) -> str:
        return self.name.lower()


class Account:
    """A customer of a carrier's channel: enterprise or personal (PLAN-3: it alone may serve its cards)."""

    __slots__ = ("id", "name", "kind", "channel", "verified", "id_number", "cards")

    def __init__(self, id: str, name: str, kind: str, channel: str, verified: bool, id_number: str | None) -> None:
        self.id = id
        self.name = name
        self.kind = kind  # "enterprise" | "personal"
        self.channel = channel  # the channel that sold the cards (谁办理谁负责售后)
        self.verified = verified  # real-name done at account level: new cards start verified
        self.id_number = id_number  # resident id (personal) or unified social credit code (enterprise)
        self.cards: list[Card] = []


def plan_of(card: "Card") -> "Plan":
    """The plan of a card that has one — every card out of inventory. For rules, where a card without a plan is a
    bug rather than a case: it fails loudly instead of with an AttributeError far away."""
    plan = card.plan
    if plan is None:
        raise AssertionError(f"card {card.iccid} is in {card.phase.label} and has no plan")
    return plan


class FlatSlots:
    """Snapshots pickle millions of cards: a flat tuple of slot values is several times faster than the default
    per-object dict of slots."""

    __slots__ = ()

    def __getstate__(self) -> tuple:
        names: tuple[str, ...] = type(self).__slots__
        return tuple(getattr(self, name) for name in names)

    def __setstate__(self, state: tuple) -> None:
        names: tuple[str, ...] = type(self).__slots__
        for name, value in zip(names, state):
            setattr(self, name, value)


class Pool(FlatSlots):
    """A shared data pool (流量公用池, POOL-1): members draw on one quota; usage resets each cycle."""

    __slots__ = ("id", "account_id", "carrier", "name", "members", "period", "used_kb", "addon_kb",
                 "alerts_sent", "exhausted", "events")

    def __init__(self, id: str, account_id: str, carrier: str, name: str) -> None:
        self.id = id
        self.account_id = account_id
        self.carrier = carrier
        self.name = name
        self.members: list[Card] = []
        self.period = -1  # the cycle index the counters belong to
        self.used_kb = 0
        self.addon_kb = 0
        self.alerts_sent = 0  # bit i: threshold i of the profile already alerted this cycle
        self.exhausted = False
        self.events = array("I")


class Card(FlatSlots):
    """One SIM card (its history is the event log's, by card index: ``EventLog.of_card``). ``phase`` is the
    lifecycle position; the visible state of an in-service card is derived from
    its reasons (none → active, expired under retention → retained, otherwise suspended)."""

    __slots__ = (
        "idx", "iccid", "imsi", "msisdn", "profile", "account_id", "phase", "reasons",
        "imei", "bind_device", "device_changes",
        "plan", "pending_plan", "pending_at", "term_start", "term_end",
        "auto_suspend", "auto_renew", "balance",
        "cycle", "cycle_usage_kb", "quota_period", "quota_used_kb", "addon_kb", "alerts_sent", "overage_mb", "pool_over_kb",
        "pool", "verified", "owner_name", "owner_id",
        "opened_at", "activated_at", "last_used_at", "expired_at", "retention_deadline", "kyc_deadline",
        "cancel_request", "cancelled_at", "cancel_cause", "certificate", "replaced_by", "replaces",
        "last_region", "prepaid_terms", "test_used_kb",
    )

    def __init__(self, idx: int, iccid: str, imsi: str, msisdn: str, profile: "CarrierProfile",
                 account_id: str | None, plan: "Plan | None", opened_at: int) -> None:
        self.idx = idx
        self.iccid = iccid
        self.imsi = imsi
        self.msisdn = msisdn
        self.profile = profile
        self.account_id = account_id
        self.phase = State.INVENTORY
        self.reasons = 0
        self.imei: str | None = None
        self.bind_device = profile.device_binding
        self.device_changes = 0
        self.plan = plan
        self.pending_plan: Plan | None = None
        self.pending_at: int | None = None
        self.term_start: int | None = None
        self.term_end: int | None = None
        self.auto_suspend = True
        self.auto_renew = True
        self.balance = 0
        # Usage counters are reset lazily: they belong to cycle/period ``cycle``/``quota_period`` and read as zero
        # once the carrier has moved on, so a cycle start costs nothing per untouched card.
        self.cycle = -1
        self.cycle_usage_kb = 0
        self.quota_period = -1
        self.quota_used_kb = 0
        self.addon_kb = 0
        self.alerts_sent = 0
        self.overage_mb = 0  # MB of overage already billed this period (QUOTA-5)
        self.pool_over_kb = 0  # this member's traffic beyond its pool's quota this period
        self.pool: Pool | None = None
        self.verified = False
        self.owner_name: str | None = None
        self.owner_id: str | None = None
        self.opened_at = opened_at
        self.activated_at: int | None = None
        self.last_used_at: int | None = None
        self.expired_at: int | None = None
        self.retention_deadline: int | None = None
        self.kyc_deadline: int | None = None
        self.cancel_request: dict | None = None
        self.cancelled_at: int | None = None
        self.cancel_cause: str | None = None
        self.certificate: dict | None = None
        self.replaced_by: str | None = None
        self.replaces: str | None = None
        self.last_region: str | None = None
        self.prepaid_terms = 0  # QUOTA-4/EXP-2: terms paid in advance, used at the next term end
        self.test_used_kb = 0  # LIFE-1 testing: traffic carried on the test allowance

    @property
    def carrier(self) -> str:
        return self.profile.id

    @property
    def state(self) -> State:
        if self.phase != State.ACTIVE:
            return self.phase
        reasons = self.reasons
        if not reasons:
            return State.ACTIVE
        if reasons & Reason.EXPIRED and self.profile.retention_months > 0:
            return State.RETAINED
        return State.SUSPENDED

    @property
    def in_service_phase(self) -> bool:
        return self.phase == State.ACTIVE
