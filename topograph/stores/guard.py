"""Read-only queries, enforced: what a query without ``--write`` may do, and how that is checked.

A query run without ``--write`` (``Session.cypher(text)``, ``GraphStore.query(text)``)
may read the graph and nothing else: it cannot change data, read or write a
file, load code, change a setting or touch another session. No folder is open
to it (files need ``--write``). Three layers check this, the outer ones only
to refuse early and to name the reason:

1. **A lexical first filter** (this module). The text is split into tokens
   the way the databases do (string literals with their escapes, comments,
   backtick names; for Neo4j, ``\\uXXXX`` escapes decoded first, anywhere in
   the text, as its parser does), never by regular expressions over the raw
   text. Refused: a second statement; a clause that reaches outside the graph
   (LOAD, COPY, EXPORT, IMPORT, ATTACH, INSTALL, USE, SHOW, TERMINATE,
   transaction control, EXPLAIN, PROFILE); ``CALL name = value`` (a
   setting); ``CALL`` of a procedure or table function not on the store's
   allow-list; a function the store declares unsafe. It runs before the store
   is asked for a plan because LadybugDB binds the statement to plan it, and
   binding already acts: ``EXPLAIN EXPORT DATABASE`` creates the folder,
   ``EXPLAIN CALL read_csv_serial(...)`` crashes the process.
2. **The query plan**, from the database itself (each store's module): on
   Neo4j, ``EXPLAIN`` gives the summary's ``query_type`` (only ``"r"`` passes)
   and the operators (no ``LoadCSV``, no ``Show*``/``Terminate*`` commands, no
   ``ProcedureCall`` outside the allow-list); on LadybugDB, the statement is
   prepared (its parser refuses a second statement without running anything)
   and the ``EXPLAIN`` plan may hold only read operators from an allow-list.
3. **The database's read mode**: Neo4j's read access mode; on the embedded
   store a read-only ``Database`` and a ``READ ONLY`` transaction.

The filter is deliberately conservative: where it cannot tell a keyword from
a variable (``WITH 1 AS load RETURN load``) it refuses, and says how to quote
the name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from topograph.errors import InputError

__all__ = [
    "Dialect",
    "ReadOnlyViolation",
    "Token",
    "check_statement",
    "decode_java_unicode",
    "tokenize",
]

Dialect = Literal["neo4j", "embedded"]

#: Words that open a clause reaching outside the graph, a command on the
#: server or on other sessions, or a transaction of its own.
OUTSIDE = {
    "LOAD": "reads files or loads code",
    "COPY": "reads or writes files",
    "EXPORT": "writes files",
    "IMPORT": "reads files",
    "ATTACH": "opens another database",
    "INSTALL": "installs code",
    "UNINSTALL": "removes code",
    "USE": "switches to another database",
    "SHOW": "is an administration command",
    "TERMINATE": "acts on other sessions",
    "CHECKPOINT": "writes the database file",
    "BEGIN": "controls the transaction",
    "COMMIT": "controls the transaction",
    "ROLLBACK": "controls the transaction",
    "EXPLAIN": "is a plan request (run the query itself)",
    "PROFILE": "is a plan request (run the query itself)",
    "GRANT": "is an administration command",
    "DENY": "is an administration command",
    "REVOKE": "is an administration command",
}
#: First words of statements that write (named in the refusal: add --write).
WRITES = {"CREATE", "MERGE", "DELETE", "DETACH", "SET", "REMOVE", "DROP", "ALTER", "FOREACH"}
#: First words of a read statement.
READ_STARTS = {"MATCH", "OPTIONAL", "UNWIND", "WITH", "RETURN", "CALL"}

_LINE_ENDS = "\n\r\x0b\x0c\x85\u2028\u2029"


class ReadOnlyViolation(InputError):
    """A query without ``--write`` asked for something a read-only query may not do."""


def _refuse(what: str) -> ReadOnlyViolation:
    return ReadOnlyViolation(f"read-only query refused: {what}")


@dataclass(frozen=True)
class Token:
    """One lexical token. ``kind``: word, name (backtick-quoted), string, param, number, symbol.

    ``text``: the word as written, a backtick name unquoted, a string
    literal with its quotes, the symbol itself.
    """

    kind: str
    text: str

    @property
    def upper(self) -> str:
        return self.text.upper()


def decode_java_unicode(text: str) -> str:
    """``text`` with Java's ``\\uXXXX`` escapes decoded everywhere, as Neo4j's parser reads it.

    Neo4j decodes them before it splits the text into tokens (so
    ``'a\\u0027`` closes the string, and ``L\\u004FAD`` is LOAD). The Java
    rule: a backslash starts an escape only when an even number of
    backslashes precedes it; any number of ``u`` may follow. A malformed
    escape is refused, as Neo4j refuses it.
    """
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        run = i
        while run < n and text[run] == "\\":
            run += 1
        slashes = run - i
        if slashes % 2 == 0 or run >= n or text[run] != "u":
            out.append(text[i:run])
            i = run
            continue
        out.append("\\" * (slashes - 1))  # the pairs before the escaping backslash stay
        j = run
        while j < n and text[j] == "u":
            j += 1
        digits = text[j : j + 4]
        if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise _refuse("malformed \\u escape")
        out.append(chr(int(digits, 16)))
        i = j + 4
    return "".join(out)


def _is_word_start(ch: str) -> bool:
    return ch == "_" or unicodedata.category(ch)[0] == "L" or unicodedata.category(ch) == "Pc"


def _is_word_part(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return ch == "_" or cat[0] in "LN" or cat in ("Pc", "Mn", "Mc", "Sc")


def tokenize(text: str, dialect: Dialect) -> list[Token]:
    """The tokens of ``text``; comments and whitespace dropped.

    Unterminated strings, names or comments are refused: the databases
    refuse them too, and guessing where they end is how filters are fooled.
    Where the databases differ, this lexer ends a comment no later than
    either of them does, so it never reads as a comment what one of them
    runs.
    """
    if dialect == "neo4j":
        text = decode_java_unicode(text)
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            i += 1
        elif text.startswith("//", i):
            while i < n and text[i] not in _LINE_ENDS:
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise _refuse("unterminated /* comment")
            i = end + 2
        elif ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise _refuse("unterminated string literal")
            tokens.append(Token("string", text[i : j + 1]))
            i = j + 1
        elif ch == "`":
            parts = []
            j = i
            while j < n and text[j] == "`":
                end = text.find("`", j + 1)
                if end < 0:
                    raise _refuse("unterminated `name`")
                parts.append(text[j + 1 : end])
                j = end + 1
            tokens.append(Token("name", "`".join(parts)))
            i = j
        elif ch == "$":
            j = i + 1
            if j < n and text[j] == "`":
                end = text.find("`", j + 1)
                if end < 0:
                    raise _refuse("unterminated `name`")
                j = end + 1
            else:
                while j < n and _is_word_part(text[j]):
                    j += 1
            tokens.append(Token("param", text[i:j]))
            i = j
        elif ch.isdigit():
            j = i + 1
            while j < n and (_is_word_part(text[j]) or text[j] == "."):
                j += 1
            tokens.append(Token("number", text[i:j]))
            i = j
        elif _is_word_start(ch):
            j = i + 1
            while j < n and _is_word_part(text[j]):
                j += 1
            tokens.append(Token("word", text[i:j]))
            i = j
        else:
            tokens.append(Token("symbol", ch))
            i += 1
    return tokens


def _is_keyword(tokens: list[Token], k: int) -> bool:
    """Whether word ``k`` stands where a clause keyword can, not as a name.

    Names: a property (``n.load``), a label or type (``:Load``), a variable
    with a label or a map key (``load:``), a variable's property
    (``load.name``), a lone variable in a pattern (``(load)``), an alias
    (``AS load``). Anything else is taken as a keyword (a clause cannot
    follow ``.``, ``:`` or ``AS``, nor precede ``:`` or ``.``).
    """
    before = tokens[k - 1] if k > 0 else None
    after = tokens[k + 1] if k + 1 < len(tokens) else None
    if before is not None and before.kind == "symbol" and before.text in ".:":
        return False
    if before is not None and before.kind == "word" and before.upper == "AS":
        return False
    if after is not None and after.kind == "symbol" and after.text in ":.":
        return False
    lone = before is not None and before.text == "(" and after is not None and after.text == ")"
    return not lone


def _dotted_name(tokens: list[Token], k: int) -> tuple[str, int]:
    """The (possibly dotted, possibly backticked) name starting at ``k`` and the index after it."""
    parts = []
    while k < len(tokens) and tokens[k].kind in ("word", "name"):
        parts.append(tokens[k].text)
        if k + 2 < len(tokens) and tokens[k + 1].text == "." and tokens[k + 1].kind == "symbol":
            k += 2
        else:
            k += 1
            break
    return ".".join(parts).lower(), k


def check_statement(
    text: str,
    dialect: Dialect,
    *,
    write: bool,
    procedures: Iterable[str] = (),
    unsafe_functions: Iterable[str] = (),
) -> list[Token]:
    """The first filter: refuse what no query may hold, and what a read-only one may not.

    Always refused: an empty query, a second statement. Without ``write``
    also: a statement that does not start as a read, a clause reaching
    outside the graph (:data:`OUTSIDE`), a setting (``CALL name = value``),
    ``CALL`` of a procedure or table function not in ``procedures``
    (lower-case names), a call of a function in ``unsafe_functions``.
    Returns the tokens.
    """
    tokens = tokenize(text, dialect)
    while tokens and tokens[-1].kind == "symbol" and tokens[-1].text == ";":
        tokens = tokens[:-1]
        if dialect == "embedded":
            break  # LadybugDB takes one trailing ';' only
    if not tokens:
        raise InputError("empty query")
    if any(t.kind == "symbol" and t.text == ";" for t in tokens):
        raise InputError("one Cypher statement per query (found ';' between statements)")
    if write:
        return tokens
    first = tokens[0]
    if first.kind != "word" or first.upper not in READ_STARTS:
        if first.kind == "word" and first.upper in WRITES:
            raise _refuse(f"{first.upper} writes (add --write, or write=True, to allow it)")
        word = first.upper if first.kind == "word" else first.text
        if first.kind == "word" and first.upper in OUTSIDE:
            raise _refuse(f"{word} {OUTSIDE[first.upper]}")
        raise _refuse(
            f"a read starts with MATCH, OPTIONAL MATCH, UNWIND, WITH, RETURN or CALL, not {word}"
        )
    allowed = {p.lower() for p in procedures}
    for k, tok in enumerate(tokens):
        if tok.kind != "word" or not _is_keyword(tokens, k):
            continue
        word = tok.upper
        if word in OUTSIDE:
            raise _refuse(
                f"{word} {OUTSIDE[word]} (a variable of that name: quote it, `{tok.text}`)"
            )
        if word != "CALL":
            continue
        nxt = tokens[k + 1] if k + 1 < len(tokens) else None
        if nxt is None or (nxt.kind == "symbol" and nxt.text in "{("):
            continue  # a subquery: CALL { ... } or CALL (x) { ... }
        name, after = _dotted_name(tokens, k + 1)
        follow = tokens[after] if after < len(tokens) else None
        if follow is not None and follow.kind == "symbol" and follow.text == "=":
            raise _refuse(f"CALL {name} = ... changes a setting")
        if not name or name not in allowed:
            listing = ", ".join(sorted(allowed)) or "none"
            raise _refuse(f"CALL {name or nxt.text} is not on the read-only allow-list ({listing})")
    unsafe = {f.lower() for f in unsafe_functions}
    if unsafe:
        for k, tok in enumerate(tokens):
            if tok.kind not in ("word", "name") or (k > 0 and tokens[k - 1].text == "."):
                continue
            name, after = _dotted_name(tokens, k)
            follow = tokens[after] if after < len(tokens) else None
            if name in unsafe and follow is not None and follow.text == "(":
                raise _refuse(f"function {name} is not allowed in a read-only query")
    return tokens
