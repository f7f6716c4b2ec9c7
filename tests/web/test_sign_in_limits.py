"""Sign-in limits counted in the database (the test app: 5 failures a minute per account name,
8 a minute per address): a locked account says until when in Beijing time; failures from one
address never refuse a right password of an account not itself locked; an unknown account
costs the same password-hash verification as a wrong password."""
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.models import SignInFailure, User

NOW = datetime(2026, 12, 5, 9, 0, 0)  # UTC: 17:00:00 in Beijing


@pytest.fixture
def clock(monkeypatch):
    """The sign-in rules' clock, moved by hand: clock[0] is naive UTC."""
    import app.services.sign_in as sign_in

    now = [NOW]
    monkeypatch.setattr(sign_in, "utcnow", lambda: now[0])
    return now


def _attempt(visitor, username, password, address="10.0.0.1"):
    return visitor.post("/login", {"username": username, "password": password},
                        environ_base={"REMOTE_ADDR": address})


def test_the_account_is_locked_at_its_limit_and_the_message_says_until_when_in_beijing_time(
        visitor, clock):
    for n in range(5):
        clock[0] = NOW + timedelta(seconds=n)
        assert _attempt(visitor, "organiser", "bad-1").status_code == 401
    clock[0] = NOW + timedelta(seconds=10)
    refused = _attempt(visitor, "organiser", "Organiser2025")  # the right one, while locked
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    # locked until the first of the five failures is a minute old: 09:01:00 UTC
    assert "该账号登录失败次数过多，已锁定至 2026-12-05 17:01:00（北京时间），请届时再试。" in page
    assert visitor.get("/admin/").status_code == 302  # still signed out
    clock[0] = NOW + timedelta(seconds=60)
    assert _attempt(visitor, "organiser", "Organiser2025").status_code == 302  # the lock ended


def test_a_right_password_clears_the_accounts_failures(visitor, clock, db_session):
    for _ in range(4):
        assert _attempt(visitor, "judge1", "bad-1").status_code == 401
    assert _attempt(visitor, "judge1", "Judge2025").status_code == 302
    visitor.logout()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(SignInFailure)
                             .where(SignInFailure.account == "judge1")) == 0
    for _ in range(4):
        assert _attempt(visitor, "judge1", "bad-1").status_code == 401
    assert _attempt(visitor, "judge1", "Judge2025").status_code == 302


def test_the_account_limit_counts_failures_from_every_address(visitor, clock):
    for n in range(5):
        assert _attempt(visitor, "chief", "bad-1", address=f"10.0.1.{n}").status_code == 401
    assert _attempt(visitor, "chief", "Chief2025", address="10.0.2.1").status_code == 429


def test_an_unknown_account_name_is_locked_like_a_known_one(visitor, clock):
    answers = [_attempt(visitor, "nobody-here", "bad-1").status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]
    assert "已锁定至" in _attempt(visitor, "nobody-here", "bad-1").get_data(as_text=True)


def test_failures_from_one_address_never_refuse_a_right_password_of_an_unlocked_account(
        visitor, clock):
    """A venue behind one NAT address: 20 failures from it (the address allows 8) on other
    names; the organiser's and a judge's right passwords from it still sign in."""
    for n in range(20):
        assert _attempt(visitor, f"someone{n}", "bad-1").status_code == 401
    assert _attempt(visitor, "organiser", "Organiser2025").status_code == 302
    visitor.logout()
    assert _attempt(visitor, "judge2", "Judge2025").status_code == 302


def test_past_its_limit_an_address_locks_each_account_it_fails_on_at_once(visitor, clock):
    """Guessing across many accounts from one address gets one try per account: past the
    address's 8 failures, one more failure on judge3 locks judge3, and only judge3."""
    for n in range(8):
        assert _attempt(visitor, f"guess{n}", "bad-1").status_code == 401
    assert _attempt(visitor, "judge3", "bad-1").status_code == 401
    locked = _attempt(visitor, "judge3", "Judge2025", address="10.9.9.9")
    assert locked.status_code == 429 and "2026-12-05 17:01:00" in locked.get_data(as_text=True)
    assert _attempt(visitor, "judge4", "Judge2025").status_code == 302  # from the same address


def test_a_failed_sign_in_is_kept_though_the_answer_is_a_refusal(visitor, clock, db_session):
    assert _attempt(visitor, "judge1", "bad-1").status_code == 401
    failure = db_session.scalar(sa.select(SignInFailure).where(SignInFailure.account == "judge1"))
    assert failure.address == "10.0.0.1" and failure.at == NOW and not failure.locks


@pytest.fixture
def hash_verifications(monkeypatch):
    """Each password-hash computation (what a sign-in spends its time on), by method."""
    import werkzeug.security

    seen: list[str] = []
    real = werkzeug.security._hash_internal

    def counted(method, salt, password):
        seen.append(method)
        return real(method, salt, password)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counted)
    return seen


def test_an_unknown_account_costs_the_same_hash_verification_as_a_wrong_password(
        visitor, clock, hash_verifications, db_session):
    organiser = db_session.scalar(sa.select(User).where(User.username == "organiser"))
    method = organiser.password_hash.split("$")[0]
    from app.services.sign_in import _stand_in_hash

    _stand_in_hash()  # made once per process, not part of an attempt
    hash_verifications.clear()
    assert _attempt(visitor, "organiser", "bad-1").status_code == 401
    assert hash_verifications == [method]
    hash_verifications.clear()
    assert _attempt(visitor, "nobody-here", "bad-1").status_code == 401
    assert hash_verifications == [method]


def test_a_disabled_account_costs_a_verification_and_answers_as_a_wrong_password(
        visitor, clock, hash_verifications, db_session):
    db_session.execute(sa.update(User).where(User.username == "judge5").values(active=False))
    db_session.commit()
    hash_verifications.clear()
    response = _attempt(visitor, "judge5", "Judge2025")
    assert response.status_code == 401 and "用户名或密码错误。" in response.get_data(as_text=True)
    assert len(hash_verifications) == 1


def test_a_locked_account_is_refused_without_checking_the_password(
        visitor, clock, hash_verifications):
    for _ in range(5):
        _attempt(visitor, "nobody-here", "bad-1")
    hash_verifications.clear()
    assert _attempt(visitor, "nobody-here", "bad-1").status_code == 429
    assert hash_verifications == []  # known or not, a locked name answers the same
