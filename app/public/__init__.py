"""Pages anyone may open: the landing page, the language switch, the health check, notices.

The blueprint is defined here; its modules, imported after it, register their pages on it."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from app.public import (  # noqa: E402,F401  (each registers its pages on bp)
    routes,
)
