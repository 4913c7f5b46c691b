"""PostgreSQL URLs (BOT_DATABASE_URL, `copy-store --to`): parsed once, strictly, without ever echoing the password.

urllib's urlsplit is the wrong tool here: a generated password with `/`, `?` or `#` moves the host into the path and
`.port` then raises with a piece of the password in its message; `[` without `]`, port 99999 or several hosts raise
too. This parser says what is wrong in one line that names the host (never the password), and `url_secrets` finds
every form the password may take in a log line, for any text, valid or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

SCHEMES = ("postgresql://", "postgres://")
DEFAULT_PORT = 5432
ENCODING_HINT = "percent-encode it (/ as %2F, ? as %3F, # as %23, @ as %40, : as %3A, % as %25)"


class DatabaseURLError(ValueError):
    """One line saying what is wrong with the URL; it never contains the password."""


@dataclass(frozen=True)
class DatabaseURL:
    scheme: str
    user: str | None
    password: str | None  # percent-decoded
    hosts: tuple[tuple[str, int], ...]  # one (host, port) per host of a multi-host URL
    database: str
    query: str

    @property
    def host_port(self) -> str:
        """`db:5432`, or `a:5432,b:5433` for several hosts (IPv6 in brackets)."""
        return ",".join(f"{_bracketed(host)}:{port}" for host, port in self.hosts)

    @property
    def safe(self) -> str:
        """The URL without its password or query: postgresql://bot@db:5432/bot."""
        user = f"{quote(self.user, safe='')}@" if self.user else ""
        return f"{self.scheme}://{user}{self.host_port}/{quote(self.database, safe='')}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _hosts_named(text: str) -> str:
    """For an error line: the host part of `text` as best it can be told, with no user or password."""
    rest = text.split("://", 1)[-1]
    after = rest.rsplit("@", 1)[-1]
    for stop in "/?#":
        after = after.split(stop, 1)[0]
    return after[:100] or "localhost"


def parse_database_url(text: str) -> DatabaseURL:
    """The parts of a postgresql:// URL, or DatabaseURLError with one line naming the problem and the host."""
    scheme = next((s for s in SCHEMES if text.startswith(s)), None)
    if scheme is None:
        raise DatabaseURLError("must start with postgresql:// (unset it to use SQLite)")
    rest = text[len(scheme) :]
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    path = tail.split("?", 1)[0].split("#", 1)[0]
    # A raw `/`, `?` or `#` in the user or password cuts the authority short: the `@` lands in the path, or in the
    # query while what is left of the authority is no host (`k401:q7Rk2mZ9Xw` has no port). An `@` in a query after
    # a real host (`?user=bob@corp`) is fine.
    if "@" in path or ("@" not in authority and "@" in tail and not _is_hostlist(authority)):
        raise DatabaseURLError(
            f"the user or password for host {_hosts_named(text)} contains '/', '?' or '#': {ENCODING_HINT}"
        )
    userinfo, at, hostlist = authority.rpartition("@")
    user: str | None = None
    password: str | None = None
    if at:
        raw_user, colon, raw_password = userinfo.partition(":")
        user = unquote(raw_user) or None
        password = unquote(raw_password) if colon else None
    hosts = tuple(_host_port(item, hostlist) for item in hostlist.split(","))
    query = tail[len(path) :].lstrip("?").split("#", 1)[0]
    return DatabaseURL(scheme.removesuffix("://"), user, password, hosts, unquote(path.lstrip("/")), query)


def _is_hostlist(text: str) -> bool:
    try:
        for item in text.split(","):
            _host_port(item, text)
    except DatabaseURLError:
        return False
    return True


def _host_port(item: str, hostlist: str) -> tuple[str, int]:
    named = hostlist[:100] or "localhost"
    if item.startswith("["):
        host, bracket, after = item[1:].partition("]")
        if not bracket:
            raise DatabaseURLError(f"host {named}: '[' without a closing ']' (an IPv6 address is written [::1])")
        if after and not after.startswith(":"):
            raise DatabaseURLError(f"host {named}: unexpected text after ']'")
        port_text = after[1:] if after else ""
    else:
        host, _, port_text = item.partition(":")
        if "[" in host or "]" in host:
            raise DatabaseURLError(f"host {named}: a bracket outside an IPv6 address")
    if not port_text:
        return unquote(host) or "localhost", DEFAULT_PORT
    if not (port_text.isascii() and port_text.isdigit()):
        raise DatabaseURLError(f"host {named}: the port is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise DatabaseURLError(f"host {named}: port {port} is out of range (1-65535)")
    return unquote(host) or "localhost", port


def url_secrets(text: str) -> list[str]:
    """Every string that would give the password away, whatever the URL's shape (never raises).

    The whole URL, the password as written and percent-decoded, both as a strict parser and as a lenient one (the
    last `@`) would read it, its pieces between `/ ? #` (what urlsplit's errors quoted), and `password=` in the query.
    """
    found = {text}
    rest = text.split("://", 1)[-1]
    candidates: set[str] = set()
    lenient_userinfo = rest.rpartition("@")[0]
    if lenient_userinfo:
        candidates.add(lenient_userinfo.partition(":")[2])
    strict_authority = rest
    for stop in "/?#":
        strict_authority = strict_authority.split(stop, 1)[0]
    if "@" in strict_authority:
        candidates.add(strict_authority.rpartition("@")[0].partition(":")[2])
    if "?" in rest:
        query = rest.split("?", 1)[1].split("#", 1)[0]
        candidates.update(v for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() == "password")
    for raw in list(candidates):
        candidates.add(unquote(raw))
        candidates.update(raw.replace("?", "/").replace("#", "/").split("/"))
    found.update(c for c in candidates if c)
    return sorted(found, key=len, reverse=True)  # longest first: a piece never cuts a longer secret in two
