"""Store URIs: which back end a ``--db`` value names, and how to show it without secrets.

A value with ``://`` is a URI; only the Bolt schemes (:data:`SCHEMES`) name a
store (a Neo4j server). Any other scheme (``http://``, ``https://``,
``ftp://``, ``file://`` ...) is refused rather than taken as a file path:
a path is what the embedded store opens, and a web address opened as one
would be echoed, credentials and all, in the error that follows.

Credentials may sit in a Bolt URI (``bolt://user:password@host:7687``), and
users do not always percent-encode them. A password holding ``/``, ``?``,
``#`` or ``@`` breaks ``urllib.parse`` (it ends the host early, or reads the
password as the port, and its error then quotes it), so the credentials are
cut off *before* anything is parsed: everything up to the last ``@`` of the
authority is user information (a host name never holds ``@``). Error messages
about a malformed URI name only its scheme, never its text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from topograph.errors import InputError

__all__ = [
    "SCHEMES",
    "ServerURI",
    "check_uri",
    "has_password",
    "is_server_uri",
    "parse_server_uri",
    "redact",
    "scheme_of",
]

#: URI schemes of a Neo4j server (Bolt, direct or routed, with or without TLS).
SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def scheme_of(uri: str) -> str | None:
    """The scheme of ``uri`` in lower case (``"bolt"``), or None for a plain path."""
    m = _SCHEME.match(uri)
    return m.group(1).lower() if m else None


def is_server_uri(uri: str) -> bool:
    """Whether ``uri`` names a Neo4j server (a Bolt scheme)."""
    return scheme_of(uri) in SCHEMES


def check_uri(uri: str) -> str:
    """``uri`` itself if it names a store (a Bolt URI or a path); else a one-line InputError.

    The refusal names only the scheme: the rest may hold a password or a token.
    """
    scheme = scheme_of(uri)
    if scheme is not None and scheme not in SCHEMES:
        raise InputError(
            f"{scheme}:// is not a graph store (use bolt://, neo4j://, neo4j+s:// for a Neo4j "
            "server, or the path of an embedded database file)"
        )
    return uri


@dataclass(frozen=True)
class ServerURI:
    """A Bolt URI taken apart: ``clean`` (no credentials), ``user``, ``password``."""

    clean: str
    user: str | None
    password: str | None


def _cut_credentials(uri: str) -> tuple[str, str | None]:
    """``(scheme://rest-without-userinfo, userinfo or None)``, before any parsing."""
    scheme = scheme_of(uri)
    if scheme is None:
        return uri, None
    rest = uri[len(scheme) + 3 :]
    at = rest.rfind("@")
    if at < 0:
        return uri, None
    return f"{uri[: len(scheme) + 3]}{rest[at + 1 :]}", rest[:at]


def parse_server_uri(uri: str) -> ServerURI:
    """Split a Bolt URI into its clean form (scheme, host, port, path, query) and credentials.

    Raises :class:`InputError` for a malformed URI; the message never quotes it.
    """
    scheme = scheme_of(uri) or "?"
    bare, userinfo = _cut_credentials(uri)
    try:
        parts = urlsplit(bare)
        port = parts.port
    except ValueError:
        raise InputError(
            f"malformed {scheme}:// URI: expected {scheme}://[user:password@]host[:port] "
            "(put the password in NEO4J_PASSWORD rather than in the URI)"
        ) from None
    host = parts.hostname or ""
    if not host:
        raise InputError(f"malformed {scheme}:// URI: no host")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    user = password = None
    if userinfo is not None:
        name, sep, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if sep and secret else None
    return ServerURI(clean=clean, user=user, password=password)


def redact(uri: str) -> str:
    """``uri`` safe to print: a Bolt URI without user and password, another URI as its scheme.

    A path is returned as it is (it is the user's file name, not a secret).
    """
    scheme = scheme_of(uri)
    if scheme is None:
        return uri
    if scheme not in SCHEMES:
        return f"{scheme}://…"
    try:
        return parse_server_uri(uri).clean
    except InputError:
        return f"{scheme}://…"


def has_password(uri: str) -> bool:
    """Whether a Bolt URI carries a password (visible to every user in ``ps``)."""
    if not is_server_uri(uri):
        return False
    _, userinfo = _cut_credentials(uri)
    return userinfo is not None and ":" in userinfo and bool(userinfo.partition(":")[2])
