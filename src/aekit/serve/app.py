"""The explorer's web app: `app(model)` is a FastAPI application (an ASGI app) serving
the page in static/ and a small JSON + PNG API over one loaded model.

    GET  /                        the page (static/index.html)
    GET  /static/{name}           app.js, style.css: those files, and nothing else
    GET  /api/info                the model, the slider axes, the limits
    GET  /api/map                 the latent map of the test images (their coordinates, labels)
    GET  /api/images/{i}.png      test image i
    GET  /api/points/{i}          test image i: its code, label, anomaly score, nearest neighbours
    POST /api/decode              {"code": [D floats]} -> the decoded image, PNG
    POST /api/neighbours          {"code": [...], "k": 8} -> the nearest test images
    POST /api/interpolate         {"a": code, "b": code, "steps": 10, "method": "linear"|"slerp"} -> a PNG strip
    POST /api/upload              multipart "file": an image -> its code, reconstruction, anomaly score

Every error is JSON {"error": "one line"} with a 4xx status (5xx only for a
bug, and then without its traceback, which goes to the server's log).
"""

# No `from __future__ import annotations` here: FastAPI reads the routes' annotations at run time.
import base64
import logging
from importlib import resources
from typing import Annotated, Any

import torch
from fastapi import FastAPI, File, Path, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from aekit.apps import codes as code_space
from aekit.errors import AekitError
from aekit.serve.limits import (MAX_BODY_BYTES, MAX_CODE_VALUES, MAX_NEIGHBOURS, MAX_STEPS, MAX_UPLOAD_PIXELS,
                                BodyLimit, BodyTooLarge, HostCheck, RequestError, error_json, read_upload)
from aekit.serve.requests import DecodeRequest, InterpolateRequest, NeighboursRequest
from aekit.serve.state import CODE_RADIUS_FACTOR, Explorer, png

log = logging.getLogger("aekit.serve")

ASSET_TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
               "style.css": "text/css; charset=utf-8"}
# The page loads nothing from anywhere but this server (images: its PNGs, as blobs or data: URLs).
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
                    "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _assets() -> dict[str, bytes]:
    """The page's files, read once: the only files this server ever sends."""
    folder = resources.files("aekit.serve") / "static"
    return {name: (folder / name).read_bytes() for name in ASSET_TYPES}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_json(message), status_code=status, headers=SECURITY_HEADERS)


