"""Polite and safe HTTP GETs for feeds and article pages.

Every request parley makes goes through :class:`Fetcher`:

- only http and https, at most ``max_redirects`` hops, each hop checked again;
- the address of every connection is checked *at connect time*, after DNS resolution, and the
  socket is opened to the checked address (no DNS-rebinding window): loopback, private,
  link-local, shared, reserved and cloud-metadata addresses are refused unless the host or a CIDR
  containing the address is listed in ``PARLEY_ALLOWED_HOSTS``; metadata addresses are refused always;
- a connect timeout, a deadline for the whole response, and a cap on the (decoded) body, streamed;
- conditional GET: ``If-None-Match`` / ``If-Modified-Since``; a 304 returns no body.

Failures raise :class:`FetchError` with a one-line reason suitable for a ``feed_fetches`` row.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpcore
import httpx

from etl.errors import first_line
from etl.ingest.urls import UrlError, check_feed_url
from etl.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints: never fetched, whatever PARLEY_ALLOWED_HOSTS says.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A request that produced no usable response. ``str()`` is a one-line reason."""

    def __init__(self, reason: str, *, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.http_status = http_status


class BlockedAddress(FetchError):
    """The URL leads to an address parley may not contact."""


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout: float = 5.0
    total_timeout: float = 15.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "parley"
    allowed_names: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            connect_timeout=settings.connect_timeout,
            total_timeout=settings.total_timeout,
            max_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
            user_agent=settings.user_agent,
            allowed_names=settings.allowed_names,
            allowed_networks=settings.allowed_networks,
        )

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why ``address`` (which ``host`` resolved to) may not be contacted, or None if it may."""
        address = embedded_ipv4(address)
        if address in METADATA_ADDRESSES:
            return "a cloud metadata address"
        if address.is_global and not address.is_multicast:
            return None
        if host.lower().rstrip(".") in self.allowed_names:
            return None
        if any(address in net for net in self.allowed_networks):
            return None
        return f"a non-public address ({_address_kind(address)})"


# IPv6 forms that carry an IPv4 address a gateway will reach: judge them by that IPv4 address.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 address."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if (address in _NAT64 or address in _IPV4_COMPATIBLE) and int(address) > 1:  # not :: or ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _address_kind(address: IPAddress) -> str:
    for attr in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{attr}"):
            return attr.replace("_", "-")
    return "not globally routable"


_request_deadline = threading.local()


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose reads never wait past the current request's deadline, so a server
    dribbling header lines (each inside the read timeout) cannot hold a fetch forever."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        deadline: float | None = getattr(_request_deadline, "value", None)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise httpcore.ReadTimeout("deadline passed")
            timeout = remaining if timeout is None else min(timeout, remaining)
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, drops refused addresses, and connects to a checked address."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(f"cannot resolve host {host!r}: {exc.strerror}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        allowed = [a for a in addresses if self.policy.refusal(host, a) is None]
        if not allowed:
            first = addresses[0]
            raise BlockedAddress(
                f"refused to connect to {host}: it resolves to {first}, {self.policy.refusal(host, first)}"
            )
        last_error: Exception | None = None
        for address in allowed:
            try:
                stream = super().connect_tcp(str(address), port, timeout, local_address, socket_options)
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once per process and shared by every Fetcher (contexts are
    safe to share): loading the CA bundle takes ~20 ms, and each Fetcher used to load it twice, which
    took longer than all the round trips of a tick of 304s on loopback."""
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.BaseTransport):
    """httpx's transport over an httpcore connection pool whose network backend is
    :class:`_GuardedBackend`: the pool keeps connections for reuse (a 304 keeps its connection for the
    next feed on the host) and opens each new one through the backend's checks.

    httpx's own transport builds its pool with httpcore's default backend and has no public way to
    change it; this one maps requests, responses and errors between the two public APIs instead."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=tls_context(),
            max_connections=100,  # httpx's default limits
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_GuardedBackend(policy),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,  # the timeouts httpx.Client was given
        )
        with _as_httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseBody(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _ResponseBody(httpx.SyncByteStream):
    """An httpcore response body as httpx reads it; closing it hands the connection back to the pool."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


# httpcore's errors and the httpx errors they are raised as, the more specific first. Anything else
# (a FetchError from the backend) passes through as it is.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _HTTPX_ERRORS:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from exc
        raise


