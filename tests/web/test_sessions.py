"""Sessions end when they should: sign-out ends the session on the server (a copied cookie opens
nothing), a password change or reset ends the account's other sessions, an organiser can sign an
account out everywhere (audited), and a disabled account is refused at its next request."""
from datetime import timedelta

import sqlalchemy as sa

from app.models import AuditLog, User, UserSession, utcnow
from tests.conftest import DEMO_PASSWORDS, Visitor


def _second_browser(app, username: str) -> Visitor:
    browser = Visitor(app.test_client())
    browser.login(username, DEMO_PASSWORDS[username])
    return browser


def _copy_of_cookie(app, visitor: Visitor) -> Visitor:
    """Another browser holding a copy of ``visitor``'s session cookie, as a thief would."""
    thief = Visitor(app.test_client())
    thief.client.set_cookie("session", visitor.client.get_cookie("session").value)
    return thief


def _signed_out(visitor: Visitor, page: str) -> bool:
    response = visitor.get(page)
    return response.status_code == 302 and response.location.startswith("/login")


def test_a_session_cookie_copied_before_sign_out_opens_nothing_after_it(app, signed_in):
    organiser = signed_in("organiser")
    thief = _copy_of_cookie(app, organiser)
    assert thief.get("/admin/").status_code == 200  # the copy works while the session lasts
    organiser.logout()
    assert _signed_out(thief, "/admin/")
    assert _signed_out(thief, "/admin/users")
    page = thief.get("/admin/users", follow_redirects=True).get_data(as_text=True)
    assert "请登录后访问该页面。" in page


def test_signing_out_ends_only_that_session_not_the_accounts_others(app, signed_in):
    tablet = signed_in("judge1")
    laptop = _second_browser(app, "judge1")
    tablet.logout()
    assert _signed_out(tablet, "/judge/")
    assert laptop.get("/judge/").status_code == 200


def test_changing_the_password_signs_out_the_other_sessions_but_not_this_one(
        app, signed_in, db_session):
    tablet = signed_in("judge1")
    laptop = _second_browser(app, "judge1")
    thief = _copy_of_cookie(app, laptop)
    changed = tablet.post("/account/password", {"current_password": "Judge2025",
                                                "password": "Newpass123", "confirm": "Newpass123"})
    assert changed.status_code == 302
    page = tablet.get(changed.location).get_data(as_text=True)
    assert "密码已修改，您在其他设备上的登录均已退出。" in page
    assert tablet.get("/judge/").status_code == 200
    assert _signed_out(laptop, "/judge/")
    assert _signed_out(thief, "/judge/")
    judge = db_session.scalar(sa.select(User).where(User.username == "judge1"))
    assert db_session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                             .where(UserSession.user_id == judge.id)) == 1


def test_an_organiser_resetting_a_password_signs_the_account_out_everywhere(
        app, signed_in, db_session):
    judge_browser = _second_browser(app, "judge2")
    judge = db_session.scalar(sa.select(User).where(User.username == "judge2"))
    organiser = signed_in("organiser")
    response = organiser.post(f"/admin/users/{judge.id}", {
        "username": "judge2", "display_name": judge.display_name, "role": "judge",
        "active": "y", "password": "Reset2025x"})
    assert response.status_code == 302
    assert _signed_out(judge_browser, "/judge/")
    assert organiser.get("/admin/users").status_code == 200  # the organiser's own stays
    judge_browser.login("judge2", "Reset2025x")


def test_the_cli_setting_a_password_signs_the_account_out_everywhere(app, runner):
    judge_browser = _second_browser(app, "judge3")
    result = runner.invoke(args=["users", "set-password", "judge3", "--password", "Cli2025pass"])
    assert result.exit_code == 0, result.output
    assert _signed_out(judge_browser, "/judge/")


