"""Organisers manage accounts in the console; operators do it with `flask users` and `flask tokens`."""
import sqlalchemy as sa

from app.models import AuditLog, User
from tests.conftest import flask_cli


def test_organiser_creates_an_account_in_the_console(signed_in, db_session):
    visitor = signed_in("organiser")
    response = visitor.post("/admin/users/new", {
        "username": "judge7", "display_name": "七号裁判", "role": "judge", "password": "Judge7pass",
        "active": "y"})
    assert response.status_code == 302
    assert "账号 judge7 已创建。" in visitor.get("/admin/users").get_data(as_text=True)
    user = db_session.scalar(sa.select(User).where(User.username == "judge7"))
    assert user.role.value == "judge" and user.password_hash != "Judge7pass"
    assert user.check_password("Judge7pass")
    audit = db_session.scalar(sa.select(AuditLog).where(AuditLog.action == "user.create")
                              .order_by(AuditLog.id.desc()))
    assert audit.actor_name == "organiser" and "judge7" in audit.summary


def test_account_form_shows_each_error_next_to_its_field_in_chinese(signed_in):
    page = signed_in("organiser").post("/admin/users/new", {
        "username": "judge1", "display_name": "", "role": "judge", "password": "abcdefgh",
        "phone": "12345"}).get_data(as_text=True)
    assert 'id="display_name-error"' in page and "该字段是必填字段。" in page
    assert 'id="phone-error"' in page and "手机号码应为11位数字。" in page
    assert 'aria-invalid="true"' in page
    assert '"None"' not in page  # no attribute rendered from a missing value


def test_taken_username_is_reported_at_the_username_field(signed_in):
    page = signed_in("organiser").post("/admin/users/new", {
        "username": "judge1", "display_name": "x", "role": "judge",
        "password": "Judge1pass"}).get_data(as_text=True)
    error = page.split('id="username-error"')[1].split("</div>")[0]
    assert "用户名 judge1 已被占用。" in error


def test_organiser_deactivates_an_account_and_it_can_no_longer_sign_in(signed_in, visitor, db_session):
    judge = db_session.scalar(sa.select(User).where(User.username == "judge2"))
    organiser = signed_in("organiser")
    response = organiser.post(f"/admin/users/{judge.id}", {
        "username": "judge2", "display_name": judge.display_name, "role": "judge"})
    assert response.status_code == 302
    organiser.logout()
    assert visitor.post("/login", {"username": "judge2", "password": "Judge2025"}).status_code == 401


def test_organiser_cannot_deactivate_their_own_account(signed_in, db_session):
    me = db_session.scalar(sa.select(User).where(User.username == "organiser"))
    page = signed_in("organiser").post(f"/admin/users/{me.id}", {
        "username": "organiser", "display_name": me.display_name, "role": "organiser"}
    ).get_data(as_text=True)
    assert "不能降低自己账号的权限或停用自己的账号。" in page
    db_session.expire_all()
    assert db_session.get(User, me.id).active


def test_token_created_in_the_ui_is_shown_once_and_works(signed_in, client):
    visitor = signed_in("chief")
    page = visitor.post("/account/tokens", {"name": "scoreboard"}).get_data(as_text=True)
    secret = page.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("cst_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).get_json()
    assert me["username"] == "chief"
    assert secret not in visitor.get("/account/tokens").get_data(as_text=True)


def test_cli_creates_accounts_and_tokens(database_url, tmp_path):
    from tests.conftest import fresh_database_url

    url = fresh_database_url("test_cli", tmp_path)
    flask_cli(url, "db", "upgrade")
    created = flask_cli(url, "users", "create", "ops", "--role", "organiser", "--name", "运维",
                        "--password", "Operator2025")
    assert "created ops (organiser)" in created.stdout
    duplicate = flask_cli(url, "users", "create", "ops", "--role", "organiser",
                          "--password", "Operator2025", check=False)
    assert duplicate.returncode == 1 and "ops" in duplicate.stderr
    weak = flask_cli(url, "users", "create", "weak", "--role", "judge", "--password", "short",
                     check=False)
    assert weak.returncode == 1 and "密码至少8位" in weak.stderr
    token = flask_cli(url, "tokens", "create", "ops", "--name", "etl").stdout.strip()
    assert token.startswith("cst_")
    listing = flask_cli(url, "users", "list").stdout
    assert "ops" in listing and "weak" not in listing
