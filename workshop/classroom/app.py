"""The classroom's HTTP routes (Starlette). Every answer is JSON; every error is
{"error": "<one sentence>"} with a 4xx/5xx status, and stores nothing.

Settings come from the environment variable WORKSHOP_CLASSROOM (JSON, written by `serve`), so
that each uvicorn worker process builds the same app.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import time
from pathlib import Path

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from workshop.classroom import catalog as catalogs
from workshop.classroom import export, validate
from workshop.classroom.limits import Limiter
from workshop.classroom.live import Live
from workshop.classroom.room import Rules
from workshop.classroom.store import NameTaken, normal_code, open_store, token_hash
from workshop.classroom.validate import Invalid

STATIC = Path(__file__).parent / "static"
SETTINGS = "WORKSHOP_CLASSROOM"
log = logging.getLogger("workshop.classroom")
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def error(status: int, sentence: str, **headers) -> JSONResponse:
    return JSONResponse({"error": sentence}, status_code=status, headers={**HEADERS, **headers})


def ok(body, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=HEADERS)


class Classroom:
    """The app's state in one worker: the store, the room as folded, the limits, the secrets."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.store = open_store(settings.get("db"), settings.get("pool", 8))
        self.code, self.secret = self.store.secrets()
        self.catalog = catalogs.load()
        rules = Rules(**settings.get("rules", {}))
        self.live = Live(self.store, self.catalog, rules)
        self.per_learner = Limiter(
            settings.get("learner_rate", 5), settings.get("learner_burst", 20)
        )
        self.per_address = Limiter(settings.get("join_rate", 5), settings.get("join_burst", 30))
        self.changed = asyncio.Event()
        self.stopping = False
        self.tokens: dict[str, tuple] = {}  # token hash -> (learner id, role, name)

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    # -- who is asking --------------------------------------------------------------------------

    @staticmethod
    def bearer(request: Request) -> str:
        kind, _, value = request.headers.get("authorization", "").partition(" ")
        return value.strip() if kind.lower() == "bearer" else ""

    def instructor(self, request: Request) -> Response | None:
        """None if the request carries the instructor secret, else the error to answer."""
        given = self.bearer(request)
        if not given:
            return error(
                401,
                "This needs the instructor's secret: open the dashboard link "
                "`workshop classroom serve` printed.",
            )
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return error(
                403,
                "That is not this room's instructor secret: use the dashboard link "
                "`workshop classroom serve` printed.",
            )
        return None

    def joined(self, request: Request) -> Response | None:
        """None if the request carries the join code (header, or the demo page's cookie)."""
        given = request.headers.get("x-join-code") or request.cookies.get("workshop_join", "")
        if not given:
            return error(
                401, "This needs the room's join code (the one in the `workshop join` line)."
            )
        if not hmac.compare_digest(normal_code(given).encode(), normal_code(self.code).encode()):
            return error(403, "That is not this room's join code.")
        return None

    def limited(self, limiter: Limiter, key: str) -> Response | None:
        wait = limiter.take(key, time.monotonic())
        if wait:
            return error(
                429,
                "Too many requests: wait a moment, then try again.",
                **{"Retry-After": str(max(1, round(wait)))},
            )
        return None


async def body_of(request: Request):
    declared = request.headers.get("content-length")
    if declared and (not declared.isdigit() or int(declared) > validate.MAX_BODY):
        raise Invalid(f"The body is larger than {validate.MAX_BODY // 1024} KiB.", status=413)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > validate.MAX_BODY:
            raise Invalid(f"The body is larger than {validate.MAX_BODY // 1024} KiB.", status=413)
    if "json" not in request.headers.get("content-type", ""):
        raise Invalid("Send the body as JSON (Content-Type: application/json).", status=415)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Invalid("The body is not valid JSON.", status=400) from None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- routes ------------------------------------------------------------------------------------


async def health(request: Request) -> Response:
    return ok({"ok": True})


