"""The organiser console (组委会控制台): dashboard, accounts and the audit log (routes), registrations,
contests and their configuration, imports, judging panels and the draw, results, re-checks,
what-if previews, charts and exports -- one module of pages each.

The blueprint is defined here; its modules, imported after it, register their pages on it."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.admin import (  # noqa: E402,F401  (each registers its pages on bp)
    awards,
    charts,
    contestants,
    contests,
    eligibility,
    entries,
    exam_quality,
    exports,
    imports,
    judging,
    preliminary,
    rechecks,
    result_imports,
    results,
    routes,
    whatif,
)
