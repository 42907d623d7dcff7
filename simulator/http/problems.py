"""Errors as ``application/problem+json`` (RFC 9457) with a stable machine-readable ``code``."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..errors import SimError

PROBLEM_TYPE = "https://carriersim.dev/problems/"
CONTENT_TYPE = "application/problem+json"


def problem(status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
            **extra: Any) -> web.Response:
    body = {"type": PROBLEM_TYPE + code, "title": code.replace("_", " ").capitalize(), "status": status,
            "detail": detail, "code": code, **extra}
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type=CONTENT_TYPE,
                        headers=headers)


def from_sim_error(exc: SimError) -> web.Response:
    """A refused engine operation; 503s say when to retry (MAINT-1)."""
    headers = None
    extra = {k: v for k, v in exc.detail.items() if isinstance(v, (str, int, float, bool, list)) or v is None}
    if exc.status == 503 and "retry_after" in exc.detail:
        headers = {"Retry-After": str(max(int(exc.detail["retry_after"]), 1))}
    return problem(exc.status, exc.code, exc.message, headers=headers, **extra)


class ProblemError(Exception):
    """Raised inside handlers for request problems that are not engine refusals (bad body, unauthorised …)."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra, self.headers = status, code, detail, extra, headers

    def response(self) -> web.Response:
        return problem(self.status, self.code, self.detail, headers=self.headers, **self.extra)