async def join(request: Request) -> Response:
    room: Classroom = request.app.state.room
    if refused := room.limited(room.per_address, client_address(request)):
        return refused
    try:
        body = await body_of(request)
        code, name, role, kit = validate.join(body)
        earlier = validate.earlier_token(body)
    except Invalid as exc:
        return error(exc.status, str(exc))
    if role == "instructor":
        right = hmac.compare_digest(code.encode(), room.secret.encode())
    else:
        right = hmac.compare_digest(normal_code(code).encode(), normal_code(room.code).encode())
    if not right:
        return error(403, "That is not this room's join code: copy the `workshop join` line again.")
    token = secrets.token_urlsafe(24)
    record, yours = room.catalog.compare(kit)
    again = ""
    try:
        learner = await run_in_threadpool(
            room.store.add_learner, name, role, token, time.time(), record
        )
    except NameTaken:
        # the name's own learner pasting the line again (after updating their kit, or to a
        # restarted server's new address) gets their place back: the same token, id and reports
        who = await room.store.who(earlier) if earlier else None
        if who is None or who[1] != role or who[2].lower() != name.lower():
            return error(
                409, f"Someone in this room is already called {name!r}: choose another name."
            )
        learner, token, name, again = who[0], earlier, who[2], " again"
        await run_in_threadpool(room.store.set_kit, learner, record)
    if record["differs"]:
        log.info("%s joined%s as %s; their kit %s", name, again, role, yours)
    else:
        log.info("%s joined%s as %s", name, again, role)
    room.notify()
    # a kit that differs still joins: the learner is told what differs, the dashboard marks it
    kit_answer = {
        "differs": record["differs"],
        "yours": yours,
        "newer": room.catalog.newer(kit),
        "version": room.catalog.version,
        "digest": room.catalog.digest,
    }
    answer = {"token": token, "learner": learner, "name": name, "role": role, "kit": kit_answer}
    # an offline room: where its learners fetch images and packages (nothing for an online room)
    fetch = {key: room.settings.get(key) for key in ("mirror", "index") if room.settings.get(key)}
    if fetch:
        answer["room"] = fetch
    return ok(answer, status=201)


async def reports(request: Request) -> Response:
    room: Classroom = request.app.state.room
    token = room.bearer(request)
    if not token:
        return error(401, "Reports need your token: run `workshop join` first.")
    if refused := room.limited(room.per_learner, token_hash(token)):
        return refused
    key = token_hash(token)
    who = room.tokens.get(key)
    if who is None:
        who = await room.store.who(token)
        if who is not None:
            room.tokens[key] = who  # a token never changes learner: looked up once per worker
    if who is None:
        if refused := room.limited(room.per_address, client_address(request)):
            return refused
        return error(401, "This token is not known in this room: run `workshop join` again.")
    learner_id, role, _ = who
    try:
        batch = validate.reports(await body_of(request), role, room.catalog)
    except Invalid as exc:
        return error(exc.status, str(exc))
    through = await room.store.save_reports(learner_id, batch, time.time())
    room.notify()
    return ok({"stored_through": through})


async def room_json(request: Request) -> Response:
    room: Classroom = request.app.state.room
    if refused := room.instructor(request):
        return refused
    await run_in_threadpool(room.live.refresh)
    return ok(snapshot(room))


def snapshot(room: Classroom) -> dict:
    view = room.live.view(time.time())
    view["server_time"] = time.time()
    return view


HEARTBEAT = 5.0  # seconds between heartbeats on an event stream; pages call a stream dead
# after about two missed ones, say "reconnecting" and open it again


SEP = "\n"  # the pages' reader splits events on a blank line of "\n"


def event(name: str, body: dict) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(body), event=name, sep=SEP)


def heartbeat() -> ServerSentEvent:
    return event("heartbeat", {"server_time": time.time()})


def events(stream) -> EventSourceResponse:
    """An event stream that sse-starlette ends when uvicorn is told to stop (SIGINT, SIGTERM), so
    that shutdown never waits for, or cancels with a traceback, a page left open."""
    return EventSourceResponse(
        stream,
        headers=HEADERS,
        ping=HEARTBEAT,
        ping_message_factory=heartbeat,
        sep=SEP,
        send_timeout=30,  # a page that stopped reading is dropped, not waited for
    )