def test_an_organiser_signs_an_account_out_everywhere_and_it_is_audited(
        app, signed_in, db_session):
    tablet, laptop = _second_browser(app, "chief"), _second_browser(app, "chief")
    chief = db_session.scalar(sa.select(User).where(User.username == "chief"))
    organiser = signed_in("organiser")
    listing = organiser.get("/admin/users?role=chief_judge").get_data(as_text=True)
    row = listing.split(f'/admin/users/{chief.id}"')[1].split("</tr>")[0]
    assert "2 个" in row and "全部登出" in row
    response = organiser.post(f"/admin/users/{chief.id}/sign-out?role=chief_judge")
    assert response.status_code == 302 and response.location.endswith("role=chief_judge")
    page = organiser.get(response.location).get_data(as_text=True)
    assert "已将 chief 在所有设备上登出（结束 2 个会话）。" in page
    row = page.split(f'/admin/users/{chief.id}"')[1].split("</tr>")[0]
    assert "未登录" in row and "全部登出" not in row
    assert _signed_out(tablet, "/judge/") and _signed_out(laptop, "/judge/")
    entry = db_session.scalar(sa.select(AuditLog).where(
        AuditLog.action == "user.sign_out_everywhere").order_by(AuditLog.id.desc()))
    assert entry.actor_name == "organiser" and entry.object_id == chief.id
    assert entry.summary == "将账号 chief 在所有设备上登出（结束 2 个会话）"


def test_signing_an_account_out_everywhere_is_for_organisers_only(app, signed_in, db_session):
    chief = db_session.scalar(sa.select(User).where(User.username == "chief"))
    judge = signed_in("judge1")
    assert judge.post(f"/admin/users/{chief.id}/sign-out").status_code == 403
    assert judge.client.post(f"/admin/users/{chief.id}/sign-out").status_code == 400  # no CSRF
    organiser = _second_browser(app, "organiser")
    assert organiser.post("/admin/users/2147483647/sign-out").status_code == 404


def test_an_account_disabled_in_the_console_is_refused_at_its_next_request(
        app, signed_in, db_session):
    judge_browser = _second_browser(app, "judge4")
    assert judge_browser.get("/judge/").status_code == 200
    judge = db_session.scalar(sa.select(User).where(User.username == "judge4"))
    organiser = signed_in("organiser")
    assert organiser.post(f"/admin/users/{judge.id}", {
        "username": "judge4", "display_name": judge.display_name,
        "role": "judge"}).status_code == 302  # "active" left unticked
    assert _signed_out(judge_browser, "/judge/")


def test_an_account_disabled_in_the_database_is_refused_at_its_next_request(
        app, signed_in, db_session):
    judge_browser = _second_browser(app, "judge5")
    db_session.execute(sa.update(User).where(User.username == "judge5").values(active=False))
    db_session.commit()
    assert _signed_out(judge_browser, "/judge/")
    db_session.execute(sa.update(User).where(User.username == "judge5").values(active=True))
    db_session.commit()
    assert judge_browser.get("/judge/").status_code == 200  # not ended: only refused


def test_a_session_idle_longer_than_its_lifetime_is_ended_by_the_server_too(
        app, signed_in, db_session):
    """The cookie's own expiry ends an idle session in the browser; a copy of the cookie kept
    with a forged expiry is refused by the server once the session has been idle as long."""
    organiser = signed_in("organiser")
    assert organiser.get("/admin/").status_code == 200
    idle = app.permanent_session_lifetime + timedelta(minutes=6)
    db_session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - idle))
    db_session.commit()
    assert _signed_out(organiser, "/admin/")


def test_an_active_sessions_last_seen_time_is_written_at_most_every_few_minutes(
        app, signed_in, db_session):
    organiser = signed_in("organiser")
    seen = db_session.scalar(sa.select(UserSession.last_seen_at))
    organiser.get("/admin/")
    db_session.expire_all()
    assert db_session.scalar(sa.select(UserSession.last_seen_at)) == seen  # not rewritten
    long_ago = seen - timedelta(minutes=10)
    db_session.execute(sa.update(UserSession).values(last_seen_at=long_ago))
    db_session.commit()
    organiser.get("/admin/")
    db_session.expire_all()
    assert db_session.scalar(sa.select(UserSession.last_seen_at)) >= seen
