"""Users, roles and login tokens (用户与权限).

Four roles (docs/decisions.md, "Roles"):

- ``admin`` — everything, at any facility;
- ``clerk`` — 结算员 of one facility: previews, settles, reverses and reads only claims whose
  ``facility_id`` is theirs; reads persons, enrolments and accumulators with the 身份证号 masked;
- ``analyst`` — reads aggregates and person-level data with the 身份证号 always masked;
- ``auditor`` — reads everything (the unmasked 身份证号 on request), changes nothing.

Secrets are hashed with scrypt and a random salt and compared in constant time; a login token
is random and stored only as its SHA-256, with an expiry. An unmasked 身份证号 is shown only to
the roles in ``UNMASK_ROLES`` and only when asked for; each such read is audited by the caller.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from yibao.errors import InputError, Problem, YibaoError, fail
from yibao.store.audit import audit, now
from yibao.store.models import AuditEntry, Token, User

ROLES = ("admin", "clerk", "analyst", "auditor")
#: Roles that may post settlements and reversals.
WRITE_ROLES = frozenset({"admin", "clerk"})
#: Roles that may see an unmasked 身份证号 (on request, audited).
UNMASK_ROLES = frozenset({"admin", "auditor"})
#: Roles that may read financing (contribution, subsidy) rows.
FINANCE_ROLES = frozenset({"admin", "analyst", "auditor"})
DEFAULT_TTL = dt.timedelta(hours=8)
MIN_SECRET = 8
#: After this many failed logins of one username in a row, each within ``LOCKOUT_WINDOW`` of
#: now, the next attempts are refused without the secret being checked (LOGIN_LOCKED) until
#: the oldest of them is older than the window: a guesser gets 5 tries per quarter hour.
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = dt.timedelta(minutes=15)
#: The audit actions of a login (``attempt_login`` records failures, ``login`` successes).
LOGIN_OK, LOGIN_FAILED = "login", "login_failed"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_SALT_BYTES, _KEY_BYTES = 16, 32


class AuthError(YibaoError):
    """No valid credentials or token (HTTP 401)."""


class AccessError(YibaoError):
    """Authenticated, but the role or facility does not allow it (HTTP 403)."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * r * n * 2, dklen=_KEY_BYTES)


