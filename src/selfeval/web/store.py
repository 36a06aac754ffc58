"""The web application's store: one SQLite database (standard library) and one folder per record.

    DATA/
      selfeval.sqlite3       users, sessions, records (uploads, runs, jobs and their state)
      records/<id>/input/    the files a person uploaded, under safe names
      records/<id>/out/      what the run wrote; appears whole (staged, then renamed) or not at all
      rules/                 rule profiles uploaded on the 规则 page (a `--rules-dir` for every run)

A record is anything a person made: a declaration they uploaded (`declaration`), a scoring run
(`score`), a bureau run (`bulk`, `whatif`, `audit`). It keeps its owner (user and unit code), its
job state (queued → running → done | failed), progress and a JSON `meta` (rules name and sha256,
input digests, the files it wrote). Every write is a short transaction; nothing lives only in
memory, so a restarted server finds everything again (and runs the jobs that were waiting).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'unit')),
    unit_code TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    parent TEXT,
    owner_user INTEGER,
    owner_unit TEXT,
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status TEXT NOT NULL,
    progress REAL,
    message TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    params TEXT NOT NULL DEFAULT '{}',
    meta TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_name ON login_failures(name, at);
CREATE INDEX IF NOT EXISTS records_kind ON records(kind, created);
CREATE INDEX IF NOT EXISTS records_parent ON records(parent);
"""

JOB_STATES = ("queued", "running", "done", "failed")


@dataclass
class Record:
    id: str
    kind: str
    parent: str | None
    owner_user: int | None
    owner_unit: str | None
    title: str
    created: float
    updated: float
    status: str
    progress: float | None
    message: str | None
    error: str | None
    attempts: int
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Record:
        values = dict(row)
        values["params"] = json.loads(values["params"] or "{}")
        values["meta"] = json.loads(values["meta"] or "{}")
        return cls(**values)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


@dataclass(frozen=True)
class User:
    id: int | None  # None: the local user of a server without accounts
    name: str
    role: str
    unit_code: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


LOCAL_USER = User(id=None, name="本机用户", role="admin", unit_code=None)


def new_id() -> str:
    """A record id nobody can guess (ids are still checked against the owner on every route)."""
    return secrets.token_hex(8)


