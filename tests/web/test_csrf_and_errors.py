"""Bad input from browsers: missing CSRF tokens, unknown pages, wrong methods, server errors."""
import sqlalchemy as sa

from app import create_app
from app.models import User


def test_sign_in_without_csrf_token_is_refused_with_a_chinese_message(client):
    response = client.post("/login", data={"username": "organiser", "password": "Organiser2025"})
    assert response.status_code == 400
    assert "表单已过期或缺少安全令牌" in response.get_data(as_text=True)


def test_forged_form_post_creates_nothing(signed_in, db_session):
    visitor = signed_in("organiser")
    response = visitor.client.post("/admin/users/new", data={
        "username": "forged", "display_name": "x", "role": "organiser", "password": "Forged123"})
    assert response.status_code == 400
    assert db_session.scalar(sa.select(User).where(User.username == "forged")) is None


def test_unknown_page_is_a_chinese_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "您访问的页面不存在。" in page and 'lang="zh-CN"' in page


def test_wrong_method_is_a_405_page(client):
    response = client.put("/login")
    assert response.status_code == 405
    assert "此处不允许该操作。" in response.get_data(as_text=True)


def _failing_app(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x"})

    def boom():
        raise RuntimeError("simulated failure")

    app.add_url_rule("/boom", view_func=boom)
    return app


def _dispose(app):
    from app.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_server_error_is_a_chinese_page_without_a_traceback(database_url):
    app = _failing_app(database_url)
    client = app.test_client()
    response = client.get("/boom")
    _dispose(app)
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "系统出现错误，本次修改未保存。" in page
    assert "Traceback" not in page and "simulated failure" not in page


def test_server_error_answers_json_to_json_clients(database_url):
    app = _failing_app(database_url)
    client = app.test_client()
    response = client.get("/boom", headers={"Accept": "application/json"})
    _dispose(app)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "server_error"


def test_english_can_be_chosen_and_is_remembered_for_the_session(client):
    client.get("/lang/en")
    page = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in page and ">Sign in<" in page
    client.get("/lang/zh")
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.get("/lang/xx")
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)


def test_a_page_number_too_large_for_the_database_gives_an_empty_page_not_an_error(
        app, signed_in, db_session):
    """?page=10**30 would overflow the database's OFFSET; lists answer with a page instead."""
    from app.extensions import db
    from app.services import accounts, rechecks, results
    from tests.results_setup import score_preliminary

    with app.app_context():
        stage_id, _people = score_preliminary(seed=1)
        organiser = accounts.get_by_username("organiser")
        from app.models import Stage

        version = results.create_version(db.session.get(Stage, stage_id), actor=organiser)
        round_id = rechecks.open_round(version, actor=organiser, seed=1).id
        version_id = version.id
        db.session.commit()
    huge = "9" * 30
    visitor = signed_in("organiser")
    for url in (f"/admin/entries?page={huge}", f"/admin/audit?page={huge}",
                f"/admin/rechecks/{round_id}?page={huge}",
                f"/admin/results/{version_id}?page={huge}&changes_after={huge}"):
        assert visitor.get(url).status_code == 200, url
    made = visitor.post(f"/admin/stages/{stage_id}/results", {"reason": "x", "appeal_id": huge})
    assert made.status_code == 302  # an unknown appeal id is ignored, the version is computed