def hash_secret(secret: str) -> str:
    """``scrypt$n$r$p$salt$key`` with a fresh random salt."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(secret, salt, **_SCRYPT)
    return "$".join(["scrypt", *(str(v) for v in _SCRYPT.values()), _b64(salt), _b64(key)])


def verify_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches ``stored``, compared in constant time."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = _scrypt(secret, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


# Hashed once so that an unknown username costs the same scrypt as a known one.
_DUMMY = hash_secret(secrets.token_hex(16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(session: Session, username: str, role: str, secret: str,
             facility_id: str | None = None, *, by: str = "system") -> User:
    """Create a user; a clerk needs a facility, the other roles must not have one."""
    problems = []
    if not 1 <= len(username) <= 64 or not username.isprintable() or username != username.strip():
        problems.append(("BAD_USERNAME", "用户名无效 / a username is 1–64 printable characters",
                         "username"))
    if role not in ROLES:
        problems.append(("BAD_ROLE", f"角色无效 / role must be one of {', '.join(ROLES)}", "role"))
    if (role == "clerk") != bool(facility_id):
        problems.append(("BAD_FACILITY", "结算员必须且只有结算员可指定机构 / a clerk needs a "
                         "facility_id and only a clerk has one", "facility_id"))
    if len(secret) < MIN_SECRET:
        problems.append(("WEAK_SECRET", f"密码过短 / a secret has at least {MIN_SECRET} "
                         "characters", "secret"))
    if not problems and session.get(User, username) is not None:
        problems.append(("USER_EXISTS", f"用户已存在 / user {username!r} exists", "username"))
    if problems:
        raise InputError([Problem(code, msg, "user", field) for code, msg, field in problems])
    user = User(username=username, role=role, facility_id=facility_id or None,
                secret_hash=hash_secret(secret), active=True)
    session.add(user)
    audit(session, by, "add_user", username, {"role": role, "facility_id": facility_id})
    return user


def authenticate(session: Session, username: str, secret: str) -> User:
    """The active user with this secret; one message for every failure (no user probing)."""
    user = session.get(User, username) if len(username) <= 64 else None
    ok = verify_secret(secret, user.secret_hash if user is not None else _DUMMY)
    if user is None or not ok or not user.active:
        raise fail(AuthError, "BAD_CREDENTIALS",
                   "用户名或密码错误 / wrong username or secret", "", "username")
    return user


def locked_out(session: Session, username: str, at: dt.datetime | None = None) -> bool:
    """Whether the username's last ``LOCKOUT_FAILURES`` login attempts all failed within
    ``LOCKOUT_WINDOW`` of ``at`` (read from the audit log; a username that is no user's locks
    the same way, so the answer tells nothing of who exists)."""
    last = session.execute(
        select(AuditEntry.action, AuditEntry.at)
        .where(AuditEntry.target == username, AuditEntry.action.in_((LOGIN_OK, LOGIN_FAILED)))
        .order_by(AuditEntry.id.desc()).limit(LOCKOUT_FAILURES)).all()
    return (len(last) == LOCKOUT_FAILURES and all(a == LOGIN_FAILED for a, _ in last)
            and _aware(last[-1][1]) > (at or now()) - LOCKOUT_WINDOW)


def login(session: Session, username: str, secret: str, ttl: dt.timedelta = DEFAULT_TTL,
          at: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """A new token for the user and its expiry; only the token's hash is stored, and the
    user's expired tokens are deleted. Refused (LOGIN_LOCKED) while the username is
    ``locked_out``, whatever the secret."""
    if locked_out(session, username, at):
        minutes = LOCKOUT_WINDOW.seconds // 60
        raise fail(AuthError, "LOGIN_LOCKED", f"登录失败次数过多，请 {minutes} 分钟后再试 / too "
                   f"many failed logins: try again in {minutes} minutes", "", "username")
    user = authenticate(session, username, secret)
    token = secrets.token_urlsafe(32)
    when = at or now()
    expires = when + ttl
    # the user's expired tokens go as a new one comes: the table holds live tokens only
    session.execute(delete(Token).where(Token.username == user.username,
                                        Token.expires_at <= when))
    session.add(Token(token_hash=token_hash(token), username=user.username, expires_at=expires))
    audit(session, user.username, LOGIN_OK, user.username, {"expires_at": expires.isoformat()})
    return token, expires


def _aware(t: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def user_for_token(session: Session, token: str, at: dt.datetime | None = None) -> User:
    """The active user a token belongs to, or AuthError (unknown, expired or disabled)."""
    found = session.execute(select(Token.expires_at, User).join(
        User, User.username == Token.username).where(
        Token.token_hash == token_hash(token))).first()  # one query: token and user
    return checked_user(None if found is None else (found[0], found[1]), at)


def checked_user(found: tuple[dt.datetime, User] | None, at: dt.datetime | None = None) -> User:
    """The user of a token's row (its expiry and user), or AuthError: no row, expired, or the
    user disabled."""
    if found is None:
        raise fail(AuthError, "TOKEN_INVALID", "令牌无效 / unknown token", "", "Authorization")
    expires_at, user = found
    if _aware(expires_at) <= (at or now()):
        raise fail(AuthError, "TOKEN_EXPIRED", "令牌已过期 / the token has expired; log in again",
                   "", "Authorization")
    if not user.active:
        raise fail(AuthError, "TOKEN_INVALID", "用户已停用 / the user is disabled", "",
                   "Authorization")
    return user


def require_role(user: User, roles: frozenset[str] | set[str], action: str) -> None:
    if user.role not in roles:
        raise fail(AccessError, "FORBIDDEN",
                   f"无权执行此操作 / role {user.role!r} may not {action}", "", "role")


def require_facility(user: User, facility_id: str) -> None:
    """A clerk acts only on claims of their own facility."""
    if user.role == "clerk" and facility_id.strip() != (user.facility_id or ""):
        raise fail(AccessError, "FACILITY_FORBIDDEN",
                   "只能处理本机构的费用 / a clerk acts only on claims of their own facility",
                   "", "facility_id")


def may_unmask(user: User) -> bool:
    return user.role in UNMASK_ROLES
