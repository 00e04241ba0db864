"""The read-only first filter and the URI rules, without a database (fast).

What the databases themselves enforce is tested against them in
``test_hostile.py``; these pin down the lexer's edge cases.
"""

from __future__ import annotations

from typing import Any

import pytest

from topograph import InputError
from topograph.stores.guard import ReadOnlyViolation, check_statement, decode_java_unicode, tokenize
from topograph.stores.uri import check_uri, has_password, parse_server_uri, redact


def test_java_unicode_escapes_are_decoded_as_neo4j_reads_them() -> None:
    assert decode_java_unicode(r"R\u0045TURN") == "RETURN"
    assert decode_java_unicode(r"'a\u0027") == "'a'"
    assert decode_java_unicode(r"\uuu0041") == "A"  # any number of u
    assert decode_java_unicode(r"\\u0041") == r"\\u0041"  # an escaped backslash
    assert decode_java_unicode(r"\\\u0041") == "\\\\A"
    with pytest.raises(ReadOnlyViolation, match="malformed"):
        decode_java_unicode(r"\u00G1")


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("RETURN 'a;b' AS s", ["word", "string", "word", "word"]),
        ("RETURN 'it\\'s' AS s", ["word", "string", "word", "word"]),
        ('RETURN "a\'" AS s', ["word", "string", "word", "word"]),
        ("RETURN 1 AS `a``;b`", ["word", "number", "word", "name"]),
        ("RETURN $x // ; CREATE\nAS y", ["word", "param", "word", "word"]),
        ("RETURN /* ; */ 1", ["word", "number"]),
    ],
)
def test_tokens(text: str, kinds: list[str]) -> None:
    assert [t.kind for t in tokenize(text, "embedded")] == kinds


def test_a_comment_ends_at_any_line_end() -> None:
    # Both databases end a // comment at a line end; CR alone must not hide code.
    tokens = tokenize("RETURN 1 AS x // c\rLOAD CSV", "neo4j")
    assert [t.text for t in tokens][-2:] == ["LOAD", "CSV"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("RETURN 'a//' AS a; CREATE (:Run)", "one Cypher statement"),
        ("RETURN 1 AS a;;", "one Cypher statement"),
        ("RETURN 'abc", "unterminated string"),
        ("RETURN 1 /* x", "unterminated /\\* comment"),
        ("RETURN `x", "unterminated `name`"),
        ("  // only a comment", "empty query"),
    ],
)
def test_always_refused(text: str, why: str) -> None:
    for write in (False, True):
        with pytest.raises(InputError, match=why):
            check_statement(text, "embedded", write=write)


@pytest.mark.parametrize(
    ("text", "dialect", "why"),
    [
        ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "neo4j", "LOAD reads files"),
        ("L\\u004FAD CSV FROM 'x' AS l RETURN l", "neo4j", "LOAD reads files"),
        ("RETURN 1 AS x UNION ALL LOAD FROM '/etc/passwd' RETURN *", "embedded", "LOAD"),
        ("MATCH (n) WITH n COPY (RETURN 1) TO 'x'", "embedded", "COPY"),
        ("MATCH (n) WITH n TERMINATE TRANSACTIONS 'x'", "neo4j", "TERMINATE"),
        ("CALL threads = 1", "embedded", "changes a setting"),
        ("CALL read_csv_serial('/etc/passwd') RETURN *", "embedded", "allow-list"),
        ("CALL `db`.`clearQueryCaches`()", "neo4j", "CALL db.clearquerycaches is not"),
        ("CALL db.clearQueryCaches", "neo4j", "allow-list"),
        ("CREATE (:Run)", "neo4j", "CREATE writes"),
        ("RETURN setseed(1) AS s", "embedded", "setseed"),
        ("CYPHER runtime=slotted MATCH (n) RETURN n", "neo4j", "a read starts with"),
        ("WITH 1 AS load RETURN load", "embedded", "quote it, `load`"),
    ],
)
def test_refused_without_write(text: str, dialect: Any, why: str) -> None:
    procedures = {"db.labels", "show_tables"}
    with pytest.raises(ReadOnlyViolation, match=why):
        check_statement(
            text, dialect, write=False, procedures=procedures, unsafe_functions={"setseed"}
        )


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (load:Run) RETURN load.name AS n",
        "MATCH (r:Run) RETURN r.name AS copy",
        "RETURN {load: 1} AS m",
        "MATCH (`use`:Run) RETURN `use`.name AS n",
        "MATCH (n) CALL { WITH n RETURN n.x AS x } RETURN x",
        "MATCH (n) CALL (n) { RETURN n.x AS x } RETURN x",
        "CALL db.labels() YIELD label RETURN label",
        "RETURN 'LOAD CSV; COPY' AS s;",
        "optional match (n) return n",
    ],
)
def test_reads_pass_the_filter(text: str) -> None:
    check_statement(text, "neo4j", write=False, procedures={"db.labels"})


def test_uri_credentials_are_cut_before_parsing() -> None:
    for password in ("Rt/Secr3t", "12345/abcSecr3t", "pa?Secr3t#x", "p@ss@Secr3t", "a:b"):
        uri = f"bolt://neo4j:{password}@db.example:7687"
        parsed = parse_server_uri(uri)
        assert (parsed.clean, parsed.user, parsed.password) == (
            "bolt://db.example:7687",
            "neo4j",
            password,
        )
        assert redact(uri) == "bolt://db.example:7687" and has_password(uri)
    assert parse_server_uri("bolt://neo4j:%2Fx@h").password == "/x"
    assert not has_password("bolt://neo4j@h:7687") and not has_password("graph.lbdb")
    with pytest.raises(InputError) as err:
        parse_server_uri("bolt://neo4j:Secr3t@h:port")
    assert "Secr3t" not in str(err.value) and "malformed bolt://" in str(err.value)


@pytest.mark.parametrize(
    "uri", ["http://u:Secr3t@h/x", "HTTPS://h/?token=Secr3t", "ftp://h/Secr3t", "file:///Secr3t"]
)
def test_other_schemes_are_refused_naming_only_the_scheme(uri: str) -> None:
    with pytest.raises(InputError, match=r"is not a graph store") as err:
        check_uri(uri)
    assert "Secr3t" not in str(err.value)
    assert "Secr3t" not in redact(uri)


def test_paths_stay_paths() -> None:
    for path in ("graph.lbdb", "/data/my graph.lbdb", "C:/x.lbdb", "runs/a:b.lbdb"):
        assert check_uri(path) == path and redact(path) == path
