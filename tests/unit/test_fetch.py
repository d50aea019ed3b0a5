"""etl.ingest.fetch: which addresses parley refuses, and how the Fetcher behaves against real loopback servers
(timeouts, body caps, gzip bombs, redirects, conditional GET, schemes)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from etl.ingest.fetch import BlockedAddress, Fetcher, FetchError, FetchPolicy
from etl.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)
CAP = 64 * 1024


# --- FetchPolicy.refusal: the address table --------------------------------------------------------

REFUSED_WITHOUT_ALLOW_LIST = [
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "non-public"),  # carrier-grade NAT (shared address space)
    ("0.0.0.0", "non-public"),
    ("240.0.0.1", "non-public"),  # reserved
    ("255.255.255.255", "non-public"),
    ("224.0.0.1", "multicast"),
    ("233.252.0.1", "multicast"),  # a globally scoped multicast group is still refused
    ("ff0e::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6 is judged as the IPv4 address it maps
    ("::ffff:10.0.0.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("::ffff:169.254.169.254", "metadata"),
]


@pytest.mark.parametrize(("address", "kind"), REFUSED_WITHOUT_ALLOW_LIST)
def test_non_public_addresses_are_refused_with_their_kind_named(address: str, kind: str) -> None:
    reason = FetchPolicy().refusal("feeds.example.com", ipaddress.ip_address(address))
    assert reason is not None
    assert kind in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert FetchPolicy().refusal("feeds.example.com", ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("host", "address", "allowed"),
    [
        ("feeds.internal", "10.0.0.5", True),  # listed name
        ("FEEDS.Internal.", "10.0.0.5", True),  # names compare case-insensitively, trailing dot ignored
        ("other.internal", "10.0.0.5", False),  # same address, unlisted name
        ("anything", "192.168.7.7", True),  # inside a listed CIDR
        ("anything", "192.168.8.1", False),  # just outside it
        ("anything", "127.0.0.1", True),  # a listed single address
        ("anything", "127.0.0.2", False),  # other loopback addresses stay refused
        ("anything", "::ffff:192.168.7.7", True),  # mapped form of a listed CIDR member
    ],
)
def test_allow_list_admits_listed_names_and_cidrs_only(host: str, address: str, allowed: bool) -> None:
    settings = Settings(allowed_hosts="feeds.internal, 192.168.7.0/24,127.0.0.1")  # type: ignore[arg-type]
    policy = FetchPolicy.from_settings(settings)
    assert (policy.refusal(host, ipaddress.ip_address(address)) is None) is allowed


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("metadata.google.internal", "169.254.169.254"),
        ("anything", "169.254.169.254"),
        ("anything", "fd00:ec2::254"),
        ("anything", "100.100.100.200"),
    ],
)
def test_metadata_addresses_are_refused_even_when_allow_listed(host: str, address: str) -> None:
    policy = FetchPolicy(
        allowed_names=frozenset({"metadata.google.internal"}),
        allowed_networks=(
            ipaddress.ip_network("169.254.0.0/16"),
            ipaddress.ip_network("fd00::/8"),
            ipaddress.ip_network("100.64.0.0/10"),
        ),
    )
    reason = policy.refusal(host, ipaddress.ip_address(address))
    assert reason is not None and "metadata" in reason


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
        ("::a9fe:a9fe", "metadata"),  # IPv4-compatible
        ("2002:a9fe:a9fe::", "metadata"),  # 6to4
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:a00:1::", "private"),
    ],
)
def test_ipv4_addresses_embedded_in_ipv6_are_judged_as_ipv4(address: str, kind: str) -> None:
    reason = FetchPolicy().refusal("feeds.example.com", ipaddress.ip_address(address))
    assert reason is not None and kind in reason


# --- a tiny loopback server ------------------------------------------------------------------------


@dataclass
class Loopback:
    base: str
    requests: list[dict[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


Route = Callable[[BaseHTTPRequestHandler], None]


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"", **headers: str) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    if "Content_Length" not in headers:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        handler.wfile.write(body)


FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 20 Nov 2023 10:00:00 GMT"
GZIP_BOMB_MB = 200


def _gzip_of_zeros(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    block = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


def _routes(base: str, port: int) -> dict[str, Route]:
    bomb = _gzip_of_zeros(GZIP_BOMB_MB)

    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == ETAG or h.headers.get("If-Modified-Since") == LAST_MODIFIED:
            _send(h, 304, ETag=ETAG, Last_Modified=LAST_MODIFIED)
        else:
            _send(h, 200, FEED, ETag=ETAG, Last_Modified=LAST_MODIFIED, Content_Type="application/rss+xml")

    def sleepy(h: BaseHTTPRequestHandler) -> None:
        time.sleep(4)
        _send(h, 200, FEED)

    def slow_body(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(40):  # a byte every 0.1 s: each read is quick, the whole response is not
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.1)

    def trickled_headers(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(24):  # a header line every 0.25 s for 6 s: never a single long silence
            h.wfile.write(f"X-Slow-{n}: y\r\n".encode())
            h.wfile.flush()
            time.sleep(0.25)
        h.wfile.write(b"Content-Length: 0\r\n\r\n")

    def declared_too_big(h: BaseHTTPRequestHandler) -> None:
        _send(h, 200, b"x" * (CAP + 1))

    def exactly_cap(h: BaseHTTPRequestHandler) -> None:
        _send(h, 200, b"x" * CAP)

    def undeclared_too_big(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Connection", "close")  # no Content-Length: the body ends when the socket closes
        h.end_headers()
        h.close_connection = True
        for _ in range(4 * CAP // 1024):
            h.wfile.write(b"y" * 1024)

    def chunked_too_big(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for _ in range(4 * CAP // 1024):
            h.wfile.write(b"400\r\n" + b"z" * 1024 + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")

    def gzip_bomb(h: BaseHTTPRequestHandler) -> None:
        _send(h, 200, bomb, Content_Encoding="gzip", Content_Type="application/rss+xml")

    def hops(h: BaseHTTPRequestHandler) -> None:
        left = int(h.path.rsplit("/", 1)[1])
        if left == 0:
            _send(h, 200, b"arrived")
        else:
            _send(h, 302, Location=f"/hops/{left - 1}")

    def redirect_to(target: str) -> Route:
        return lambda h: _send(h, 302, Location=target.format(base=base, port=port))

    return {
        "/feed": feed,
        "/sleepy": sleepy,
        "/slow-body": slow_body,
        "/trickled-headers": trickled_headers,
        "/declared-too-big": declared_too_big,
        "/exactly-cap": exactly_cap,
        "/undeclared-too-big": undeclared_too_big,
        "/chunked-too-big": chunked_too_big,
        "/gzip-bomb": gzip_bomb,
        "/hops": hops,
        "/to-loopback-alias": redirect_to("http://127.0.0.2:{port}/feed"),
        "/to-private": redirect_to("http://10.255.255.1/feed"),
        "/to-metadata": redirect_to("http://169.254.169.254/latest/meta-data/"),
        "/to-file": redirect_to("file:///etc/passwd"),
        "/to-feed": redirect_to("{base}/feed"),
        "/no-location": lambda h: _send(h, 302),
        "/server-error": lambda h: _send(h, 503, b"busy"),
    }


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on refused bodies are expected here


@pytest.fixture(scope="module")
def loopback() -> Iterator[Loopback]:
    requests: list[dict[str, str]] = []
    routes: dict[str, Route] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            key = "/hops" if self.path.startswith("/hops/") else self.path
            route = routes.get(key)
            try:
                if route is None:
                    _send(self, 404, b"no such route")
                else:
                    route(self)
            except OSError:  # the client hung up, as it should on a refused body
                self.close_connection = True

    server = QuietServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}"
    routes.update(_routes(base, port))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Loopback(base=base, requests=requests)
    server.shutdown()
    server.server_close()


def fetcher(**overrides: object) -> Fetcher:
    options: dict[str, object] = {
        "connect_timeout": 1.0,
        "total_timeout": 1.0,
        "max_bytes": CAP,
        "max_redirects": 5,
        "allowed_networks": LOOPBACK_ONLY,
    }
    options.update(overrides)
    return Fetcher(FetchPolicy(**options))  # type: ignore[arg-type]


# --- the Fetcher against real sockets -------------------------------------------------------------


def test_plain_get_returns_body_status_and_validators(loopback: Loopback) -> None:
    with fetcher() as client:
        result = client.get(loopback.url("/feed"))
    assert result.status == 200
    assert result.body == FEED
    assert result.headers["etag"] == ETAG
    assert result.headers["last-modified"] == LAST_MODIFIED
    assert not result.not_modified


def test_requests_carry_the_configured_user_agent_and_a_feed_accept_header(loopback: Loopback) -> None:
    with fetcher(user_agent="parley-test/1") as client:
        client.get(loopback.url("/feed"))
    sent = [r for r in loopback.requests if r["path"] == "/feed"][-1]
    assert sent["user-agent"] == "parley-test/1"
    assert "application/rss+xml" in sent["accept"]


@pytest.mark.parametrize(
    ("etag", "last_modified", "header"),
    [(ETAG, None, "if-none-match"), (None, LAST_MODIFIED, "if-modified-since")],
)
def test_conditional_get_sends_validators_and_a_304_has_no_body(
    loopback: Loopback, etag: str | None, last_modified: str | None, header: str
) -> None:
    with fetcher() as client:
        result = client.get(loopback.url("/feed"), etag=etag, last_modified=last_modified)
    sent = [r for r in loopback.requests if r["path"] == "/feed"][-1]
    assert sent[header] == (etag or last_modified)
    assert result.status == 304
    assert result.not_modified
    assert result.body == b""


def test_unconditional_get_sends_no_validators(loopback: Loopback) -> None:
    with fetcher() as client:
        client.get(loopback.url("/feed"))
    sent = [r for r in loopback.requests if r["path"] == "/feed"][-1]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_a_server_that_never_answers_costs_the_total_timeout_not_its_own(loopback: Loopback) -> None:
    started = time.monotonic()
    with fetcher(total_timeout=0.8) as client, pytest.raises(FetchError, match=r"within 0\.8 s"):
        client.get(loopback.url("/sleepy"))
    assert time.monotonic() - started < 2.0


def test_a_body_that_dribbles_in_is_cut_off_at_the_deadline(loopback: Loopback) -> None:
    started = time.monotonic()
    with fetcher(total_timeout=1.0) as client, pytest.raises(FetchError, match="within 1 s"):
        client.get(loopback.url("/slow-body"))
    assert time.monotonic() - started < 2.5  # the body alone would take 4 s


def test_headers_that_dribble_in_are_cut_off_at_the_deadline(loopback: Loopback) -> None:
    started = time.monotonic()
    with fetcher(total_timeout=1.0) as client, pytest.raises(FetchError):
        client.get(loopback.url("/trickled-headers"))
    assert time.monotonic() - started < 2.5


def test_a_declared_content_length_over_the_cap_is_refused_before_reading(loopback: Loopback) -> None:
    with fetcher() as client, pytest.raises(FetchError, match=f"{CAP + 1} bytes declared"):
        client.get(loopback.url("/declared-too-big"))


def test_a_body_exactly_at_the_cap_is_accepted(loopback: Loopback) -> None:
    with fetcher() as client:
        assert len(client.get(loopback.url("/exactly-cap")).body) == CAP


@pytest.mark.parametrize("path", ["/undeclared-too-big", "/chunked-too-big"])
def test_a_body_without_content_length_is_capped_while_streaming(loopback: Loopback, path: str) -> None:
    with fetcher() as client, pytest.raises(FetchError, match="download stopped"):
        client.get(loopback.url(path))


def test_a_gzip_bomb_is_capped_on_its_decoded_size(loopback: Loopback) -> None:
    with fetcher() as client, pytest.raises(FetchError, match="too large"):
        client.get(loopback.url("/gzip-bomb"))


BOMB_MEMORY_PROBE = textwrap.dedent(
    """
    import ipaddress, json, sys
    from etl.ingest.fetch import Fetcher, FetchError, FetchPolicy

    def kib(field):
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

    policy = FetchPolicy(total_timeout=10, max_bytes=1024 * 1024,
                         allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    with Fetcher(policy) as client:
        try:
            client.get(sys.argv[1] + "/feed")  # warm up: imports, TLS context, connection pool
        except FetchError:
            pass
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # Linux: reset the peak RSS so it measures this fetch alone
        before = kib("VmRSS")
        try:
            client.get(sys.argv[1] + "/gzip-bomb")
            error = None
        except FetchError as exc:
            error = str(exc)
        after = kib("VmHWM")
    print(json.dumps({"growth_kib": after - before, "error": error}))
    """
)


def test_a_gzip_bomb_does_not_inflate_far_past_the_cap_in_memory(loopback: Loopback) -> None:
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("measuring peak memory needs Linux /proc")
    probe = subprocess.run(
        [sys.executable, "-c", BOMB_MEMORY_PROBE, loopback.base],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)
    assert report["error"] and "too large" in report["error"]
    grown = report["growth_kib"] // 1024
    assert report["growth_kib"] < 16 * 1024, f"max RSS grew {grown} MiB for a 1 MiB cap"


def test_redirects_are_followed_up_to_the_hop_limit(loopback: Loopback) -> None:
    with fetcher(max_redirects=3) as client:
        result = client.get(loopback.url("/hops/3"))
    assert result.body == b"arrived"
    assert result.url.endswith("/hops/0")


def test_one_redirect_past_the_hop_limit_is_refused(loopback: Loopback) -> None:
    with fetcher(max_redirects=3) as client, pytest.raises(FetchError, match="too many redirects"):
        client.get(loopback.url("/hops/4"))


def test_a_redirect_to_a_non_allowed_loopback_address_is_refused(loopback: Loopback) -> None:
    before = len(loopback.requests)
    with fetcher() as client, pytest.raises(BlockedAddress, match=r"127\.0\.0\.2"):
        client.get(loopback.url("/to-loopback-alias"))
    # 127.0.0.2 reaches this very server: refused means it never got the second request
    assert [r["path"] for r in loopback.requests[before:]] == ["/to-loopback-alias"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/to-private", "10.255.255.1.*private"), ("/to-metadata", "169.254.169.254.*metadata")],
)
def test_a_redirect_to_a_private_or_metadata_address_is_refused(
    loopback: Loopback, path: str, reason: str
) -> None:
    started = time.monotonic()
    with fetcher() as client, pytest.raises(BlockedAddress, match=reason):
        client.get(loopback.url(path))
    assert time.monotonic() - started < 0.9  # refused before any connection attempt could time out


def test_a_redirect_to_a_non_http_scheme_is_refused(loopback: Loopback) -> None:
    with fetcher() as client, pytest.raises(FetchError, match="only http and https"):
        client.get(loopback.url("/to-file"))


def test_a_redirect_without_location_is_a_failure(loopback: Loopback) -> None:
    with fetcher() as client, pytest.raises(FetchError, match="without a Location"):
        client.get(loopback.url("/no-location"))


def test_an_http_error_status_is_a_failure_carrying_the_status(loopback: Loopback) -> None:
    with fetcher() as client, pytest.raises(FetchError, match="HTTP 503") as caught:
        client.get(loopback.url("/server-error"))
    assert caught.value.http_status == 503


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "gopher://127.0.0.1:70/", "javascript:alert(1)"]
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with fetcher() as client, pytest.raises(FetchError, match="only http and https"):
        client.get(url)


def test_loopback_itself_is_refused_without_an_allow_list(loopback: Loopback) -> None:
    before = len(loopback.requests)
    with fetcher(allowed_networks=()) as client, pytest.raises(BlockedAddress, match="loopback"):
        client.get(loopback.url("/feed"))
    assert len(loopback.requests) == before


def test_a_host_that_does_not_resolve_is_a_one_line_failure() -> None:
    with fetcher() as client, pytest.raises(FetchError, match="cannot resolve") as caught:
        client.get("http://parley-test.invalid/feed")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "path", ["/sleepy", "/declared-too-big", "/hops/9", "/to-metadata", "/to-file", "/server-error"]
)
def test_every_failure_reason_is_one_short_line(loopback: Loopback, path: str) -> None:
    with fetcher(total_timeout=0.5) as client, pytest.raises(FetchError) as caught:
        client.get(loopback.url(path))
    reason = str(caught.value)
    assert reason and "\n" not in reason and len(reason) <= 300
