"""Built-in targets: the simulator in this process and any server speaking the native HTTP API plus ``/_sim``."""

from __future__ import annotations

from ..target import Target


def open_target(spec: str, *, admin_token: str | None = None, own_world: bool | None = False) -> Target:
    """``inprocess`` (the default), a base URL such as ``http://127.0.0.1:8080``, or a carrier dialect of a server:
    ``twilio+http://…``, ``jasper+http://…`` (``dialects``). For a URL, ``own_world`` says whether each reset makes a
    world of the target's own on the server (``None``: when the server offers worlds; see ``HttpTarget``)."""
    if spec in ("", "inprocess"):
        from .inprocess import InProcessTarget
        return InProcessTarget()
    dialect, plus, url = spec.partition("+")
    if plus and dialect in ("twilio", "jasper") and url.startswith(("http://", "https://")):
        from .dialects import JasperTarget, TwilioTarget
        return (TwilioTarget if dialect == "twilio" else JasperTarget)(url, admin_token=admin_token)
    if spec.startswith(("http://", "https://")):
        from .http import HttpTarget
        return HttpTarget(spec, admin_token=admin_token, own_world=own_world)
    raise ValueError(f"Unknown target {spec!r}: use 'inprocess', a server's URL (http://host:port) or a dialect of "
                     "one (twilio+http://host:port, jasper+http://host:port).")