@dataclass
class FetchResult:
    url: str
    """The final URL, after redirects."""
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Fetcher:
    """A thread-safe HTTP client applying a :class:`FetchPolicy` to every request."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._client = httpx.Client(
            transport=_GuardedTransport(policy),
            follow_redirects=False,
            headers={"User-Agent": policy.user_agent},
            trust_env=False,
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        started = time.monotonic()
        deadline = started + self.policy.total_timeout
        # only encodings parley inflates itself, with a bound on every step (see _read_capped)
        headers = {"Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            try:
                current = check_feed_url(current)
            except UrlError as exc:
                raise FetchError(str(exc)) from exc
            _request_deadline.value = deadline
            try:
                result = self._get_once(current, headers, deadline)
            finally:
                _request_deadline.value = None
            if result is None:
                raise FetchError(f"no response within {self.policy.total_timeout:g} s")
            if isinstance(result, str):  # a redirect: follow it, checking the next hop again
                current = result
                continue
            result.elapsed = time.monotonic() - started
            return result
        raise FetchError(f"too many redirects (more than {self.policy.max_redirects})")

    def _get_once(self, url: str, headers: dict[str, str], deadline: float) -> FetchResult | str | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        connect = min(self.policy.connect_timeout, remaining)
        timeout = httpx.Timeout(connect=connect, read=remaining, write=remaining, pool=remaining)
        try:
            with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
                if response.status_code == 304:
                    # A 304 has no body (h11 reads none, whatever the headers say). Finishing the
                    # exchange keeps the connection open for the next feed on the same host; left
                    # unfinished, it was closed, and every 304 paid for a new connection.
                    response.read()
                    return FetchResult(url=url, status=304, headers=_keep_headers(response))
                if response.status_code in REDIRECT_CODES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(f"HTTP {response.status_code} redirect without a Location")
                    return urljoin(str(response.url), location)
                if response.status_code >= 400:
                    phrase = response.reason_phrase or ""
                    raise FetchError(
                        f"HTTP {response.status_code} {phrase}".strip(), http_status=response.status_code
                    )
                body = self._read_capped(response, deadline)
                return FetchResult(
                    url=url, status=response.status_code, body=body, headers=_keep_headers(response)
                )
        except FetchError:
            raise
        except httpx.ConnectTimeout as exc:
            raise FetchError(f"connection timed out after {self.policy.connect_timeout:g} s") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"no response within {self.policy.total_timeout:g} s") from exc
        except httpx.ConnectError as exc:
            raise FetchError(f"connection failed: {first_line(exc)}") from exc
        except httpx.DecodingError as exc:
            raise FetchError(f"undecodable response body: {first_line(exc)}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {first_line(exc)}") from exc

    def _read_capped(self, response: httpx.Response, deadline: float) -> bytes:
        cap = self.policy.max_bytes
        declared = response.headers.get("content-length")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(f"body too large: {int(declared)} bytes declared, cap is {cap}")
        if encoding in ("gzip", "x-gzip", "deflate"):
            # wbits 47 = 32 + 15: zlib or gzip header, detected
            inflater: Any = zlib.decompressobj(47 if "gzip" in encoding else 15)
        elif encoding in ("identity", ""):
            inflater = None
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        chunks: list[bytes] = []
        size = 0
        for raw in response.iter_raw():
            if time.monotonic() > deadline:
                raise FetchError(f"response not complete within {self.policy.total_timeout:g} s")
            pieces = [raw] if inflater is None else _inflate(inflater, raw, cap - size + 1, encoding)
            for piece in pieces:
                size += len(piece)
                if size > cap:
                    raise FetchError(f"body too large: more than {cap} bytes (cap), download stopped")
                chunks.append(piece)
        return b"".join(chunks)


def _inflate(inflater: Any, raw: bytes, limit: int, encoding: str) -> list[bytes]:
    """Inflate ``raw`` in steps of at most ``limit`` bytes, stopping once the limit is passed, so a
    compression bomb never allocates much more than the cap."""
    out: list[bytes] = []
    produced = 0
    data = raw
    try:
        while data and produced <= limit:
            piece = inflater.decompress(data, max(limit - produced, 1))
            out.append(piece)
            produced += len(piece)
            data = inflater.unconsumed_tail
    except zlib.error as exc:
        raise FetchError(f"undecodable {encoding} body: {exc}") from exc
    return out


def _keep_headers(response: httpx.Response) -> dict[str, str]:
    keep = ("etag", "last-modified", "content-type", "content-location", "content-language")
    return {k: response.headers[k] for k in keep if k in response.headers}
