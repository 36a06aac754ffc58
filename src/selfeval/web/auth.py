"""Accounts, sessions and CSRF tokens of the web application.

* Passwords are hashed with argon2id (argon2-cffi); only the hash is stored.
* A session is a random token in an HttpOnly, SameSite=Lax cookie; the database keeps its
  SHA-256 only, with the session's CSRF token. Every form carries that token and every POST
  is refused (403) without it.
* A server without accounts listening on the local machine gives every visitor the local user
  (the bureau's rights: one person on their own computer); once an account exists, or on any
  other host, a page needs a login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from selfeval.web.store import LOCAL_USER, Store, User

COOKIE = "selfeval_session"
SESSION_LIFETIME = 12 * 3600.0
ROLES = ("admin", "unit")
MIN_PASSWORD = 8
MAX_FAILURES = 5  # wrong passwords for one name …
FAILURE_WINDOW = 15 * 60.0  # … within this many seconds refuse that name's logins until they age out


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    token: str | None  # set when the session was made by this request (the cookie to send)
    user: User | None  # None: nobody logged in
    csrf: str


def add_user(store: Store, name: str, password: str, role: str, unit_code: str | None) -> int:
    """Create an account; ValueError with a Chinese message when something is wrong."""
    name = name.strip()
    if not name:
        raise ValueError("用户名不能为空")
    if role not in ROLES:
        raise ValueError(f"角色应为 {'、'.join(ROLES)}（admin：财政局；unit：预算单位），读到 {role!r}")
    if role == "unit" and not (unit_code or "").strip():
        raise ValueError("单位账户需要 --unit 单位编码（如 480001）")
    if role == "admin" and unit_code:
        raise ValueError("财政局账户（admin）不属于某个单位，请不要给 --unit")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 个字符")
    if store.user_row(name) is not None:
        raise ValueError(f"用户 {name} 已存在")
    return store.add_user(name, hash_password(password), role, (unit_code or "").strip() or None)


def change_password(store: Store, name: str, password: str) -> None:
    """Set an account's password and end its sessions; ValueError when the name or password is wrong."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"密码至少 {MIN_PASSWORD} 个字符")
    row = store.user_row(name.strip())
    if row is None:
        raise ValueError(f"没有用户 {name}")
    store.set_password(row["name"], hash_password(password))
    store.drop_sessions_of(row["id"])


class TooManyAttempts(Exception):
    """A name with MAX_FAILURES wrong passwords within FAILURE_WINDOW seconds: refused for a while."""


def login(store: Store, name: str, password: str) -> User | None:
    """The account if `password` is its password; None otherwise. TooManyAttempts after
    MAX_FAILURES failures for that name within FAILURE_WINDOW (whether the name exists or not)."""
    name = name.strip()
    if store.recent_failures(name, FAILURE_WINDOW) >= MAX_FAILURES:
        raise TooManyAttempts(name)
    row = store.user_row(name)
    if row is None:
        hash_password(password)  # the same work as a wrong password: no timing hint that the name is unknown
        store.add_failure(name)
        return None
    if not verify_password(row["password_hash"], password):
        store.add_failure(name)
        return None
    store.clear_failures(name)
    return User(id=row["id"], name=row["name"], role=row["role"], unit_code=row["unit_code"])


def new_session(store: Store, user: User | None) -> Session:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    store.add_session(token_hash(token), user.id if user is not None else None, csrf, SESSION_LIFETIME)
    return Session(token=token, user=user, csrf=csrf)


def current_session(store: Store, cookie: str | None, open_access: bool) -> Session:
    """The request's session: its cookie's, else a new one (the local user's when access is open)."""
    if cookie:
        row = store.session(token_hash(cookie))
        if row is not None:
            user = store.user(row["user_id"]) if row["user_id"] is not None else (LOCAL_USER if open_access else None)
            return Session(token=None, user=user, csrf=row["csrf"])
    return new_session(store, LOCAL_USER if open_access else None)


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf, str(sent))
