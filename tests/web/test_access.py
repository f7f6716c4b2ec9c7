"""Every page and every role: a table of who may open what, checked against every route.

A route missing from the table fails the test, so no page can be added without deciding who
may see it. API endpoints are checked in test_api.py.
"""
import pytest

from app.models import Role

ANYONE = "anyone"
SIGNED_IN = "signed_in"
ORG = {Role.ORGANISER}
JUDGING = {Role.JUDGE, Role.CHIEF_JUDGE, Role.ARBITRATOR}
PORTAL = {Role.CONTESTANT, Role.ENTERPRISE_CONTACT}

# endpoint → who may use it
ACCESS = {
    "public.index": ANYONE,
    "public.set_language": ANYONE,
    "public.health": ANYONE,
    "auth.login": ANYONE,
    "auth.logout": ANYONE,
    "auth.change_password": SIGNED_IN,
    "auth.tokens": SIGNED_IN,
    "auth.revoke_token": SIGNED_IN,
    "admin.dashboard": ORG,
    "admin.preliminary_app": ORG,
    "admin.learning_rule": ORG,
    "admin.learning_recount": ORG,
    "admin.contests": ORG,
    "admin.users": ORG,
    "admin.new_user": ORG,
    "admin.edit_user": ORG,
    "admin.sign_out_user": ORG,
    "admin.audit_log": ORG,
    "judge.workspace": JUDGING,
    "portal.home": PORTAL,
    "auth.register": ANYONE,
    "portal.new_entry": PORTAL,
    "portal.entry": PORTAL,
    "portal.edit_entry": {Role.CONTESTANT},
    "portal.ticket": PORTAL,
    "portal.review_entries": {Role.ENTERPRISE_CONTACT},
    "admin.entries": ORG,
    "admin.entry": ORG,
    "admin.reveal_id_number": ORG,
    "admin.review_entry": ORG,
    "admin.review_entries": ORG,
    "admin.export_entries": ORG,
    # judging (component 4 is the demo's chemical practical: chief chairs, judge1-5 sit on it)
    "admin.judging_overview": ORG,
    "admin.component_panel": ORG,
    "admin.remove_panel_member": ORG,
    "admin.stage_draw": ORG,
    "admin.component_scores": ORG,
    "judge.sheet": {Role.JUDGE, Role.CHIEF_JUDGE},
    "judge.save_sheet": {Role.JUDGE, Role.CHIEF_JUDGE},
    "judge.submit_sheet": {Role.JUDGE, Role.CHIEF_JUDGE},
    "judge.print_sheets": {Role.JUDGE, Role.CHIEF_JUDGE},
    "judge.panel": {Role.CHIEF_JUDGE},
    "judge.correct_sheet": {Role.CHIEF_JUDGE},
    "judge.return_sheet": {Role.CHIEF_JUDGE},
    "judge.sign_off": {Role.CHIEF_JUDGE},
    # results and advancement
    "admin.results_overview": ORG,
    "admin.stage_results": ORG,
    "admin.results_version": ORG,
    "admin.publish_results": ORG,
    "admin.export_results": ORG,
    "admin.generate_advancement": ORG,
    "admin.advancement_list": ORG,
    "admin.start_notice": ORG,
    "admin.record_objection": ORG,
    "admin.rule_objection": ORG,
    "admin.finalise_list": ORG,
    "admin.eligibility_pool": ORG,
    "admin.draw_eligibility_pool": ORG,
    "admin.confirm_eligibility": ORG,
    "admin.decide_eligibility": ORG,
    "admin.withdraw_list": ORG,
    "admin.keep_list": ORG,
    "admin.results_whatif": ORG,
    "admin.apply_whatif": ORG,
    "public.notices": ANYONE,
    "public.notice": ANYONE,
    # re-check (复核) of a draft version before publication
    **{f"admin.{name}": ORG for name in (
        "open_recheck", "recheck_round", "recheck_mark_correct", "recheck_record",
        "recheck_close")},
    # appeals (申诉): the contestant files, the arbitration group rules, organisers look on
    "portal.appeals_page": {Role.CONTESTANT},
    "judge.appeals_overview": {Role.ARBITRATOR, Role.ORGANISER},
    "judge.stage_appeals": {Role.ARBITRATOR, Role.ORGANISER},
    "judge.rule_appeal": {Role.ARBITRATOR},
    # a judged score corrected after sign-off: its chief judge corrects, others look on
    "judge.score_correction": {Role.CHIEF_JUDGE, Role.ORGANISER, Role.ARBITRATOR},
    "judge.save_score_correction": {Role.CHIEF_JUDGE},
    # exports and charts (component charts and judge sheets: organisers and its chief judge)
    "admin.export_advancement_list": ORG,
    "admin.export_stage_audit": ORG,
    "admin.stage_charts": ORG,
    "admin.stage_chart": ORG,
    "judge.component_chart": {Role.ORGANISER, Role.CHIEF_JUDGE},
    "judge.export_judge_sheets": {Role.ORGANISER, Role.CHIEF_JUDGE},
    "portal.ability_chart": {Role.CONTESTANT},
    # contestants reach their entries: accounts, claims, tickets, sign-in sheets, score lookup
    "portal.claim": {Role.CONTESTANT},
    "portal.export_accounts": {Role.ENTERPRISE_CONTACT},
    "public.score_lookup": ANYONE,
    **{f"admin.{name}": ORG for name in (
        "track_contestants", "create_contestant_accounts", "export_contestant_accounts",
        "print_tickets", "signin_sheets", "export_signin_sheets", "reissue_initial_password")},
    # contest configuration
    **{f"admin.{name}": ORG for name in (
        "new_contest", "contest", "copy_contest", "delete_contest", "new_ability", "ability",
        "delete_ability", "new_track", "track", "delete_track", "new_stage", "stage",
        "stage_status", "move_stage", "delete_stage", "components", "marking_scheme",
        "new_marking_node", "marking_node", "delete_marking_node", "move_marking_node",
        "sittings", "sitting", "delete_sitting", "assign_sittings", "move_to_sitting")},
    # imports: registration sheets, marking schemes to and from Excel
    **{f"admin.{name}": ORG for name in (
        "imports", "import_batch", "import_progress", "confirm_import", "cancel_import",
        "import_error_report", "export_marking_scheme", "import_marking_scheme")},
    # theory and digital-twin results files, the simulator's push token
    **{f"admin.{name}": ORG for name in (
        "component_results", "component_push_token", "result_import_batch",
        "confirm_result_import")},
    # awards: the winners' list, certificates (issue, print, revoke) and their public check
    **{f"admin.{name}": ORG for name in (
        "certificates", "issue_certificates", "revoke_certificate", "print_certificate",
        "print_certificates", "export_winners")},
    "public.verify_certificate": ANYONE,
    # theory exam quality: item analysis, its chart, a key correction
    **{f"admin.{name}": ORG for name in (
        "exam_quality_page", "exam_quality_chart", "exam_key_change", "export_answer_key",
        "import_answer_key")},
}

