"""The embedded ArcadeDB server's users: graphrec's root account and the read-only user.

graphrec connects as ``root`` (password in ``credentials.json`` and ``root.password``, which the
server reads: never on its command line) for its own work, and runs read-only queries as
:data:`READER_USER`, whose group may read records and nothing else, so the server itself refuses
its creates, updates, deletes, schema changes and ``IN TRANSACTIONS`` commits. Both passwords are
random and kept in 0600 files under the server's root. The user and its group are written into the
server's ``config/server-users.jsonl`` and ``config/server-groups.json`` (ArcadeDB's own formats:
PBKDF2WithHmacSHA256 password hashes) before every start; a running server reloads them within
seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

from graphrec.home import replace_private, write_private

ROOT_USER = "root"
#: The server user that read-only queries run as: its group may read records and nothing else, so the
#: server itself refuses writes, schema changes and ``IN TRANSACTIONS`` commits from it.
READER_USER = "graphrec_reader"
READER_GROUP = "graphrec_reader"
_CREDENTIALS_FILE = "credentials.json"
_ROOT_PASSWORD_FILE = "root.password"  # read by the server (arcadedb.server.rootPasswordPath)
_READER_CREDENTIALS_FILE = "reader.json"
_USERS_FILE = "config/server-users.jsonl"
_GROUPS_FILE = "config/server-groups.json"
_PBKDF2_ITERATIONS = 65536  # ArcadeDB's PBKDF2WithHmacSHA256 password hashes


class ServerUsers:
    """The users of one embedded server.

    Args:
        root: The server's root directory (``<graphrec home>/arcadedb``).
        database: The database the read-only user may read.
    """

    def __init__(self, root: Path, database: str) -> None:
        self.root = Path(root)
        self.database = database

    def password(self) -> str:
        """The root password of this home's server, generated once and kept in 0600 files
        (``credentials.json`` for graphrec, ``root.password`` for the server)."""
        path = self.root / _CREDENTIALS_FILE
        if path.exists():
            pw = str(json.loads(path.read_text())["password"])
        else:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            pw = secrets.token_urlsafe(24)
            write_private(path, json.dumps({"user": ROOT_USER, "password": pw}))
        if not (self.root / _ROOT_PASSWORD_FILE).exists():
            write_private(self.root / _ROOT_PASSWORD_FILE, pw)
        return pw

    def root_password_file(self) -> Path:
        """The file the server reads the root password from (created with :meth:`password`)."""
        self.password()
        return self.root / _ROOT_PASSWORD_FILE

    def reader_password(self) -> str:
        """The password of the read-only server user (:data:`READER_USER`), generated once and kept in
        the 0600 file ``reader.json`` beside the root credentials."""
        path = self.root / _READER_CREDENTIALS_FILE
        if path.exists():
            return str(json.loads(path.read_text())["password"])
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        pw = secrets.token_urlsafe(24)
        write_private(path, json.dumps({"user": READER_USER, "password": pw}))
        return pw

    def configure(self) -> bool:
        """Write the read-only group and user into ArcadeDB's security files; returns whether a file changed.

        Call it while holding the server's lock (:class:`graphrec.store.arcade.EmbeddedArcadeDB` does).

        The group may read records of every type and nothing else (no create/update/delete, no
        schema or security changes); the user belongs to it on graphrec's database only.
        """
        config = self.root / "config"
        config.mkdir(mode=0o700, parents=True, exist_ok=True)
        changed = False
        groups_path = self.root / _GROUPS_FILE
        groups = json.loads(groups_path.read_text()) if groups_path.exists() else _default_groups()
        wanted = {"resultSetLimit": -1, "readTimeout": -1, "access": [], "types": {"*": {"access": ["readRecord"]}}}
        db_groups = groups.setdefault("databases", {}).setdefault("*", {}).setdefault("groups", {})
        if db_groups.get(READER_GROUP) != wanted:
            db_groups[READER_GROUP] = wanted
            replace_private(groups_path, json.dumps(groups, indent=2))
            changed = True
        users_path = self.root / _USERS_FILE
        lines = [ln for ln in users_path.read_text().splitlines() if ln.strip()] if users_path.exists() else []
        users = [json.loads(ln) for ln in lines]
        if not any(u.get("name") == ROOT_USER for u in users):  # a new file: the server would create root
            users.insert(
                0, {"name": ROOT_USER, "databases": {"*": ["admin"]}, "password": _hash_password(self.password())}
            )
            changed = True
        reader = next((u for u in users if u.get("name") == READER_USER), None)
        pw = self.reader_password()
        databases = {self.database: [READER_GROUP]}
        if (
            reader is None
            or reader.get("databases") != databases
            or not _password_matches(reader.get("password", ""), pw)
        ):
            users = [u for u in users if u.get("name") != READER_USER]
            users.append({"name": READER_USER, "databases": databases, "password": _hash_password(pw)})
            changed = True
        if changed:
            replace_private(users_path, "".join(json.dumps(u, separators=(",", ":")) + "\n" for u in users))
        return changed


def _hash_password(password: str) -> str:
    """ArcadeDB's stored form of a password: ``PBKDF2WithHmacSHA256$iterations$salt$hash`` (base64;
    the salt's base64 text is what is hashed with)."""
    salt = base64.b64encode(secrets.token_bytes(32)).decode()
    return f"PBKDF2WithHmacSHA256${_PBKDF2_ITERATIONS}${salt}${_pbkdf2(password, salt, _PBKDF2_ITERATIONS)}"


def _pbkdf2(password: str, salt: str, iterations: int) -> str:
    return base64.b64encode(hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations, 32)).decode()


def _password_matches(stored: str, password: str) -> bool:
    """Whether ArcadeDB's stored hash ``stored`` is that of ``password``."""
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        return algorithm == "PBKDF2WithHmacSHA256" and hmac.compare_digest(
            _pbkdf2(password, salt, int(iterations)), digest
        )
    except ValueError:
        return False


def _default_groups() -> dict[str, Any]:
    """ArcadeDB's own default ``server-groups.json`` (an ``admin`` group and a no-access ``*`` group)."""
    record_access = ["createRecord", "readRecord", "updateRecord", "deleteRecord"]
    return {
        "databases": {
            "*": {
                "groups": {
                    "admin": {
                        "resultSetLimit": -1, "readTimeout": -1,
                        "access": ["updateSecurity", "updateSchema", "updateDatabaseSettings"],
                        "types": {"*": {"access": record_access}},
                    },
                    "*": {"resultSetLimit": -1, "readTimeout": -1, "access": [], "types": {"*": {"access": []}}},
                }
            }
        },
        "version": 2,
    }  # fmt: skip
