"""Carrier dialects: facades beside the native API, over the same engine, each speaking a real carrier API's wire
format (paths, auth, paging, status values, error shapes, limits) so a platform's real adapters run unchanged.

Each dialect is one ``Api`` plug-in (``api.Api``) in its own module: a route table, a state mapping table and
renderers; its writes are operations of the operation table run through ``ctx.run`` (journaled, replayed), so the
rules stay the engine's. Dialects are mounted only when asked (``carriersim serve --dialect twilio``,
``create_app(dialects=["twilio", "jasper"])``): the default server answers exactly what it always did.

* ``twilio`` — Twilio Super SIM (``/twilio/v1/Sims…``), serving the shipped ``supersim`` profile.
* ``jasper`` — Cisco IoT Control Center REST (``/rws/api/v1/devices…``), serving ``cucc`` (China Unicom's platform
  is a Control Center instance).
"""

from __future__ import annotations

from typing import Any, Iterable

NAMES = ("twilio", "jasper")


def make(spec: str, **options: Any) -> Any:
    """A dialect from ``NAME`` or ``NAME=CARRIER,CARRIER`` (the carriers whose cards it serves)."""
    name, _, carriers = spec.partition("=")
    if carriers:
        options.setdefault("carriers", tuple(c.strip() for c in carriers.split(",") if c.strip()))
    if name == "twilio":
        from .twilio import TwilioApi
        return TwilioApi(**options)
    if name == "jasper":
        from .jasper import JasperApi
        return JasperApi(**options)
    raise ValueError(f"Unknown dialect {name!r}; known: {', '.join(NAMES)}.")


def dialect_apis(specs: Iterable[Any]) -> list[Any]:
    """Dialect ``Api`` objects from names or objects."""
    return [make(s) if isinstance(s, str) else s for s in specs]


def dialect_profiles(apis: Iterable[Any]) -> list[Any]:
    """The carrier profiles the dialects serve that are not built in (the Twilio dialect's ``supersim``)."""
    from ...profile import BUILTIN_CARRIERS
    out, seen = [], set()
    for api in apis:
        for carrier in getattr(api, "carriers", ()):
            if carrier in BUILTIN_CARRIERS or carrier in seen:
                continue
            if carrier == "supersim":
                from .twilio import supersim_profile
                out.append(supersim_profile())
                seen.add(carrier)
    return out
