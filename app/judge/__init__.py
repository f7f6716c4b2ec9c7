"""The judges' workspace (裁判工作台): score sheets and the chief judge's panel (routes), appeals
for the arbitration group, score corrections, charts. Judges see contestants only by
workstation number.

The blueprint is defined here; its modules, imported after it, register their pages on it."""
from flask import Blueprint

bp = Blueprint("judge", __name__)

from app.judge import (  # noqa: E402,F401  (each registers its pages on bp)
    appeals,
    charts,
    corrections,
    routes,
)
