"""The whole API under a property-based fuzzer (Schemathesis): requests generated from the
OpenAPI document, sent through the real app to the real database (SQLite, or PostgreSQL with
TEST_DATABASE_URL), as an organiser and as a contestant.

Every answer must have a documented status (never a 500), the documented content type and body
schema; a request outside the schema must be refused (4xx); a method a path does not have must
be answered 405 with ``Allow``; a request without a valid token must be answered 401.

Bounded and repeatable: a fixed number of generated cases per operation, drawn deterministically
(the same requests on every run), and no time limit, so the work done never depends on the
machine's speed. Each operation runs in a savepoint rolled back after it (tests/api/conftest.py):
what its requests change (stage settings, marking schemes, reviewed entries, new accounts) is
gone before the next operation and before any other test.

Refusals by rules no schema can express (a resident ID number's check digit, weights adding up
to 100, a stage that cannot move to a status now) are 422 or 409, so the check "a schema-valid
request is accepted" is not run; what a schema can say, the document says (e.g. a rejection
needs a reason)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app.api import openapi_document

CASES_PER_OPERATION = 6
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "negative_data_rejection", "missing_required_header", "unsupported_method",
          "allow_header_conformance", "ignored_auth")
# Paths name the demo's records by these examples; ids of records the module makes (the results
# version, its list and re-check, the theory component) stand in as 1 and become this run's ids.
EXAMPLES = {"code": "jstl-2025", "track": "chem", "track_code": "chem", "seq": 1,
            "component": "theory", "entry_id": 1, "version_id": 1, "list_id": 1, "round_id": 1,
            "item_id": 1, "component_id": 1, "appeal_id": 1}


def _document() -> dict:
    """The document /api/v1/openapi.json serves, with the examples."""
    document = openapi_document("/api/v1")
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    parameter["example"] = EXAMPLES[parameter["name"]]
    return document


CONFIG = SchemathesisConfig.from_dict({
    "seed": 20261205,
    "generation": {"deterministic": True, "max-examples": CASES_PER_OPERATION,
                   "database": "none"},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    "phases": {"stateful": {"enabled": False}},
})
API = schemathesis.openapi.from_dict(_document(), config=CONFIG)
# The .xlsx downloads are files the answer closes (and deletes) when the client closes it, which
# the fuzzer's WSGI client does not do; the file stays open until collected, nothing else.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <_io.FileIO name='/tmp/export-:"
    "pytest.PytestUnraisableExceptionWarning")
FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


def _send(case, app, fuzz_session, role: str) -> None:
    found, tokens = fuzz_session
    for name, value in list((case.path_parameters or {}).items()):
        if value != EXAMPLES.get(name):
            continue
        if name == "entry_id" and role == "contestant":
            case.path_parameters[name] = found["own_entry_id"]
        elif name in found:
            case.path_parameters[name] = found[name]
    # Through the app itself (WSGI), inside the operation's savepoint; the checks' own probes
    # (no token, another method) go the same way.
    case.operation.app = case.operation.schema.app = app
    case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"})


@API.parametrize()
@FUZZ
def test_every_operation_keeps_its_document_for_an_organiser(case, app, fuzz_session):
    _send(case, app, fuzz_session, "organiser")


@API.parametrize()
@FUZZ
def test_every_operation_keeps_its_document_for_a_contestant(case, app, fuzz_session):
    _send(case, app, fuzz_session, "contestant")