async def _changed_or_timeout(changed: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(changed.wait(), timeout=seconds)


async def room_events(request: Request) -> Response:
    room: Classroom = request.app.state.room
    if refused := room.instructor(request):
        return refused

    async def stream():
        sent, last = None, 0.0
        while not room.stopping:
            changed = room.changed
            version = await run_in_threadpool(room.live.refresh)
            now = time.monotonic()
            if version != sent or now - last > 10:  # time alone can make a learner stuck
                sent, last = version, now
                yield event("room", snapshot(room))
            await _changed_or_timeout(changed, 1.0)
            await asyncio.sleep(0.2)  # at most a few updates a second, however busy the room

    return events(stream())


async def demo_json(request: Request) -> Response:
    room: Classroom = request.app.state.room
    if refused := room.joined(request):
        return refused
    await run_in_threadpool(room.live.refresh)
    return ok({"demo": room.live.demo()[1]})


async def demo_events(request: Request) -> Response:
    room: Classroom = request.app.state.room
    if refused := room.joined(request):
        return refused

    async def stream():
        sent = -1
        while not room.stopping:
            changed = room.changed
            await run_in_threadpool(room.live.refresh)
            if room.live.room.demo_version != sent:
                sent, lines = room.live.demo()
                yield event("demo", {"demo": lines})
            await _changed_or_timeout(changed, 1.0)

    return events(stream())


async def export_room(request: Request) -> Response:
    room: Classroom = request.app.state.room
    if refused := room.instructor(request):
        return refused
    kind = request.query_params.get("format", "json")
    if kind not in ("json", "csv"):
        return error(422, "`format` must be json or csv.")
    await run_in_threadpool(room.live.refresh)
    view = room.live.view(time.time())
    if kind == "csv":
        return Response(export.as_csv(view), media_type="text/csv; charset=utf-8", headers=HEADERS)
    return ok(export.as_json(view))


def page(name: str):
    async def serve_page(request: Request) -> Response:
        return FileResponse(STATIC / name, headers=HEADERS)

    return serve_page


async def join_page(request: Request) -> Response:
    """The projector's page: the learners' join line(s) in large type, each with its QR code.
    No secret on it: the join code is the learners' own (the instructor's secret and the
    dashboard's key are never in these lines)."""
    from workshop.classroom import joinpage

    lines = request.app.state.room.settings.get("join_lines") or []
    return HTMLResponse(joinpage.render(lines), headers=HEADERS)


async def catalog_json(request: Request) -> Response:
    return ok({"steps": request.app.state.room.catalog.to_json()})


def create_app(settings: dict | None = None) -> Starlette:
    if settings is None:
        settings = json.loads(os.environ.get(SETTINGS, "{}"))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.room = Classroom(settings)
        await app.state.room.store.start()
        try:
            yield
        finally:
            app.state.room.stopping = True
            await app.state.room.store.stop()

    routes = [
        Route("/", page("dashboard.html")),
        Route("/demo", page("demo.html")),
        Route("/join", join_page),
        Route("/api/v1/health", health),
        Route("/api/v1/join", join, methods=["POST"]),
        Route("/api/v1/reports", reports, methods=["POST"]),
        Route("/api/v1/steps", catalog_json),
        Route("/api/v1/room", room_json),
        Route("/api/v1/room/events", room_events),
        Route("/api/v1/demo", demo_json),
        Route("/api/v1/demo/events", demo_events),
        Route("/api/v1/export", export_room),
        Mount("/static", StaticFiles(directory=STATIC)),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            404: lambda request, exc: error(404, "There is nothing at this address."),
            405: lambda request, exc: error(405, "This address does not take that method."),
            500: lambda request, exc: error(
                500, "The server failed on this request; its log says why."
            ),
        },
    )
