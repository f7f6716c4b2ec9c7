"""Sign-in, sign-out, own password and own API tokens.

The blueprint is defined here; its modules, imported after it, register their pages on it."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import (  # noqa: E402,F401  (each registers its pages on bp)
    routes,
)
