# ruff: noqa: E501  (the case tables read best one case a line)
"""Write the hostile corpus: one JSON file of cases per category (run: python make_corpus.py).

The cases are defined here, in code; the JSON files beside this script are
its output, committed, and ``tests/test_hostile.py`` checks that they are up
to date before it runs every case of every ``*.json`` file here on each store
the case names. The format is described in ``README.md`` (same folder).

Categories written by this script: ``uris`` (what ``--db`` / ``TOPOGRAPH_DB``
may hold), ``queries`` (what ``topograph query --cypher`` without
``--write`` may do) and ``inputs`` (checkpoint sources: names, layer files,
archives; the files themselves are built by ``make_inputs.py`` when the
tests run, and named ``{inputs}/<builder>``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECRET = "Secr3t"
BOTH = ["embedded", "neo4j"]


def refused(ident: str, argv: list[str], *, message: str = "", **extra: Any) -> dict[str, Any]:
    return {"id": ident, "argv": argv, "expect": "refused", "message": message, **extra}


def allowed(ident: str, argv: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": ident, "argv": argv, "expect": "allowed", **extra}


def uri_cases() -> list[dict[str, Any]]:
    """``--db`` values: secrets never printed, only Bolt URIs or paths taken."""
    unreachable = "127.0.0.1:9"  # discard port: nothing listens
    raw = [
        ("slash-in-password", f"bolt://neo4j:Rt/{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("digits-then-slash", f"bolt://neo4j:12345/abc{SECRET}@{unreachable}", "cannot reach"),
        ("question-mark", f"bolt://neo4j:pa?ss{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("hash-sign", f"bolt://neo4j:pa#ss{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("at-signs", f"bolt://neo4j:p@ss@{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("colon-in-password", f"bolt://neo4j:a:b:{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("port-not-a-number", f"bolt://neo4j:{SECRET}@127.0.0.1:http", "malformed bolt://"),
        ("password-as-port", f"bolt://neo4j:{SECRET}/x@127.0.0.1", "cannot reach Neo4j"),
        ("port-out-of-range", f"bolt://neo4j:{SECRET}@127.0.0.1:99999", "malformed bolt://"),
        ("broken-ipv6", f"bolt://neo4j:{SECRET}@[::1:7687", "malformed bolt://"),
        ("no-host", f"bolt://neo4j:{SECRET}@", "malformed bolt://"),
        ("empty-user", f"bolt://:{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("percent-encoded", f"bolt://neo4j:%53ecr3t%2F@{unreachable}", "cannot reach Neo4j"),
        ("unicode-password", f"bolt://neo4j:Sé{SECRET}/ü@{unreachable}", "cannot reach Neo4j"),
        ("routing-scheme", f"neo4j://neo4j:a/{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("tls-scheme", f"neo4j+s://neo4j:a?{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("uppercase-scheme", f"BOLT://neo4j:a/{SECRET}@{unreachable}", "cannot reach Neo4j"),
        ("http", f"http://user:{SECRET}@example.invalid/db", "http:// is not a graph store"),
        ("https", f"https://user:{SECRET}@example.invalid", "https:// is not a graph store"),
        ("http-upper", f"HTTP://user:{SECRET}@example.invalid", "http:// is not a graph store"),
        ("ftp", f"ftp://user:{SECRET}@example.invalid/x.lbdb", "ftp:// is not a graph store"),
        ("file", "file:///etc/passwd", "file:// is not a graph store"),
        ("token-in-query", f"https://example.invalid/db?token={SECRET}", "https://"),
        ("s3", f"s3://bucket/{SECRET}.lbdb", "s3:// is not a graph store"),
    ]
    cases = []
    for ident, uri, message in raw:
        scheme, _, rest = uri.partition("://")
        userinfo = rest.rpartition("@")[0]
        warns = scheme.lower().startswith(("bolt", "neo4j")) and bool(userinfo.partition(":")[2])
        cases.append(
            refused(
                f"uri-{ident}",
                ["db", "status", "--db", uri],
                message=message,
                secrets=[SECRET, "Secr3t", "%53ecr3t"],
                stores=["none"],
                warning="NEO4J_PASSWORD" if warns else "",
            )
        )
        if not warns:  # the same from the environment
            cases.append(
                refused(
                    f"uri-env-{ident}",
                    ["db", "status"],
                    message=message,
                    env={"TOPOGRAPH_DB": uri},
                    secrets=[SECRET, "%53ecr3t"],
                    stores=["none"],
                )
            )
    # A reachable server (auth off: any password is taken): works, never echoed.
    for ident, password in (("slash", f"Rt/{SECRET}"), ("question", f"p?{SECRET}#x")):
        cases.append(
            allowed(
                f"uri-reachable-{ident}",
                ["db", "status", "--db", f"bolt://neo4j:{password}@{{neo4j_hostport}}"],
                stdout="store: bolt://{neo4j_hostport}",
                secrets=[SECRET],
                warning="NEO4J_PASSWORD",
                stores=["neo4j"],
            )
        )
    return cases


# fmt: off
#: (id, Cypher, expected message fragment) of queries a read-only query must refuse.
REFUSED_QUERIES: list[tuple[str, str, str]] = [
    # A second statement, hidden by a string, a comment, an escape.
    ("multi-after-string-with-comment", "RETURN 'a//' AS a; CREATE (:Run {name: 'evil'})", "one Cypher statement"),
    ("multi-plain", "MATCH (r:Run) RETURN r.name AS n; MATCH (n) DETACH DELETE n", "one Cypher statement"),
    ("multi-commit-first", "COMMIT; CREATE (:Run {name: 'evil'})", "one Cypher statement"),
    ("multi-after-block-comment", "RETURN 1 AS x /* ' */ ; CREATE (:Run {name: 'evil'})", "one Cypher statement"),
    ("multi-after-double-quotes", 'RETURN "a\\"" AS x; CREATE (:Run {name: \'evil\'})', "one Cypher statement"),
    ("multi-unicode-quote", "RETURN 'a\\u0027 AS x; CREATE (:Run {name: 'evil'}) //'", ""),
    ("multi-unicode-semicolon", "RETURN 1 AS x \\u003B CREATE (:Run {name: 'evil'})", ""),
    ("multi-newlines", "RETURN 1 AS x\n;\nCREATE (:Run {name: 'evil'})", "one Cypher statement"),
    ("begin-transaction", "BEGIN TRANSACTION", "controls the transaction"),
    # Files: read.
    ("load-csv-file-url", "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l LIMIT 1", "LOAD"),
    ("load-csv-lower", "load csv from 'file:///etc/passwd' as l return l", "LOAD"),
    ("load-csv-mixed-case", "LoAd CsV WITH HEADERS FROM 'file:///etc/passwd' AS l RETURN l", "LOAD"),
    ("load-csv-after-match", "MATCH (r:Run) WITH r LIMIT 1 LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l", "LOAD"),
    ("load-csv-comment-split", "LOAD/**/CSV FROM 'file:///etc/passwd' AS l RETURN l", "LOAD"),
    ("load-csv-http", "LOAD CSV FROM 'http://127.0.0.1:9/x.csv' AS l RETURN l", "LOAD"),
    ("load-csv-unicode-escape", "L\\u004FAD CSV FROM 'file:///etc/passwd' AS l RETURN l", ""),
    ("load-with-headers", "LOAD WITH HEADERS (a STRING) FROM '/etc/passwd' RETURN *", "LOAD"),
    ("load-from-file", "LOAD FROM '/etc/passwd' (file_format='csv', header=false, delim=':') RETURN *", "LOAD"),
    ("union-load-from", "RETURN 'x' AS a UNION ALL LOAD FROM '/etc/hostname' (file_format='csv') RETURN *", "LOAD"),
    ("load-from-python-variable", "LOAD FROM batch RETURN *", "LOAD"),
    ("read-csv-table-function", "CALL read_csv_serial('/etc/hostname') RETURN *", "allow-list"),
    ("read-csv-parallel", "CALL read_csv_parallel('/etc/hostname') RETURN *", "allow-list"),
    ("read-parquet", "CALL READ_PARQUET('/etc/hostname') RETURN *", "allow-list"),
    ("read-npy", "CALL read_npy('/etc/hostname') RETURN *", "allow-list"),
    ("read-pandas-pointer", "CALL read_pandas(12345) RETURN *", "allow-list"),
    ("import-database", "IMPORT DATABASE '{tmp}/exported'", "IMPORT"),
    # Files: write.
    ("copy-to", "COPY (MATCH (r:Run) RETURN r.name) TO '{tmp}/out.csv'", "COPY"),
    ("copy-to-lower", "copy (match (r:Run) return r.name) to '{tmp}/out.csv'", "COPY"),
    ("export-database", "EXPORT DATABASE '{tmp}/exported'", "EXPORT"),
    ("explain-export", "EXPLAIN EXPORT DATABASE '{tmp}/explained'", "EXPLAIN"),
    ("profile", "PROFILE MATCH (n) RETURN count(n) AS n", "PROFILE"),
    # Code.
    ("load-extension-path", "LOAD EXTENSION '{evil_so}'", "LOAD"),
    ("load-extension-mixed", "lOaD eXtEnSiOn '{evil_so}'", "LOAD"),
    ("install-extension", "INSTALL json", "INSTALL"),
    ("uninstall-extension", "UNINSTALL json", "UNINSTALL"),
    ("load-official-extension", "LOAD json", "LOAD"),
    # Settings.
    ("setting-threads", "CALL threads=1", "changes a setting"),
    ("setting-home", "CALL home_directory='/tmp'", "changes a setting"),
    ("setting-search-path", "CALL file_search_path = '/etc'", "changes a setting"),
    ("setting-checkpoint", "CALL auto_checkpoint=false", "changes a setting"),
    ("checkpoint", "CHECKPOINT", "CHECKPOINT"),
    ("set-seed", "RETURN setseed(0.5) AS s", ""),
    ("procedure-config", "CALL dbms.setConfigValue('db.logs.query.enabled', 'OFF')", "allow-list"),
    ("procedure-clear-caches", "CALL db.clearQueryCaches()", "allow-list"),
    ("procedure-backticked", "CALL `db`.`clearQueryCaches`()", "allow-list"),
    ("procedure-list-config", "CALL dbms.listConfig() YIELD name RETURN name", "allow-list"),
    ("project-graph", "CALL project_graph('g', ['Run'], [])", "allow-list"),
    # Other sessions, other databases, the server.
    ("terminate", "TERMINATE TRANSACTIONS 'neo4j-transaction-1'", "TERMINATE"),
    ("terminate-after-with", "WITH 'neo4j-transaction-1' AS id TERMINATE TRANSACTIONS id", "TERMINATE"),
    ("show-transactions", "SHOW TRANSACTIONS", "SHOW"),
    ("show-settings", "SHOW SETTINGS YIELD name RETURN count(*) AS n", "SHOW"),
    ("list-connections", "CALL dbms.listConnections()", "allow-list"),
    ("kill-query", "CALL dbms.killQuery('query-1')", "allow-list"),
    ("use-system", "USE system SHOW USERS", "USE"),
    ("use-database", "USE neo4j MATCH (n) RETURN count(n) AS n", "USE"),
    ("attach", "ATTACH '{tmp}/other.lbdb' AS o (dbtype lbug)", "ATTACH"),
    ("create-user", "CREATE USER evil SET PASSWORD 'x'", "writes"),
    ("grant", "GRANT ROLE admin TO evil", "GRANT"),
    # Data.
    ("set-property", "MATCH (c:Checkpoint) SET c.accuracy = 0.5", "--write"),
    ("create-node", "CREATE (:Run {name: 'evil'})", "--write"),
    ("merge-node", "MERGE (:Run {name: 'evil'})", "--write"),
    ("detach-delete", "MATCH (n) DETACH DELETE n", "--write"),
    ("unwind-create", "UNWIND [1] AS x CREATE (:Run {name: 'evil'})", "--write"),
    ("match-delete", "MATCH (r:Run) WITH r LIMIT 1 DETACH DELETE r", "--write"),
    ("foreach-create", "MATCH (r:Run) FOREACH (x IN [1] | CREATE (:Run {name: 'evil'}))", ""),
    ("call-in-transactions", "CALL { CREATE (:Run {name: 'evil'}) } IN TRANSACTIONS", ""),
    ("create-macro", "CREATE MACRO evil(x) AS x + 1", "--write"),
    ("create-table", "CREATE NODE TABLE Evil(id INT64, PRIMARY KEY (id))", "--write"),
    ("create-index", "CREATE INDEX evil IF NOT EXISTS FOR (n:Run) ON (n.x)", "--write"),
    ("drop-table", "DROP TABLE Run", "--write"),
    ("alter-table", "ALTER TABLE Run ADD evil INT64", "--write"),
    ("create-sequence", "CREATE SEQUENCE evil", "--write"),
    ("huge-integer-parameter", "RETURN $x AS x", "64-bit"),
    ("empty", "   // nothing here", "empty query"),
    ("unterminated-string", "RETURN 'abc AS x", "unterminated"),
    ("unterminated-comment", "RETURN 1 AS x /* ; CREATE (:Run {name: 'evil'})", "unterminated"),
    ("cypher-option-prefix", "CYPHER runtime=slotted MATCH (n) RETURN count(n) AS n", "a read starts with"),
]

#: (id, Cypher, stores, stdout fragment) of queries that must run, and harm nothing.
ALLOWED_QUERIES: list[tuple[str, str, list[str], str]] = [
    ("plain-read", "MATCH (c:Checkpoint) RETURN c.run AS run, max(c.accuracy) AS best", BOTH, "e5_s0_w9"),
    ("semicolon-in-string", "RETURN 'a;b' AS s", BOTH, "a;b"),
    ("trailing-semicolon", "RETURN 1 AS x;", BOTH, "(1 rows)"),
    ("statement-in-line-comment", "RETURN 1 AS x // ; CREATE (:Run {name: 'evil'})", BOTH, "(1 rows)"),
    ("statement-in-block-comment", "RETURN 1 AS x /* ; CREATE (:Run {name: 'evil'}) */", BOTH, "(1 rows)"),
    ("keywords-in-string", "RETURN 'LOAD CSV FROM file:///etc/passwd; COPY x TO y' AS s", BOTH, "LOAD CSV"),
    ("quote-and-statement-in-double-quotes", "RETURN \"a'; CREATE (:Run {name: 'evil'}) //\" AS s", BOTH, "CREATE"),
    ("semicolon-in-backticks", "RETURN 1 AS `a;b`", BOTH, "a;b"),
    ("keyword-as-variable", "MATCH (load:Run) RETURN load.name AS n", BOTH, "e5_s0_w9"),
    ("keyword-as-backticked-variable", "MATCH (`copy`:Run) RETURN `copy`.name AS n", BOTH, "e5_s0_w9"),
    ("keyword-as-alias", "MATCH (r:Run) RETURN r.name AS copy", BOTH, "e5_s0_w9"),
    ("keyword-as-map-key", "RETURN {load: 1} AS m", BOTH, "load"),
    ("unicode-escape-in-string", "RETURN '\\u0041B' AS s", BOTH, "AB"),
    ("lower-case-read", "match (r:Run) return r.name as n", BOTH, "e5_s0_w9"),
    ("optional-match", "OPTIONAL MATCH (x:Run {name: 'nope'}) RETURN x.name AS n", BOTH, "(1 rows)"),
    ("unwind", "UNWIND [1, 2, 3] AS x RETURN sum(x) AS s", BOTH, "6"),
    ("relationship-pattern", "MATCH (r:Run)-[:HAS_CHECKPOINT]->(c:Checkpoint) RETURN count(c) AS n", BOTH, "3"),
    ("labels-procedure", "CALL db.labels() YIELD label RETURN label ORDER BY label LIMIT 1", ["neo4j"], "(1 rows)"),
    ("call-subquery", "MATCH (r:Run) CALL { WITH r RETURN r.name AS x } RETURN x", ["neo4j"], "e5_s0_w9"),
    ("show-tables-function", "CALL show_tables() RETURN name ORDER BY name LIMIT 1", ["embedded"], "(1 rows)"),
    ("parameter-with-statement-text", "RETURN $x AS x", BOTH, "CREATE"),
]
# fmt: on


def query_cases() -> list[dict[str, Any]]:
    """``topograph query --cypher`` without ``--write``: refused in one line, or run harmlessly."""
    harmless = {
        "absent": [
            "{tmp}/out.csv",
            "{tmp}/exported",
            "{tmp}/explained",
            "{tmp}/other.lbdb",
            "{marker}",
        ],
        "unchanged": True,
    }
    cases = []
    for ident, text, message in REFUSED_QUERIES:
        argv = ["query", "--db", "{db}", "--cypher", text]
        if ident == "huge-integer-parameter":
            argv += ["-p", "x=99999999999999999999999"]
        extra: dict[str, Any] = {}
        if ident.startswith(("read-", "load-from", "union-load")):
            # Planning or running some of these crashes LadybugDB 0.22 (a
            # segfault): should one get through, the test process survives.
            extra["subprocess"] = True
        cases.append(
            refused(f"query-{ident}", argv, message=message, stores=BOTH, **harmless, **extra)
        )
    for ident, text, stores, stdout in ALLOWED_QUERIES:
        argv = ["query", "--db", "{db}", "--cypher", text]
        if ident == "parameter-with-statement-text":
            argv += ["-p", "x='; CREATE (:Run {name: 'evil'}) //"]
        cases.append(allowed(f"query-{ident}", argv, stdout=stdout, stores=stores, **harmless))
    return cases


# (builder in make_inputs.py, path under it, what the one-line error must say)
REFUSED_INPUTS = [
    ("epoch-arabic-digit", "", "not epoch_ followed by ASCII digits"),
    ("epoch-fullwidth-digit", "", "not epoch_ followed by ASCII digits"),
    ("epoch-trailing-newline", "", "not epoch_ followed by ASCII digits"),
    ("epoch-too-large", "", "is larger than 9,223,372,036,854,775,807"),
    ("duplicate-layer-index", "", "both name layer 0"),
    ("missing-last-layer", "", "is weight_l3.npz missing?"),
    ("symlinked-run", "", "a symbolic link; topograph does not follow links unless asked"),
    ("symlinked-layer", "", "a symbolic link; topograph does not follow links unless asked"),
    ("column-out-of-range", "", "weight_l3.npz: not a readable scipy sparse .npz (indices must be"),
    ("coo-duplicate-entries", "", "positions are stored twice"),
    ("format-dok", "", "sparse format 'dok' is not one scipy.sparse.save_npz writes"),
    ("format-lil", "", "sparse format 'lil' is not one scipy.sparse.save_npz writes"),
    ("string-weights", "", "weights are of dtype <U"),
    ("huge-declared-layer", "", "per byte (TOPOGRAPH_NEURONS_PER_BYTE); refused before reading"),
    ("nan-weight", "", "NaN"),
    ("duplicated-tar-member", "/dup.tar", "appears twice"),
    ("duplicated-zip-member", "/dup.zip", "appears twice"),
    ("tar-bomb", "/bomb.tgz", "refused as a decompression bomb"),
    ("zip-bomb", "/bomb.zip", "refused as a decompression bomb"),
]


def input_cases() -> list[dict[str, Any]]:
    """Checkpoint sources that must be refused in one line, naming the file, storing nothing."""
    cases = []
    for name, member, message in REFUSED_INPUTS:
        source = f"{{inputs}}/{name}{member}"
        ingest = ["ingest", "--no-progress", "--db", "{db}", source]
        cases.append(
            refused(f"input-ingest-{name}", ingest, message=message, stores=["embedded"],
                    unchanged=True)
        )  # fmt: skip
        cases.append(refused(f"input-inspect-{name}", ["inspect", source], message=message))
    cases.append(
        allowed("input-inspect-follow-links", ["inspect", "--follow-links", "{inputs}/symlinked-run"],
                stdout="epoch 10")
    )  # fmt: skip
    cases.append(
        allowed("input-ingest-follow-links",
                ["ingest", "--no-progress", "--follow-links", "--db", "{tmp}/links.lbdb",
                 "{inputs}/symlinked-layer"],
                stdout="1 checkpoints stored")
    )  # fmt: skip
    return cases


CATEGORIES = {
    "uris": (
        "--db and TOPOGRAPH_DB values: only Bolt URIs and paths are stores; secrets never printed.",
        uri_cases,
    ),
    "queries": (
        "topograph query --cypher without --write: reads the graph and nothing else.",
        query_cases,
    ),
    "inputs": (
        "Checkpoint sources that look like data but are not what they seem (make_inputs.py): "
        "refused in one line naming the file, nothing stored.",
        input_cases,
    ),
}


def render(category: str) -> str:
    doc, make = CATEGORIES[category]
    return (
        json.dumps(
            {"category": category, "doc": doc, "cases": make()}, indent=1, ensure_ascii=False
        )
        + "\n"
    )


def main() -> int:
    for category in CATEGORIES:
        (HERE / f"{category}.json").write_text(render(category), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
