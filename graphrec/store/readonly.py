"""The up-front check of a user's Cypher in read-only mode (``graphrec query`` without ``--write``).

The server is the real guard (a read-only ArcadeDB user, a READ access-mode Neo4j session); this
check refuses, before anything is sent, the constructs a read-only query must never contain, with a
message that names the construct, where it is and how to allow it:

* ``CALL { ... } IN TRANSACTIONS`` (and the old ``USING PERIODIC COMMIT``): commits on its own;
* schema and administration statements (``CREATE``/``DROP`` ``INDEX``/``CONSTRAINT``,
  ``CREATE``/``DROP``/``ALTER`` ``DATABASE``/``USER``/``ROLE``/``ALIAS``, ``GRANT``, ...);
* ``LOAD CSV``: reads files or URLs (allowed with ``--allow-load-csv`` or ``--write``);
* update clauses: ``CREATE``, ``MERGE``, ``SET``, ``DELETE``, ``DETACH DELETE``, ``REMOVE``, ``FOREACH``.

The query is tokenised first, so comments, string literals and backtick-quoted names never count,
and keywords match in any case and across whitespace and newlines. A word that is a property key
(``n.set``), a label or type (``:Create``), a map key (``{delete: 1}``), a parameter (``$merge``)
or an alias (``AS remove``) is a name, not a clause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from graphrec.errors import QueryRefusedError

#: Update clauses (a name in any of the contexts listed in the module docstring is not a clause).
WRITE_CLAUSES: Final = frozenset({"CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH"})
_INDEX_KINDS: Final = frozenset(
    {"UNIQUE", "RANGE", "TEXT", "POINT", "LOOKUP", "FULLTEXT", "VECTOR", "BTREE", "NODE", "RELATIONSHIP"}
)
_SCHEMA_OBJECTS: Final = frozenset({"INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS"})
_ADMIN_OBJECTS: Final = frozenset(
    {"DATABASE", "DATABASES", "COMPOSITE", "ALIAS", "USER", "USERS", "ROLE", "ROLES", "SERVER", "CURRENT"}
)
_ADMIN_VERBS: Final = frozenset({"CREATE", "DROP", "ALTER", "RENAME", "START", "STOP"})
_STATEMENT_ADMIN: Final = frozenset({"GRANT", "DENY", "REVOKE", "DEALLOCATE", "REALLOCATE", "ENABLE", "TERMINATE"})
_NAME_BEFORE: Final = frozenset({".", ":", "$", "AS"})  # a word right after one of these is a name
#: No clause can start right after one of these: a clause keyword there is a variable (``ORDER BY merge``)
_NOT_BEFORE_CLAUSE: Final = frozenset({
    ",", "(", "[", "=", "+", "-", "/", "%", "^", "<", ">", "BY", "WHERE", "AND", "OR", "XOR", "NOT", "IN",
    "RETURN", "WITH", "DISTINCT", "UNWIND", "THEN", "ELSE", "WHEN", "CASE", "IS", "SKIP", "LIMIT", "YIELD",
    "ORDER", "CONTAINS", "STARTS", "ENDS",
})  # fmt: skip


@dataclass(frozen=True)
class Token:
    """One lexical token of a Cypher query.

    Attributes:
        kind: ``"word"``, ``"quoted"`` (backtick name), ``"string"``, ``"param"``, ``"number"`` or ``"punct"``.
        text: The token's text as written.
        line: 1-based line of its first character.
        column: 1-based column of its first character.
    """

    kind: str
    text: str
    line: int
    column: int

    @property
    def upper(self) -> str:
        """The text in upper case (keywords are case-insensitive)."""
        return self.text.upper()


def tokenize(query: str) -> list[Token]:
    """Split Cypher into tokens, dropping whitespace and comments.

    Strings (``'...'``, ``"..."``, with backslash escapes) and backtick names (with doubled
    backticks) become single tokens; an unterminated one runs to the end of the query.
    """
    tokens: list[Token] = []
    i, n = 0, len(query)
    line, line_start = 1, 0

    def advance_to(j: int) -> None:
        nonlocal i, line, line_start
        newlines = query.count("\n", i, j)
        if newlines:
            line += newlines
            line_start = query.rfind("\n", i, j) + 1
        i = j

    while i < n:
        ch = query[i]
        col = i - line_start + 1
        if ch.isspace():
            advance_to(i + 1)
        elif query.startswith("//", i):
            end = query.find("\n", i)
            advance_to(n if end < 0 else end)
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            advance_to(n if end < 0 else end + 2)
        elif ch in "'\"":
            j = i + 1
            while j < n and query[j] != ch:
                j += 2 if query[j] == "\\" else 1
            end = min(j + 1, n)
            tokens.append(Token("string", query[i:end], line, col))
            advance_to(end)
        elif ch == "`":
            j = i + 1
            while j < n:
                if query[j] == "`":
                    if query.startswith("``", j):
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
            tokens.append(Token("quoted", query[i:end], line, col))
            advance_to(end)
        elif ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (query[j].isalnum() or query[j] == "_"):
                j += 1
            tokens.append(Token("word", query[i:j], line, col))
            advance_to(j)
        elif ch == "$":
            j = i + 1
            while j < n and (query[j].isalnum() or query[j] == "_"):
                j += 1
            if j < n and j == i + 1 and query[j] == "`":  # $`quoted name`
                end = query.find("`", j + 1)
                j = n if end < 0 else end + 1
            tokens.append(Token("param", query[i:j], line, col))
            advance_to(j)
        elif ch.isdigit():
            j = i + 1
            while j < n and (
                query[j].isalnum() or query[j] == "_" or (query[j] == "." and query[j + 1 : j + 2].isdigit())
            ):
                j += 1
            tokens.append(Token("number", query[i:j], line, col))
            advance_to(j)
        else:
            tokens.append(Token("punct", ch, line, col))
            advance_to(i + 1)
    return tokens


@dataclass(frozen=True)
class Violation:
    """A construct that a read-only query may not contain.

    Attributes:
        kind: ``"in_transactions"``, ``"schema"``, ``"load_csv"`` or ``"write"``.
        construct: The construct as the user would name it, e.g. ``"DROP CONSTRAINT"``.
        line: 1-based line where it starts.
        column: 1-based column where it starts.
    """

    kind: str
    construct: str
    line: int
    column: int

    def message(self) -> str:
        """The refusal message: what was found, where, and how to allow it."""
        where = f"{self.construct} at line {self.line}, column {self.column}"
        prefix = "graphrec query is read-only by default"
        if self.kind == "in_transactions":
            return (
                f"{prefix} and this query uses {where}, which commits transactions of its own; "
                "it is refused in read-only mode. Rerun with --write if you mean to change the graph"
            )
        if self.kind == "schema":
            return (
                f"{prefix} and this query is a schema or administration statement ({where}); "
                "it is refused in read-only mode. Rerun with --write to change the schema "
                "(`graphrec repair` restores graphrec's own constraints and indexes)"
            )
        if self.kind == "load_csv":
            return (
                f"{prefix} and this query reads a file or URL with {where}; LOAD CSV is refused in read-only "
                "mode. Rerun with --allow-load-csv (or --write) to allow it"
            )
        return f"{prefix} and this query writes to the graph ({where}); rerun with --write to allow it"


def _is_keyword(tokens: list[Token], k: int) -> bool:
    """Whether the word at ``k`` stands where a keyword can (not a property, label, map key, alias)."""
    tok = tokens[k]
    if tok.kind != "word":
        return False
    if k > 0 and tokens[k - 1].upper in _NAME_BEFORE and tokens[k - 1].kind in ("punct", "word"):
        return False
    return not (k + 1 < len(tokens) and tokens[k + 1].text == ":")


def _word(tokens: list[Token], k: int) -> str:
    """The upper-case keyword at ``k``, or ``""`` when ``k`` is out of range or not a keyword."""
    return tokens[k].upper if 0 <= k < len(tokens) and _is_keyword(tokens, k) else ""


def _clause(tokens: list[Token], k: int) -> str:
    """Like :func:`_word`, for a word that starts a clause: ``""`` after a token no clause can follow."""
    word = _word(tokens, k)
    if word and k > 0 and tokens[k - 1].kind in ("punct", "word") and tokens[k - 1].upper in _NOT_BEFORE_CLAUSE:
        return ""
    return word


def _statement_starts(tokens: list[Token]) -> set[int]:
    """Indexes of the first keyword of each statement, past ``CYPHER``/``EXPLAIN``/``PROFILE``/``USE`` prefixes."""
    starts: set[int] = set()
    k = 0
    while k < len(tokens):
        while k < len(tokens):
            word = _word(tokens, k)
            if word in ("EXPLAIN", "PROFILE"):
                k += 1
            elif word == "USE" and k + 1 < len(tokens):
                k += 2
            elif word == "CYPHER":  # CYPHER [version] [option=value ...]
                k += 1
                while k < len(tokens) and (tokens[k].kind == "number" or tokens[k].text == "=" or
                                           (k + 1 < len(tokens) and tokens[k + 1].text == "=") or
                                           (k > 0 and tokens[k - 1].text == "=")):  # fmt: skip
                    k += 1
            else:
                break
        starts.add(k)
        while k < len(tokens) and tokens[k].text != ";":
            k += 1
        k += 1
    return starts


def _schema_at(tokens: list[Token], k: int, starts: set[int]) -> str | None:
    """The schema/administration construct starting at ``k``, if any (e.g. ``"CREATE INDEX"``)."""
    word = _clause(tokens, k)
    if word in _STATEMENT_ADMIN and k in starts:
        return word
    if word not in _ADMIN_VERBS:
        return None
    j = k + 1
    if word == "CREATE" and _word(tokens, j) == "OR" and _word(tokens, j + 1) == "REPLACE":
        j += 2
    while _word(tokens, j) in _INDEX_KINDS:
        j += 1
    obj = _word(tokens, j)
    if obj in _SCHEMA_OBJECTS and word in ("CREATE", "DROP"):
        return f"{word} {obj}"
    if obj in _ADMIN_OBJECTS and (word in ("CREATE", "DROP", "ALTER", "RENAME") or k in starts):
        return f"{word} {obj}"
    return None


def find_violation(query: str, *, allow_load_csv: bool = False) -> Violation | None:
    """The first construct of ``query`` that read-only mode refuses, or ``None``.

    Schema and ``IN TRANSACTIONS`` are reported before other writes (their messages say more).

    Args:
        query: The user's Cypher.
        allow_load_csv: Accept ``LOAD CSV``.
    """
    tokens = tokenize(query)
    starts = _statement_starts(tokens)
    found: dict[str, Violation] = {}

    def note(kind: str, construct: str, tok: Token) -> None:
        found.setdefault(kind, Violation(kind, construct, tok.line, tok.column))

    for k, tok in enumerate(tokens):
        word = _word(tokens, k)
        if not word:
            continue
        clause = _clause(tokens, k)
        schema = _schema_at(tokens, k, starts)
        if schema is not None:
            note("schema", schema, tok)
        elif word == "IN" and k > 0 and tokens[k - 1].text == "}":
            # CALL { ... } IN [n CONCURRENT] TRANSACTIONS
            if any(_word(tokens, j) == "TRANSACTIONS" for j in range(k + 1, min(k + 8, len(tokens)))):
                note("in_transactions", "CALL { ... } IN TRANSACTIONS", tokens[k])
        elif clause == "USING" and _word(tokens, k + 1) == "PERIODIC" and _word(tokens, k + 2) == "COMMIT":
            note("in_transactions", "USING PERIODIC COMMIT", tok)
        elif clause == "LOAD" and _word(tokens, k + 1) == "CSV":
            if not allow_load_csv:
                note("load_csv", "LOAD CSV", tok)
        elif clause in WRITE_CLAUSES:
            note("write", "DETACH DELETE" if word == "DETACH" else word, tok)
    for kind in ("schema", "in_transactions", "load_csv", "write"):
        if kind in found:
            return found[kind]
    return None


def check_read_only(query: str, *, allow_load_csv: bool = False) -> None:
    """Raise :class:`QueryRefusedError` if ``query`` contains a construct read-only mode refuses.

    Args:
        query: The user's Cypher.
        allow_load_csv: Accept ``LOAD CSV`` (the user asked for it).

    Raises:
        QueryRefusedError: The message names the construct, its position and how to allow it.
    """
    violation = find_violation(query, allow_load_csv=allow_load_csv)
    if violation is not None:
        raise QueryRefusedError(violation.message())
