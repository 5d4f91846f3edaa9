"""Mythical Mysfits adoption service: a small Flask JSON API.

Run it with gunicorn's factory syntax (see gunicorn.conf.py and the Dockerfile):

    gunicorn --config gunicorn.conf.py 'app:create_app()'

The catalogue is read once at start-up from the JSON file named by the
MYSFITS_DATA environment variable, or from the mysfits.json next to this file.
Likes and adoptions live in memory only: a restart brings back the file's values.
Every answer names the container that gave it (`X-Served-By: <hostname>`), so a client behind a
load balancer sees which replica answered.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_cors import CORS
from werkzeug.exceptions import HTTPException, MethodNotAllowed

DEFAULT_DATA_PATH = Path(__file__).resolve().with_name("mysfits.json")

# The fields a client may filter on, and the values allowed for each (None: any value).
FILTERS: dict[str, tuple[str, ...] | None] = {
    "species": None,
    "goodevil": ("Good", "Neutral", "Evil"),
    "lawchaos": ("Lawful", "Neutral", "Chaotic"),
}


class ApiError(Exception):
    """An error the API reports to the client as {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MysfitStore:
    """The catalogue, held in memory; a lock keeps likes and adoptions consistent."""

    def __init__(self, mysfits: list[dict[str, Any]]) -> None:
        self._lock = threading.Lock()
        self._mysfits = copy.deepcopy(mysfits)
        self._by_id = {m["mysfitId"]: m for m in self._mysfits}
        if len(self._by_id) != len(self._mysfits):
            raise ValueError("mysfitId values must be unique")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MysfitStore:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a JSON list of mysfits")
        return cls(data)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(m) for m in self._mysfits]

    def get(self, mysfit_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._find(mysfit_id))

    def like(self, mysfit_id: str) -> dict[str, Any]:
        with self._lock:
            mysfit = self._find(mysfit_id)
            mysfit["likes"] += 1
            return dict(mysfit)

    def adopt(self, mysfit_id: str) -> dict[str, Any]:
        with self._lock:
            mysfit = self._find(mysfit_id)
            if mysfit["adopted"]:
                raise ApiError(409, f"Mysfit {mysfit_id} has already been adopted.")
            mysfit["adopted"] = True
            return dict(mysfit)

    def _find(self, mysfit_id: str) -> dict[str, Any]:
        try:
            return self._by_id[mysfit_id]
        except KeyError:
            raise ApiError(404, f"No mysfit has the id {mysfit_id}.") from None


def _matching(
    mysfits: list[dict[str, Any]], field: str | None, value: str | None
) -> list[dict[str, Any]]:
    """Apply the optional ?filter=FIELD&value=V query, or raise a 400 ApiError."""
    if field is None and value is None:
        return mysfits
    if field is None:
        raise ApiError(400, "The value parameter needs a filter parameter to go with it.")
    if field not in FILTERS:
        names = ", ".join(FILTERS)
        raise ApiError(400, f"Cannot filter on {field!r}; use one of: {names}.")
    if not value:
        raise ApiError(400, f"The {field} filter needs a non-empty value parameter.")
    allowed = FILTERS[field]
    wanted = value.casefold()
    if allowed is not None and wanted not in {a.casefold() for a in allowed}:
        raise ApiError(400, f"{value!r} is not a valid {field}; use one of: {', '.join(allowed)}.")
    return [m for m in mysfits if str(m.get(field, "")).casefold() == wanted]


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error=message), status


def _http_error_as_json(exc: HTTPException) -> Response:
    """Turn Flask's own errors (unknown route, wrong method...) into JSON, keeping headers."""
    messages = {404: f"Nothing lives at {request.path}; try GET /mysfits."}
    if isinstance(exc, MethodNotAllowed):
        usable = [m for m in exc.valid_methods or () if m not in ("HEAD", "OPTIONS")]
        messages[405] = (
            f"{request.method} is not allowed on {request.path}; use {' or '.join(usable)}."
        )
    response = current_app.json.response(error=messages.get(exc.code, f"{exc.name}."))
    response.status_code = exc.code or 500
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers.add(name, value)  # e.g. Allow on a 405
    return response


def create_app(data_path: str | os.PathLike[str] | None = None) -> Flask:
    """Build the app; the catalogue comes from data_path, $MYSFITS_DATA or the bundled file."""
    path = data_path or os.environ.get("MYSFITS_DATA") or DEFAULT_DATA_PATH
    store = MysfitStore.from_file(path)

    app = Flask(__name__)
    app.json.sort_keys = False  # keep the file's field order: mysfitId first
    app.config["MYSFITS_DATA"] = str(path)
    app.extensions["mysfits"] = store
    CORS(app)

    app.register_error_handler(ApiError, lambda exc: _error(exc.status, exc.message))
    app.register_error_handler(HTTPException, _http_error_as_json)

    served_by = socket.gethostname()

    @app.after_request
    def name_the_replica(response: Response) -> Response:
        response.headers["X-Served-By"] = served_by
        return response

    @app.get("/")
    def health() -> Response:
        text = "Mythical Mysfits adoption service is up: GET /mysfits to meet them.\n"
        return Response(text, mimetype="text/plain")

    @app.get("/mysfits")
    def list_mysfits() -> Response:
        mysfits = _matching(store.all(), request.args.get("filter"), request.args.get("value"))
        return jsonify(mysfits=mysfits)

    @app.get("/mysfits/<mysfit_id>")
    def get_mysfit(mysfit_id: str) -> Response:
        return jsonify(store.get(mysfit_id))

    @app.post("/mysfits/<mysfit_id>/like")
    def like_mysfit(mysfit_id: str) -> Response:
        return jsonify(store.like(mysfit_id))

    @app.post("/mysfits/<mysfit_id>/adopt")
    def adopt_mysfit(mysfit_id: str) -> Response:
        return jsonify(store.adopt(mysfit_id))

    return app