ACCOUNTS = {
    Role.ORGANISER: "organiser", Role.CHIEF_JUDGE: "chief", Role.JUDGE: "judge1",
    Role.ARBITRATOR: "arbiter", Role.ENTERPRISE_CONTACT: "contact",
    Role.CONTESTANT: "contestant",
}

# entry 1 is the demo contestant's approved entry, from the enterprise of the demo contact.
SAMPLE_ARGS = {"user_id": "1", "token_id": "999999", "code": "zh", "filename": "x",
               "entry_id": "1", "contest_id": "1", "ability_id": "1", "track_id": "1",
               "stage_id": "1", "component_id": "4", "item_id": "1", "sitting_id": "1",
               "workstation": "101", "sheet_id": "999999", "assignment_id": "999999",
               "batch_id": "999999", "version_id": "999999", "list_id": "999999",
               "objection_id": "999999", "round_id": "999999", "recheck_item_id": "999999",
               "appeal_id": "999999", "member_id": "999999", "chart": "distribution",
               "certificate_id": "999999", "number": "JSTL-2025-01-9999"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith(("api.", "bootstrap.")):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", SAMPLE_ARGS[arg]).replace(f"<{arg}>", SAMPLE_ARGS[arg])
        method = "GET" if "GET" in rule.methods else "POST"
        yield rule.endpoint, url, method


def test_every_route_has_a_declared_audience(app):
    endpoints = {endpoint for endpoint, _url, _method in _routes(app)}
    assert endpoints == set(ACCESS), "declare who may use each route in ACCESS"


def _request(visitor, url, method):
    response = visitor.get(url) if method == "GET" else visitor.post(url)
    response.close()  # a streamed file (an export) is closed as a WSGI server would
    return response


@pytest.mark.parametrize("role", [None, *ACCOUNTS])
def test_each_role_reaches_only_its_pages(app, signed_in, visitor, role):
    if role is not None:
        visitor = signed_in(ACCOUNTS[role])
    for endpoint, url, method in _routes(app):
        audience = ACCESS[endpoint]
        response = _request(visitor, url, method)
        refused_to_sign_in = response.status_code == 302 and "/login" in response.location \
            and endpoint != "auth.logout"
        if audience == ANYONE or (audience == SIGNED_IN and role is not None) or (
                isinstance(audience, set) and role in audience):
            assert response.status_code < 500, f"{endpoint} ({url}) failed for {role}"
            assert response.status_code not in (401, 403) and not refused_to_sign_in, (
                f"{role} should reach {endpoint} ({url}): {response.status_code}")
        elif role is None:
            assert refused_to_sign_in, f"anonymous should be sent to sign in from {endpoint}"
        else:
            assert response.status_code == 403, f"{role} must not reach {endpoint}"
            page = response.get_data(as_text=True)
            assert '<span class="error-code">403</span>' in page and 'lang="zh-CN"' in page
        if endpoint in ("auth.logout", "admin.sign_out_user") and role is not None:
            # signing out (user 1, the organiser, everywhere) ended the session; sign in again
            visitor = signed_in(ACCOUNTS[role])


@pytest.mark.parametrize(("role", "shown", "hidden"), [
    (Role.ORGANISER, ["/admin/users", "/admin/audit"], ["/judge/", "/portal/"]),
    (Role.JUDGE, ["/judge/"], ["/admin/", "/portal/"]),
    (Role.CONTESTANT, ["/portal/"], ["/admin/", "/judge/"]),
])
def test_navigation_shows_only_what_the_role_may_open(signed_in, role, shown, hidden):
    page = signed_in(ACCOUNTS[role]).get("/account/password").get_data(as_text=True)
    nav = page.split('id="nav-main"')[1].split("</nav>")[0]
    for href in shown:
        assert f'href="{href}"' in nav
    for href in hidden:
        assert f'href="{href}"' not in nav


def test_contestant_sees_only_their_own_entry(signed_in):
    page = signed_in("contestant").get("/portal/").get_data(as_text=True)
    assert page.count("<tr>") == 2  # the header row and their one entry
    assert "2025010001" in page


def test_enterprise_contact_sees_only_its_enterprises_people_with_masked_ids(signed_in, db_session):
    import sqlalchemy as sa

    from app.models import Entry, User

    contact = db_session.scalar(sa.select(User).where(User.username == "contact"))
    own = db_session.scalars(sa.select(Entry).where(Entry.enterprise_id == contact.enterprise_id)).all()
    others = db_session.scalars(sa.select(Entry.exam_number).where(
        Entry.enterprise_id != contact.enterprise_id, Entry.exam_number.is_not(None))).all()
    page = signed_in("contact").get("/portal/").get_data(as_text=True)
    assert own and all(entry.contestant.name in page for entry in own)
    assert others and not any(number in page for number in others)
    for entry in own:
        assert entry.contestant.id_number not in page  # full numbers never shown
        assert entry.contestant.masked_id_number in page
