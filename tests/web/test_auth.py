"""Signing in and out, wrong passwords, the rate limit, sessions and security headers."""
import sqlalchemy as sa

from app.models import AuditLog, User


def test_organiser_signs_in_and_lands_on_the_dashboard(visitor):
    response = visitor.login("organiser", "Organiser2025")
    assert response.location == "/admin/"
    page = visitor.get("/admin/").get_data(as_text=True)
    assert "各赛道报名审核状态统计" in page
    assert "化工（生物医药）" in page


def test_each_role_lands_on_its_own_home(visitor):
    assert visitor.login("judge1", "Judge2025").location == "/judge/"
    visitor.logout()
    assert visitor.login("contestant", "Contestant2025").location == "/portal/"


def test_wrong_password_is_refused_in_chinese_and_signs_nobody_in(visitor):
    response = visitor.post("/login", {"username": "organiser", "password": "wrong-1"})
    assert response.status_code == 401
    assert "用户名或密码错误。" in response.get_data(as_text=True)
    assert visitor.get("/admin/").status_code == 302


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(visitor):
    response = visitor.post("/login", {"username": "nobody", "password": "wrong-1"})
    assert response.status_code == 401
    assert "用户名或密码错误。" in response.get_data(as_text=True)


def test_inactive_account_cannot_sign_in(visitor, db_session):
    user = db_session.scalar(sa.select(User).where(User.username == "judge1"))
    user.active = False
    db_session.commit()
    response = visitor.post("/login", {"username": "judge1", "password": "Judge2025"})
    assert response.status_code == 401


def test_sign_out_ends_the_session(visitor):
    visitor.login("organiser", "Organiser2025")
    response = visitor.logout()
    assert response.status_code == 302
    assert visitor.get("/admin/").status_code == 302


def test_sign_out_needs_a_post_with_csrf(visitor):
    visitor.login("organiser", "Organiser2025")
    assert visitor.get("/logout").status_code == 405
    assert visitor.client.post("/logout").status_code == 400
    assert visitor.get("/admin/").status_code == 200


def test_signed_in_session_expires_after_the_configured_lifetime(visitor):
    response = visitor.post("/login", {"username": "organiser", "password": "Organiser2025"})
    assert "Expires=" in response.headers["Set-Cookie"]


def test_the_session_slides_with_activity_but_its_cookie_is_renewed_once_a_minute(
        visitor, monkeypatch):
    """Each answer within a minute of the last renewal sends no cookie; the first after it
    sends a re-signed one expiring a whole lifetime later: idle sessions expire, active ones
    do not."""
    import time
    from email.utils import parsedate_to_datetime

    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    login = visitor.post("/login", {"username": "organiser", "password": "Organiser2025"})
    first_expiry = parsedate_to_datetime(login.headers["Set-Cookie"].split("Expires=")[1]
                                         .split(";")[0])
    visitor.get("/admin/")  # lands and renews once (its stamp is set)
    clock[0] += 30
    quiet = visitor.get("/admin/")
    assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    clock[0] += 3600
    renewed = visitor.get("/admin/")
    assert renewed.status_code == 200 and "Set-Cookie" in renewed.headers
    expiry = parsedate_to_datetime(renewed.headers["Set-Cookie"].split("Expires=")[1]
                                   .split(";")[0])
    assert expiry >= first_expiry  # a whole lifetime from now (Flask's own clock)
    assert renewed.headers["Set-Cookie"].split(";")[0] != login.headers["Set-Cookie"].split(";")[0]
    clock[0] += 10
    assert "Set-Cookie" not in visitor.get("/admin/").headers


def test_successful_sign_in_is_audited(visitor, db_session):
    visitor.login("organiser", "Organiser2025")
    actions = db_session.scalars(sa.select(AuditLog.action).where(AuditLog.actor_name == "organiser")
                                 .order_by(AuditLog.id.desc())).first()
    assert actions == "user.login"


def test_next_parameter_cannot_send_users_to_another_site(visitor):
    response = visitor.post("/login?next=https://evil.example/", {
        "username": "organiser", "password": "Organiser2025"})
    assert response.location == "/admin/"


def test_next_parameter_returns_to_the_page_asked_for(visitor):
    first = visitor.get("/admin/users")
    assert first.status_code == 302 and "/login?next=" in first.location
    response = visitor.post("/login?next=/admin/users", {
        "username": "organiser", "password": "Organiser2025"})
    assert response.location == "/admin/users"


def test_expired_or_missing_session_sends_browsers_to_sign_in_with_a_message(visitor):
    visitor.login("organiser", "Organiser2025")
    visitor.client.delete_cookie("session")  # what an expired session looks like
    response = visitor.get("/admin/users", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.request.path == "/login"
    assert "请登录后访问该页面。" in page


def test_session_cookie_is_httponly_and_samesite(visitor):
    response = visitor.post("/login", {"username": "organiser", "password": "Organiser2025"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_pages_carry_security_headers_and_a_strict_csp(visitor):
    response = visitor.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_scripts_or_styles_the_csp_would_block(signed_in):
    visitor = signed_in("organiser")
    for path in ("/admin/", "/admin/users", "/admin/users/new", "/account/tokens", "/login"):
        page = visitor.get(path).get_data(as_text=True)
        assert "<script>" not in page and "style=" not in page and "<style" not in page, path


def test_password_change_checks_the_current_password_and_strength(signed_in):
    visitor = signed_in("judge1")
    wrong = visitor.post("/account/password", {"current_password": "nope", "password": "Newpass123",
                                                "confirm": "Newpass123"})
    assert "当前密码不正确。" in wrong.get_data(as_text=True)
    weak = visitor.post("/account/password", {"current_password": "Judge2025",
                                               "password": "abcdefgh", "confirm": "abcdefgh"})
    assert "密码至少8位，且须同时包含字母和数字。" in weak.get_data(as_text=True)
    ok = visitor.post("/account/password", {"current_password": "Judge2025",
                                             "password": "Newpass123", "confirm": "Newpass123"})
    assert ok.status_code == 302
    visitor.logout()
    assert visitor.post("/login", {"username": "judge1", "password": "Judge2025"}).status_code == 401
    visitor.login("judge1", "Newpass123")
