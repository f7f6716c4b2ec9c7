"""The contestant portal (选手平台): own entries, appeals and charts; an enterprise contact's view
of its people.

The blueprint is defined here; its modules, imported after it, register their pages on it."""
from flask import Blueprint

bp = Blueprint("portal", __name__)

from app.portal import (  # noqa: E402,F401  (each registers its pages on bp)
    appeals,
    charts,
    routes,
)
