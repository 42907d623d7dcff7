"""carriersim over HTTP: the native REST API (``/v1``), test control (``/_sim``), webhooks and the served
OpenAPI document. The engine knows nothing of HTTP; this package shapes its operations into requests and
responses (moto's split of ``models.py`` and ``responses.py``), so that carrier dialects can stand beside it.
"""

from .app import create_app

__all__ = ["create_app"]
