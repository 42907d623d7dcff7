"""carriersim over HTTP: the native REST API (``/v1``), test control (``/_sim``), webhooks and the served
OpenAPI document. The engine knows nothing of HTTP; this package shapes its operations into requests and
responses (moto's split of ``models.py`` and ``responses.py``), so that carrier dialects can stand beside it.

Importing the package does not import aiohttp: the route table (``spec``) and the native JSON shapes (``views``)
are plain modules that the scenario layer reads too; ``create_app`` loads the server on first use.
"""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
