"""Recordings: the audio behind every answered call, and the signed links that reach it.

The live service hands out a temporary download URL that does not carry the API token; the
sandbox does the same with an HMAC-signed ``/media/<file>?expires=..&sig=..`` on itself, so a
client can be tested for fetching links late, storing them, or leaking secrets into them.
The audio is real: a handful of short spoken clips in ``resources/recordings`` (made with
espeak-ng and lame), each call's file mapped onto one of them by a stable hash. If the
folder is missing (an installed wheel ships no resources) a built-in half second of silence
stands in, so the sandbox still serves valid mp3.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import zlib
from pathlib import Path

RECORDINGS_DIR = Path(__file__).resolve().parents[2] / "resources" / "recordings"

# 0.5 s of silence, 16 kHz mono MPEG-2 layer III (lame -b 8).
_SILENCE = base64.b64decode(
    "//MYxAAFEAIEAAAAAJT/8H3+cvDCjgnOVHEeD6Phjr+H1er///MYxAIESAIgABjGlLKVLqF38XohlH1M2Jr6C6rnhW+5UpVv//MY"
    "xAcFAAYcAAAAAFIp7T32vq9WgCrZ046tVWpPO176vtei//MYxAoE+AIgAAAAAMv0O2XM3CqRm5Whv+v2Ls5l36L/4p91//MYxA0D"
    "iAYkAAAAADUqcvbsTp20O/7u67NfZd0JTRCCI5sQ//MYxBUD6AYkAAAAALVawXZq28W6X+T/9X+Qt5roq/12rSla//MYxBwEwAYq"
    "CAAAAJsm9p3xXe9LKtWlFkCpsqge96NutlGr//MYxCAE8AYgAAAAAGasVI/X1avpOvHqxtq7L8jovncMIpRV//MYxCMFmAYhSAAA"
    "AL3o7n7EXVnqVWRlBB3Y9yavsUzzn9a0//MYxCMFOAYcAAAAABLZUqr1KpoGC+asO1rRZXV7qxVTe/5H//MYxCUEyAIgAAgAAH+1"
    "X+r6YpRtYnapfdXzX6Z1+72bJOrP//MYxCgFQAIpiAAAAFa7vu3Nt1vo+8APtMN7YvnPWup+bXjt//MYxCoEUAIgAAAAAJjP57oE"
    "aN1Ceoi5kblbOuoS867lXB0l//MYxC8E0AIgAAAAAP/KuDpZ4lLZ5H9JWkxBTUUzLjEwMKqq//MYxDIE0AIcAAAAAKqqqqqqqqqq"
    "qqqqqqqqqqqqqqqqqqqq//MYxDUEoAH8AAgAAKqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
)


class RecordingLibrary:
    """The sample clips, loaded once; `audio_for` maps any file name onto one of them."""

    def __init__(self, directory: Path = RECORDINGS_DIR) -> None:
        paths = sorted(directory.glob("*.mp3")) if directory.is_dir() else []
        self.clips: list[tuple[str, bytes]] = [(p.name, p.read_bytes()) for p in paths]
        if not self.clips:
            self.clips = [("silence.mp3", _SILENCE)]

    def clip_name_for(self, filename: str) -> str:
        return self.clips[self._pick(filename)][0]

    def audio_for(self, filename: str) -> bytes:
        return self.clips[self._pick(filename)][1]

    def _pick(self, filename: str) -> int:
        return zlib.crc32(filename.encode()) % len(self.clips)


def sign(secret: bytes, filename: str, expires: int) -> str:
    return hmac.new(secret, f"{filename}\n{expires}".encode(), hashlib.sha256).hexdigest()


def verify(secret: bytes, filename: str, expires: str, signature: str) -> bool:
    if not expires.isdigit():
        return False
    return hmac.compare_digest(sign(secret, filename, int(expires)), signature)


class RangeNotSatisfiable(ValueError):
    """The ``Range`` header asks for nothing the file has, or cannot be understood."""


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte span a ``Range`` header asks for; None means the whole file.

    One span only (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``). Syntax errors and
    multi-range requests are refused with 416 rather than ignored, which is stricter than
    HTTP requires but makes a client's range bug visible.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable(header)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)