def _validation_message(exc: RequestValidationError) -> str:
    """The first problem as one line: where (body.code.3) and what (pydantic's message);
    never the input itself, which may be large."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON"
    if tuple(first.get("loc", ())) == ("body",) and first.get("type") == "model_attributes_type":
        return "the body must be a JSON object, sent with Content-Type: application/json"
    where = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def _png(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers=SECURITY_HEADERS)


def _data_url(images: torch.Tensor) -> str:
    return "data:image/png;base64," + base64.b64encode(png(images)).decode()


def _codes(explorer: Explorer, *codes: list[float]) -> torch.Tensor:
    try:
        return torch.stack([explorer.check_code(code) for code in codes])
    except AekitError as err:
        raise RequestError(422, str(err)) from None


def app(explorer: Explorer, hosts: tuple[str, ...] | None = None) -> Any:
    """The ASGI application over `explorer`: FastAPI inside a request-body limit and, given
    `hosts`, a check that the Host header names one of them (see limits.HostCheck)."""
    assets = _assets()
    api = FastAPI(title="aekit explorer", docs_url=None, redoc_url=None, openapi_url=None)
    index = Annotated[int, Path(ge=0, le=len(explorer) - 1)]

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        return _error(422, _validation_message(exc))

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        messages = {404: "no such page or API endpoint (the API is under /api/, see /api/info)",
                    405: "method not allowed on this endpoint"}
        detail = exc.detail if exc.status_code not in messages else messages[exc.status_code]
        return _error(exc.status_code, detail)

    @api.exception_handler(RequestError)
    async def bad_request(request: Request, exc: RequestError):
        return _error(exc.status, str(exc))

    @api.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge):
        return _error(413, f"request body over the {MAX_BODY_BYTES // 2**20} MiB limit")

    @api.exception_handler(Exception)
    async def bug(request: Request, exc: Exception):
        log.exception("explorer: %s %s failed", request.method, request.url.path)
        return _error(500, "internal error: the server's log has the details")

    @api.get("/")
    async def page():
        return Response(assets["index.html"], media_type=ASSET_TYPES["index.html"], headers=SECURITY_HEADERS)

    @api.get("/static/{name}")
    async def static(name: str):
        if name not in assets:
            raise HTTPException(404)
        return Response(assets[name], media_type=ASSET_TYPES[name], headers=SECURITY_HEADERS)

    @api.get("/api/info")
    async def info():
        axes = explorer.axes
        model = explorer.model
        return {
            "model": repr(model), "kind": model.kind, "code_dim": model.code_dim,
            "input_shape": list(model.input_shape), "data": explorer.dataset_name, "data_note": explorer.note,
            "points": len(explorer),
            "classes": explorer.classes,
            "axes": {"kind": axes.kind, "origin": axes.origin.tolist(), "directions": axes.directions.tolist(),
                     "low": axes.low.tolist(), "high": axes.high.tolist()},
            "limits": {"body_bytes": MAX_BODY_BYTES, "upload_pixels": MAX_UPLOAD_PIXELS,
                       "code_values": MAX_CODE_VALUES, "neighbours": MAX_NEIGHBOURS, "steps": MAX_STEPS,
                       "code_radius": explorer.radius, "code_center": explorer.center.tolist(),
                       "code_radius_factor": CODE_RADIUS_FACTOR},
        }

    @api.get("/api/map")
    async def latent_map():
        coords = explorer.coords
        return {"method": "codes" if explorer.axes.kind == "code" else "pca",
                "x": [round(v, 5) for v in coords[:, 0].tolist()],
                "y": [round(v, 5) for v in coords[:, 1].tolist()] if coords.shape[1] > 1 else [0.0] * len(explorer),
                "labels": explorer.labels.tolist() if explorer.labels is not None else None}

    @api.get("/api/images/{i}.png")
    async def image(i: index):
        return _png(png(explorer.images[i:i + 1].float() / 255))

    @api.get("/api/points/{i}")
    async def point(i: index):
        return {**explorer.point_summary(i), "code": explorer.codes[i].tolist(),
                "score": float(explorer.scores[i]), "score_rank": explorer.score_rank(float(explorer.scores[i])),
                "neighbours": explorer.neighbours(explorer.codes[i], 8, exclude=i)}

    @api.post("/api/decode")
    async def decode(body: DecodeRequest):
        return _png(png(explorer.decode(_codes(explorer, body.code))))

    @api.post("/api/neighbours")
    async def neighbours(body: NeighboursRequest):
        return {"neighbours": explorer.neighbours(_codes(explorer, body.code)[0], body.k)}

    @api.post("/api/interpolate")
    async def interpolate(body: InterpolateRequest):
        a, b = _codes(explorer, body.a, body.b)
        path = code_space.path(a, b, body.steps, body.method)
        return _png(png(explorer.decode(path), ncols=body.steps))

    @api.post("/api/upload")
    async def upload(file: UploadFile = File(...)):
        pixels, size = read_upload(await file.read(), explorer.model.input_shape)
        batch = torch.from_numpy(pixels)[None]
        model = explorer.model
        code = model.encode(batch)
        recon, score = model.reconstruct_and_score(batch)
        score = float(score[0])
        _, h, w = model.input_shape
        return {"code": code[0].tolist(), "size": size, "resized": size != [w, h],
                "coords": explorer.axes.project(code)[0, :2].tolist(), "score": score,
                "score_rank": explorer.score_rank(score),
                "input": _data_url(batch.float() / 255), "reconstruction": _data_url(recon.float() / 255),
                "neighbours": explorer.neighbours(code[0], 8)}

    return HostCheck(BodyLimit(api), hosts) if hosts is not None else BodyLimit(api)