class Store:
    """The database and the record folders under `root`."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "records").mkdir(exist_ok=True)
        (self.root / "rules").mkdir(exist_ok=True)
        self.path = self.root / "selfeval.sqlite3"
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed on success, rolled back on error)."""
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        try:
            with db:
                yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ folders

    @property
    def rules_dir(self) -> Path:
        return self.root / "rules"

    def folder(self, record_id: str) -> Path:
        return self.root / "records" / record_id

    def input_dir(self, record_id: str) -> Path:
        return self.folder(record_id) / "input"

    def out_dir(self, record_id: str) -> Path:
        return self.folder(record_id) / "out"

    def shown(self, text: str, *record_ids: str | None) -> str:
        """`text` (an error, a file's path) as the person knows it: without the store's folders of
        `record_ids`, an uploaded zip's entries named as they are in the zip."""
        for rid in filter(None, record_ids):
            for prefix in self.shown_prefixes(rid):
                text = text.replace(prefix, "")
        return text

    def shown_prefixes(self, record_id: str) -> list[str]:
        """What `shown` removes, in its order: the unpacked zip's folder, the uploads', the record's."""
        folders = (self.input_dir(record_id) / ".unpacked", self.input_dir(record_id), self.folder(record_id))
        return [text for f in folders for text in (f"{f}/", str(f))]

    def staging_dir(self, record_id: str) -> Path:
        """A fresh folder to write a run's outputs into; `publish` renames it to `out/`."""
        staging = self.folder(record_id) / f".out.staging-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir(parents=True)
        return staging

    def publish(self, record_id: str, staging: Path) -> Path:
        """Swap `staging` in as the record's `out/` (one rename; an older `out/` is removed)."""
        out = self.out_dir(record_id)
        if out.exists():
            old = out.with_name(f".out.old-{secrets.token_hex(4)}")
            out.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        staging.rename(out)
        return out

    def sweep_staging(self, record_id: str) -> None:
        """Remove what an interrupted run left in the record's folder."""
        folder = self.folder(record_id)
        if folder.is_dir():
            for child in folder.iterdir():
                if child.name.startswith((".out.staging-", ".out.old-")):
                    shutil.rmtree(child, ignore_errors=True)

    # ------------------------------------------------------------------ users

    def add_user(self, name: str, password_hash: str, role: str, unit_code: str | None) -> int:
        with self.connect() as db:
            cur = db.execute(
                "INSERT INTO users(name, password_hash, role, unit_code, created) VALUES (?, ?, ?, ?, ?)",
                (name, password_hash, role, unit_code, time.time()),
            )
            return int(cur.lastrowid or 0)

    def set_password(self, name: str, password_hash: str) -> bool:
        with self.connect() as db:
            return db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)).rowcount > 0

    def user_row(self, name: str) -> sqlite3.Row | None:
        with self.connect() as db:
            return db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()

    def user(self, user_id: int) -> User | None:
        with self.connect() as db:
            row = db.execute("SELECT id, name, role, unit_code FROM users WHERE id = ?", (user_id,)).fetchone()
        return User(**dict(row)) if row else None

    def has_users(self) -> bool:
        with self.connect() as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def recent_failures(self, name: str, window: float) -> int:
        with self.connect() as db:
            db.execute("DELETE FROM login_failures WHERE at < ?", (time.time() - window,))
            return int(db.execute("SELECT COUNT(*) FROM login_failures WHERE name = ?", (name,)).fetchone()[0])

    def add_failure(self, name: str) -> None:
        with self.connect() as db:
            db.execute("INSERT INTO login_failures(name, at) VALUES (?, ?)", (name, time.time()))

    def clear_failures(self, name: str) -> None:
        with self.connect() as db:
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))

    # ------------------------------------------------------------------ sessions

    def add_session(self, token_hash: str, user_id: int | None, csrf: str, lifetime: float) -> None:
        now = time.time()
        with self.connect() as db:
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            db.execute(
                "INSERT INTO sessions(token_hash, user_id, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, csrf, now, now + lifetime),
            )

    def session(self, token_hash: str) -> sqlite3.Row | None:
        with self.connect() as db:
            return db.execute("SELECT * FROM sessions WHERE token_hash = ? AND expires >= ?", (token_hash, time.time())).fetchone()

    def drop_sessions_of(self, user_id: int) -> None:
        with self.connect() as db:
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def drop_session(self, token_hash: str) -> None:
        with self.connect() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    # ------------------------------------------------------------------ records

    def add_record(
        self, kind: str, title: str, owner: User, *, unit_code: str | None = None, parent: str | None = None,
        status: str = "done", params: dict[str, Any] | None = None, meta: dict[str, Any] | None = None,
        record_id: str | None = None,
    ) -> Record:
        now = time.time()
        rid = record_id or new_id()
        with self.connect() as db:
            db.execute(
                "INSERT INTO records(id, kind, parent, owner_user, owner_unit, title, created, updated, status, params, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rid, kind, parent, owner.id, unit_code if unit_code is not None else owner.unit_code, title, now, now, status,
                 json.dumps(params or {}, ensure_ascii=False), json.dumps(meta or {}, ensure_ascii=False)),
            )
        found = self.record(rid)
        assert found is not None
        return found

    def record(self, record_id: str) -> Record | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        return Record.from_row(row) if row else None

    def records(self, kinds: tuple[str, ...], *, unit_code: str | None = None, parent: str | None = None, limit: int = 200) -> list[Record]:
        """Records of `kinds`, newest first; only unit `unit_code`'s when given."""
        sql = f"SELECT * FROM records WHERE kind IN ({','.join('?' * len(kinds))})"
        args: list[Any] = list(kinds)
        if unit_code is not None:
            sql += " AND owner_unit = ?"
            args.append(unit_code)
        if parent is not None:
            sql += " AND parent = ?"
            args.append(parent)
        sql += " ORDER BY created DESC LIMIT ?"
        args.append(limit)
        with self.connect() as db:
            return [Record.from_row(r) for r in db.execute(sql, args).fetchall()]

    def update(self, record_id: str, **values: Any) -> None:
        if not values:
            return
        for key in ("params", "meta"):
            if key in values:
                values[key] = json.dumps(values[key], ensure_ascii=False)
        values["updated"] = time.time()
        columns = ", ".join(f"{k} = ?" for k in values)
        with self.connect() as db:
            db.execute(f"UPDATE records SET {columns} WHERE id = ?", [*values.values(), record_id])

    def unfinished_jobs(self) -> list[Record]:
        """Jobs that were waiting or running when the server stopped, oldest first."""
        with self.connect() as db:
            rows = db.execute("SELECT * FROM records WHERE status IN ('queued', 'running') ORDER BY created").fetchall()
        return [Record.from_row(r) for r in rows]
