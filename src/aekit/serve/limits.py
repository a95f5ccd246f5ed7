"""What the explorer accepts, checked at the door, and the one-line JSON errors it answers with.

Every limit is stated here once; docs/explorer.md lists them.
"""

from __future__ import annotations

import io
import json
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from aekit.errors import AekitError

MAX_BODY_BYTES = 4 * 1024 * 1024          # any request body: 4 MiB
MAX_UPLOAD_PIXELS = 4096 * 4096           # an uploaded image's width x height, checked before decoding it
MAX_CODE_VALUES = 65_536                  # a code's length, before it is checked against the model's
MAX_NEIGHBOURS = 50
MAX_STEPS = 32                            # interpolation images


class RequestError(AekitError):
    """Bad input in a request: answered with `status` and the message, as JSON."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class BodyTooLarge(Exception):
    """Raised while reading a request body that grows past MAX_BODY_BYTES."""


def error_json(message: str) -> dict:
    """A request's error as the server answers it: {"error": the message on one line}."""
    return {"error": " ".join(str(message).split())}


def error_body(message: str) -> bytes:
    return json.dumps(error_json(message)).encode()


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 and is never read to its end.

    A Content-Length over the limit is refused before any of the body is read;
    a body without one (chunked) is counted as it arrives and refused when it
    passes the limit (BodyTooLarge, which the app's handler turns into 413)."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await refuse(send, 413 if length.isdigit() else 400,
                                     f"request body over the {self.limit // 2**20} MiB limit" if length.isdigit()
                                     else "malformed Content-Length header")
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge()
            return message

        await self.app(scope, counted, send)


async def refuse(send, status: int, message: str) -> None:
    """Answers a request with `status` and {"error": message}, and closes the connection."""
    body = error_body(message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class HostCheck:
    """ASGI middleware: only requests whose Host header names one of `hosts` (any port).

    On the loopback this stops DNS rebinding: a web page whose own name the
    attacker points at 127.0.0.1 would otherwise reach the explorer from the
    browser of the machine it runs on, as its own origin."""

    def __init__(self, app, hosts: tuple[str, ...] = LOOPBACK_NAMES):
        self.app, self.hosts = app, {h.lower() for h in hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            name = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
            if name not in self.hosts:
                return await refuse(send, 400, f"Host {host[:100]!r} is not this server's: open it as "
                                               f"http://127.0.0.1:PORT/ (or localhost)")
        await self.app(scope, receive, send)


UPLOAD_FORMATS = ("PNG", "JPEG", "BMP", "GIF")


def read_upload(data: bytes, shape: tuple[int, int, int]) -> tuple[np.ndarray, list[int]]:
    """An uploaded image file as uint8 [C, H, W] of the model's shape (converted to its
    channels and resized when it differs), and the file's own [width, height].
    RequestError when it is empty, not an image, or over MAX_UPLOAD_PIXELS."""
    c, h, w = shape
    if not data:
        raise RequestError(422, "the upload is empty: choose an image file (PNG, JPEG, BMP or GIF)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only these decoders: Pillow's EPS plugin, for one, runs Ghostscript on the upload.
            with Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_UPLOAD_PIXELS:
                    raise RequestError(413, f"the image is {width}x{height} pixels; the limit is "
                                     f"{MAX_UPLOAD_PIXELS} pixels in all: send a smaller image")
                image = image.convert("L" if c == 1 else "RGB")
                if image.size != (w, h):
                    image = image.resize((w, h), Image.Resampling.BILINEAR)
                array = np.asarray(image, dtype=np.uint8)
    except RequestError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise RequestError(415, "the upload is not an image this server reads: send a PNG, JPEG, BMP or GIF file") from None
    array = array[None] if c == 1 else array.transpose(2, 0, 1)
    return np.array(array, copy=True, order="C"), [width, height]   # writable, for torch

