"""``jsonl:///abs/path/alerts.jsonl``: one JSON object per alert, appended with a single ``O_APPEND``
write and fsynced, so several processes can share the file."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from etl.alerts.channels.base import AlertMessage, ChannelError
from etl.settings import ConfigError, Settings

# Errors that persist until someone fixes the path or its permissions.
_PERMANENT_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EEXIST,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


class JsonlChannel:
    """``jsonl:///abs/path``: one JSON object per line, appended atomically and fsynced.

    Each record is written with one ``write(2)`` on an ``O_APPEND`` descriptor, so concurrent
    processes never interleave inside a line.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"jsonl://{path}"

    def send(self, message: AlertMessage) -> None:
        line = message.to_json_bytes() + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            try:
                written = os.write(fd, line)
                if written != len(line):
                    # A torn record: end its line so the next record starts on a line of its own.
                    os.write(fd, b"\n")
                    raise ChannelError(
                        f"short write to {self.path} ({written} of {len(line)} bytes)", retryable=True
                    )
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ChannelError(
                f"cannot append to {self.path}: {exc.strerror or exc}",
                retryable=exc.errno not in _PERMANENT_ERRNOS,
            ) from exc


def from_url(url: str, masked: str, settings: Settings) -> JsonlChannel:
    """The channel of a ``jsonl:///abs/path.jsonl`` URL."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise ConfigError(f"bad alert URL {masked}: a jsonl URL is an absolute path, jsonl:///abs/path.jsonl")
    if parts.query or parts.fragment:
        raise ConfigError(f"bad alert URL {masked}: a jsonl URL takes no parameters")
    path = unquote(parts.path)
    if path.endswith("/"):
        raise ConfigError(f"bad alert URL {masked}: the path names a directory, not a file")
    return JsonlChannel(Path(path))
