"""The REST API (FastAPI), versioned under ``/v1``; OpenAPI at ``/docs``."""

from yibao.api.app import create_app

__all__ = ["create_app"]
