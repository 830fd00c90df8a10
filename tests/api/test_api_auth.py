"""Login, token expiry, hashed secrets and tokens, and user creation."""

from __future__ import annotations

import datetime as dt

import pytest
from api_support import SECRET, audits, new_id
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from yibao.errors import InputError
from yibao.store.auth import (
    LOCKOUT_FAILURES,
    LOCKOUT_WINDOW,
    add_user,
    hash_secret,
    locked_out,
    login,
    token_hash,
    user_for_token,
    verify_secret,
)
from yibao.store.models import Token, User


def test_secrets_are_salted_scrypt_hashes() -> None:
    a, b = hash_secret("s3cret-pass"), hash_secret("s3cret-pass")
    assert a != b and a.startswith("scrypt$") and "s3cret-pass" not in a
    assert verify_secret("s3cret-pass", a) and verify_secret("s3cret-pass", b)
    assert not verify_secret("s3cret-pasS", a)
    assert not verify_secret("s3cret-pass", "garbage")


def test_login_gives_a_token_stored_only_as_its_hash(client: TestClient,
                                                     auth: dict[str, dict[str, str]],
                                                     db: sessionmaker[Session]) -> None:
    r = client.post("/v1/auth/token", json={"username": "clerk", "secret": SECRET})
    assert r.status_code == 200
    body = r.json()
    assert (body["token_type"], body["role"], body["facility_id"]) == ("bearer", "clerk", "F1")
    expires = dt.datetime.fromisoformat(body["expires_at"])
    hours = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 3600
    assert 7.9 < hours <= 8
    with db.begin() as s:
        hashes = set(s.scalars(select(Token.token_hash)).all())
    assert token_hash(body["access_token"]) in hashes
    assert body["access_token"] not in hashes
    me = client.get("/v1/policies/360400", headers={
        "Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


@pytest.mark.parametrize("username,secret", [("clerk", "wrong secret"), ("nobody", SECRET)])
def test_bad_credentials_are_401_and_audited(client: TestClient,
                                             auth: dict[str, dict[str, str]],
                                             db: sessionmaker[Session], username: str,
                                             secret: str) -> None:
    before = len(audits(db, username, "login_failed"))
    r = client.post("/v1/auth/token", json={"username": username, "secret": secret})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "BAD_CREDENTIALS"  # the same for both: no probing
    assert len(audits(db, username, "login_failed")) == before + 1


def test_expired_token_is_401(client: TestClient, auth: dict[str, dict[str, str]],
                              db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        token, expires = login(s, "analyst", SECRET, dt.timedelta(hours=8),
                               at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=8, seconds=1))
    assert expires < dt.datetime.now(dt.UTC)
    r = client.get("/v1/policies/360400", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "TOKEN_EXPIRED")
    with db.begin() as s:
        fresh, _ = login(s, "analyst", SECRET, dt.timedelta(seconds=30))
        assert user_for_token(s, fresh).username == "analyst"


def test_missing_bad_and_disabled_tokens_are_401(client: TestClient,
                                                 auth: dict[str, dict[str, str]],
                                                 db: sessionmaker[Session]) -> None:
    r = client.get("/v1/policies/360400")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.get("/v1/policies/360400", headers={"Authorization": "Bearer not-a-token"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "TOKEN_INVALID")
    r = client.get("/v1/policies/360400", headers={"Authorization": "Basic dTpw"})
    assert r.status_code == 401
    name = new_id("u")
    with db.begin() as s:
        add_user(s, name, "auditor", SECRET)
    token = client.post("/v1/auth/token", json={"username": name, "secret": SECRET}).json()
    with db.begin() as s:
        user = s.get(User, name)
        assert user is not None
        user.active = False
    r = client.get("/v1/policies/360400",
                   headers={"Authorization": f"Bearer {token['access_token']}"})
    assert (r.status_code, r.json()["error"]["code"]) == (401, "TOKEN_INVALID")
    r = client.post("/v1/auth/token", json={"username": name, "secret": SECRET})
    assert r.status_code == 401


def test_add_user_checks_everything_at_once(auth: dict[str, dict[str, str]],
                                            db: sessionmaker[Session]) -> None:
    with pytest.raises(InputError) as err, db.begin() as s:
        add_user(s, " bad", "boss", "short", "F1")
    assert [p.code for p in err.value.problems] == ["BAD_USERNAME", "BAD_ROLE", "BAD_FACILITY",
                                                    "WEAK_SECRET"]
    with pytest.raises(InputError) as err, db.begin() as s:
        add_user(s, "clerk2", "clerk", SECRET)
    assert [p.code for p in err.value.problems] == ["BAD_FACILITY"]
    with pytest.raises(InputError) as err, db.begin() as s:
        add_user(s, "clerk2", "clerk", SECRET, "F9")
    assert [p.code for p in err.value.problems] == ["USER_EXISTS"]
    name = new_id("u")
    with db.begin() as s:
        add_user(s, name, "analyst", SECRET, by="admin")
    assert [a.action for a in audits(db, name)] == ["add_user"]


def _login(client: TestClient, username: str, secret: str) -> tuple[int, str]:
    r = client.post("/v1/auth/token", json={"username": username, "secret": secret})
    return r.status_code, r.json()["error"]["code"] if r.status_code != 200 else ""


def _new_user(db: sessionmaker[Session]) -> str:
    username = new_id("u")
    with db.begin() as s:
        add_user(s, username, "analyst", SECRET)
    return username


def test_five_failed_logins_in_a_row_lock_the_username_even_for_the_right_secret(
        client: TestClient, db: sessionmaker[Session]) -> None:
    """LOCKOUT_FAILURES (5) wrong secrets in a row, each answered BAD_CREDENTIALS; the sixth
    attempt, with the right secret, is LOGIN_LOCKED and audited as a failure with its code;
    16 minutes on (past the 15-minute window) the username is free again."""
    username = _new_user(db)
    for _ in range(LOCKOUT_FAILURES):
        assert _login(client, username, "wrong secret") == (401, "BAD_CREDENTIALS")
    assert _login(client, username, SECRET) == (401, "LOGIN_LOCKED")
    failed = audits(db, username, "login_failed")
    assert [e.detail["code"] for e in failed] == ["BAD_CREDENTIALS"] * 5 + ["LOGIN_LOCKED"]
    later = dt.datetime.now(dt.UTC) + LOCKOUT_WINDOW + dt.timedelta(minutes=1)
    with db.begin() as s:
        assert locked_out(s, username)
        assert not locked_out(s, username, later)
        token, _ = login(s, username, SECRET, at=later)
    assert token


def test_a_successful_login_starts_the_count_again(client: TestClient,
                                                   db: sessionmaker[Session]) -> None:
    """4 failures, a success, 4 failures: never 5 in a row, so the right secret still works."""
    username = _new_user(db)
    for _ in range(2):
        for _ in range(LOCKOUT_FAILURES - 1):
            assert _login(client, username, "wrong secret") == (401, "BAD_CREDENTIALS")
        assert _login(client, username, SECRET) == (200, "")


def test_an_unknown_username_locks_alike(client: TestClient) -> None:
    """No probing by the lockout either: a name that is no user's answers as a user's would."""
    username = new_id("nobody")
    for _ in range(LOCKOUT_FAILURES):
        assert _login(client, username, SECRET) == (401, "BAD_CREDENTIALS")
    assert _login(client, username, SECRET) == (401, "LOGIN_LOCKED")


def test_a_login_deletes_the_users_expired_tokens_only(db: sessionmaker[Session]) -> None:
    """Three tokens: one expired an hour ago, one live, then a new login: the expired one is
    gone, the live one and the new one stay (stored as hashes)."""
    username = _new_user(db)
    t0 = dt.datetime.now(dt.UTC)
    with db.begin() as s:
        old, _ = login(s, username, SECRET, dt.timedelta(hours=1), at=t0 - dt.timedelta(hours=2))
        live, _ = login(s, username, SECRET, dt.timedelta(hours=8), at=t0 - dt.timedelta(hours=1))
    with db.begin() as s:
        new, _ = login(s, username, SECRET, dt.timedelta(hours=8), at=t0)
    with db.begin() as s:
        kept = set(s.scalars(select(Token.token_hash).where(Token.username == username)))
    assert kept == {token_hash(live), token_hash(new)}
    assert token_hash(old) not in kept
