"""Unit tests for the Mysfits service in images/mysfits: Flask's test client (no Docker)."""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
import sys
import threading
import uuid
from pathlib import Path
from types import ModuleType

import pytest

IMAGE_DIR = Path(__file__).resolve().parents[3] / "images" / "mysfits"  # labs/mysfits/tests -> kit
DATA_FILE = IMAGE_DIR / "mysfits.json"

FIELDS = {
    "mysfitId": str,
    "name": str,
    "species": str,
    "description": str,
    "age": int,
    "goodevil": str,
    "lawchaos": str,
    "thumbImageUri": str,
    "profileImageUri": str,
    "likes": int,
    "adopted": bool,
}
GOODEVIL = {"Good", "Neutral", "Evil"}
LAWCHAOS = {"Lawful", "Neutral", "Chaotic"}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def mysfits_module() -> ModuleType:
    """images/ is not a package: load app.py by path under a name that cannot clash."""
    spec = importlib.util.spec_from_file_location("mysfits_app_under_test", IMAGE_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app(mysfits_module, monkeypatch):
    monkeypatch.delenv("MYSFITS_DATA", raising=False)
    app = mysfits_module.create_app()
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def first(catalogue, **fields) -> dict:
    return next(m for m in catalogue if all(m[k] == v for k, v in fields.items()))


def assert_json_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and body["error"].strip()
    return body["error"]


# --- the bundled data file -------------------------------------------------------------------


def test_data_file_has_at_least_twelve_mysfits(catalogue):
    assert isinstance(catalogue, list)
    assert len(catalogue) >= 12


def test_data_file_entries_have_every_field_with_the_right_type(catalogue):
    for mysfit in catalogue:
        assert set(mysfit) == set(FIELDS), mysfit.get("name")
        for field, kind in FIELDS.items():
            # bool is a subclass of int: age and likes must be real ints, not booleans
            assert type(mysfit[field]) is kind, (mysfit["name"], field)
        assert mysfit["age"] >= 0 and mysfit["likes"] >= 0
        assert mysfit["name"].strip() and mysfit["species"].strip()


def test_data_file_ids_are_unique_uuids(catalogue):
    ids = [m["mysfitId"] for m in catalogue]
    assert len(set(ids)) == len(ids)
    for mysfit_id in ids:
        assert str(uuid.UUID(mysfit_id)) == mysfit_id


def test_data_file_alignments_are_allowed_values(catalogue):
    for mysfit in catalogue:
        assert mysfit["goodevil"] in GOODEVIL, mysfit["name"]
        assert mysfit["lawchaos"] in LAWCHAOS, mysfit["name"]


def test_data_file_is_varied_enough_for_the_filters(catalogue):
    assert {m["goodevil"] for m in catalogue} == GOODEVIL
    assert {m["lawchaos"] for m in catalogue} == LAWCHAOS
    species = [m["species"] for m in catalogue]
    assert any(species.count(s) > 1 for s in species), "some species should match several"
    assert len(set(species)) >= 6
    adopted = {m["adopted"] for m in catalogue}
    assert adopted == {True, False}


def test_data_file_image_uris_are_relative(catalogue):
    for mysfit in catalogue:
        for field in ("thumbImageUri", "profileImageUri"):
            assert re.fullmatch(r"/images/[a-z0-9_]+\.png", mysfit[field]), mysfit[field]


# --- GET / -----------------------------------------------------------------------------------


def test_health_is_plain_text_pointing_at_mysfits(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "/mysfits" in text
    assert text.count("\n") == 1


# --- GET /mysfits ----------------------------------------------------------------------------


def test_list_returns_every_mysfit(client, catalogue):
    response = client.get("/mysfits")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"mysfits": catalogue}


def test_list_keeps_the_file_field_order(client):
    mysfit = client.get("/mysfits").get_json()["mysfits"][0]
    assert list(mysfit) == list(FIELDS)


@pytest.mark.parametrize("field", ["species", "goodevil", "lawchaos"])
def test_filter_matches_each_field(client, catalogue, field):
    for value in {m[field] for m in catalogue}:
        response = client.get("/mysfits", query_string={"filter": field, "value": value})
        assert response.status_code == 200
        expected = [m for m in catalogue if m[field] == value]
        assert response.get_json() == {"mysfits": expected}
        assert expected


@pytest.mark.parametrize(
    ("field", "value"),
    [("goodevil", "eVIL"), ("lawchaos", "chaotic"), ("species", "CLOUD SERPENT")],
)
def test_filter_value_is_case_insensitive(client, catalogue, field, value):
    response = client.get("/mysfits", query_string={"filter": field, "value": value})
    assert response.status_code == 200
    names = [m["name"] for m in response.get_json()["mysfits"]]
    expected = [m["name"] for m in catalogue if m[field].casefold() == value.casefold()]
    assert names == expected and names


def test_filter_on_an_unknown_species_is_an_empty_list(client):
    response = client.get("/mysfits?filter=species&value=Unicorn")
    assert response.status_code == 200
    assert response.get_json() == {"mysfits": []}


@pytest.mark.parametrize(
    "query",
    [
        "filter=name&value=Blip",
        "filter=adopted&value=true",
        "filter=Species&value=Bog%20Troll",
        "filter=species",
        "filter=goodevil&value=",
        "value=Good",
        "filter=goodevil&value=Chaotic",
        "filter=lawchaos&value=Evil",
        "filter=lawchaos&value=lawfulish",
    ],
)
def test_bad_filter_or_value_is_400(client, query):
    assert_json_error(client.get(f"/mysfits?{query}"), 400)


def test_400_message_lists_the_allowed_values(client):
    message = assert_json_error(client.get("/mysfits?filter=goodevil&value=Chaotic"), 400)
    assert all(v in message for v in ("Good", "Neutral", "Evil"))
    message = assert_json_error(client.get("/mysfits?filter=colour&value=red"), 400)
    assert all(f in message for f in ("species", "goodevil", "lawchaos"))


# --- GET /mysfits/<id> -----------------------------------------------------------------------


def test_get_one_mysfit(client, catalogue):
    for mysfit in catalogue:
        response = client.get(f"/mysfits/{mysfit['mysfitId']}")
        assert response.status_code == 200
        assert response.get_json() == mysfit


def test_get_unknown_id_is_404(client):
    message = assert_json_error(client.get(f"/mysfits/{UNKNOWN_ID}"), 404)
    assert UNKNOWN_ID in message


# --- POST /mysfits/<id>/like -----------------------------------------------------------------


def test_like_increments_likes_in_memory(client, catalogue):
    mysfit = catalogue[0]
    url = f"/mysfits/{mysfit['mysfitId']}"
    first_like = client.post(f"{url}/like")
    assert first_like.status_code == 200
    assert first_like.get_json() == {**mysfit, "likes": mysfit["likes"] + 1}
    assert client.post(f"{url}/like").get_json()["likes"] == mysfit["likes"] + 2
    assert client.get(url).get_json()["likes"] == mysfit["likes"] + 2
    # the data file itself is never written
    assert json.loads(DATA_FILE.read_text(encoding="utf-8"))[0]["likes"] == mysfit["likes"]


def test_like_unknown_id_is_404(client):
    assert_json_error(client.post(f"/mysfits/{UNKNOWN_ID}/like"), 404)


def test_likes_from_many_threads_are_all_counted(app, catalogue):
    mysfit = catalogue[1]
    url = f"/mysfits/{mysfit['mysfitId']}/like"
    threads, per_thread = 8, 25

    def like_many():
        client = app.test_client()
        for _ in range(per_thread):
            assert client.post(url).status_code == 200

    workers = [threading.Thread(target=like_many) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    likes = app.test_client().get(f"/mysfits/{mysfit['mysfitId']}").get_json()["likes"]
    assert likes == mysfit["likes"] + threads * per_thread


def test_each_app_has_its_own_counts(mysfits_module, client, catalogue):
    mysfit = catalogue[0]
    client.post(f"/mysfits/{mysfit['mysfitId']}/like")
    fresh = mysfits_module.create_app(DATA_FILE).test_client()
    assert fresh.get(f"/mysfits/{mysfit['mysfitId']}").get_json()["likes"] == mysfit["likes"]


# --- POST /mysfits/<id>/adopt ----------------------------------------------------------------


def test_adopt_marks_adopted_then_409(client, catalogue):
    mysfit = first(catalogue, adopted=False)
    url = f"/mysfits/{mysfit['mysfitId']}"
    response = client.post(f"{url}/adopt")
    assert response.status_code == 200
    assert response.get_json() == {**mysfit, "adopted": True}
    assert client.get(url).get_json()["adopted"] is True
    message = assert_json_error(client.post(f"{url}/adopt"), 409)
    assert mysfit["mysfitId"] in message


def test_adopt_an_already_adopted_mysfit_is_409(client, catalogue):
    mysfit = first(catalogue, adopted=True)
    assert_json_error(client.post(f"/mysfits/{mysfit['mysfitId']}/adopt"), 409)


def test_adopt_unknown_id_is_404(client):
    assert_json_error(client.post(f"/mysfits/{UNKNOWN_ID}/adopt"), 404)


# --- errors Flask raises itself --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/mysfits/", "/mysfits/x/y", "/mysfits/x/pet"])
def test_unknown_route_is_json_404(client, path):
    message = assert_json_error(
        client.post(path) if path.endswith("pet") else client.get(path), 404
    )
    assert "/mysfits" in message


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("post", "/", "GET"),
        ("delete", "/mysfits", "GET"),
        ("put", "/mysfits/{id}", "GET"),
        ("get", "/mysfits/{id}/like", "POST"),
        ("get", "/mysfits/{id}/adopt", "POST"),
    ],
)
def test_wrong_method_is_json_405_with_allow_header(client, catalogue, method, path, allowed):
    url = path.format(id=catalogue[0]["mysfitId"])
    response = getattr(client, method)(url)
    message = assert_json_error(response, 405)
    assert method.upper() in message
    assert f"use {allowed}" in message
    assert allowed in response.headers["Allow"]


def test_unexpected_failure_is_json_500(app, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("kaboom")

    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level("ERROR"):
        response = app.test_client().get("/boom")
    message = assert_json_error(response, 500)
    assert "kaboom" not in message


# --- CORS ------------------------------------------------------------------------------------


def test_cors_header_without_an_origin_is_a_wildcard(client):
    assert client.get("/mysfits").headers["Access-Control-Allow-Origin"] == "*"


def test_cors_header_echoes_the_browser_origin(client, catalogue):
    origin = "http://localhost:3000"
    listed = client.get("/mysfits", headers={"Origin": origin})
    assert listed.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in listed.headers["Vary"]
    liked = client.post(f"/mysfits/{catalogue[0]['mysfitId']}/like", headers={"Origin": origin})
    assert liked.headers["Access-Control-Allow-Origin"] == origin
    missing = client.get(f"/mysfits/{UNKNOWN_ID}", headers={"Origin": origin})
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == origin


def test_cors_preflight(client, catalogue):
    origin = "http://localhost:3000"
    response = client.options(
        f"/mysfits/{catalogue[0]['mysfitId']}/like",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


# --- where the data comes from ---------------------------------------------------------------


def small_catalogue() -> list[dict]:
    return [
        {
            "mysfitId": "11111111-2222-4333-8444-555555555555",
            "name": "Test Wisp",
            "species": "Wisp",
            "description": "Exists only for the test suite.",
            "age": 1,
            "goodevil": "Neutral",
            "lawchaos": "Neutral",
            "thumbImageUri": "/images/test_wisp_thumb.png",
            "profileImageUri": "/images/test_wisp_profile.png",
            "likes": 0,
            "adopted": False,
        }
    ]


def test_mysfits_data_env_var_points_at_another_file(mysfits_module, monkeypatch, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps(small_catalogue()), encoding="utf-8")
    monkeypatch.setenv("MYSFITS_DATA", str(other))
    app = mysfits_module.create_app()
    assert app.config["MYSFITS_DATA"] == str(other)
    assert app.test_client().get("/mysfits").get_json() == {"mysfits": small_catalogue()}


def test_data_path_argument_wins_over_env_var(mysfits_module, monkeypatch, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps(small_catalogue()), encoding="utf-8")
    monkeypatch.setenv("MYSFITS_DATA", str(tmp_path / "missing.json"))
    app = mysfits_module.create_app(other)
    assert len(app.test_client().get("/mysfits").get_json()["mysfits"]) == 1


def test_default_data_is_the_bundled_file(app):
    assert app.config["MYSFITS_DATA"] == str(DATA_FILE)


def test_data_file_must_hold_a_list(mysfits_module, tmp_path):
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"mysfits": small_catalogue()}), encoding="utf-8")
    with pytest.raises(ValueError, match="list"):
        mysfits_module.create_app(wrong)


def test_duplicate_ids_are_refused(mysfits_module, tmp_path):
    twice = tmp_path / "twice.json"
    twice.write_text(json.dumps(small_catalogue() * 2), encoding="utf-8")
    with pytest.raises(ValueError, match="unique"):
        mysfits_module.create_app(twice)


# --- how the image runs it -------------------------------------------------------------------


def test_gunicorn_config_serves_8080_with_access_log_to_stdout():
    settings = runpy.run_path(str(IMAGE_DIR / "gunicorn.conf.py"))
    assert settings["bind"] == "0.0.0.0:8080"
    assert settings["accesslog"] == "-"
    # one process, so every request sees the same in-memory likes and adoptions
    assert settings["workers"] == 1
    assert settings["threads"] > 1


def test_gunicorn_app_spec_loads(monkeypatch):
    """The Dockerfile CMD's 'app:create_app()' must resolve the way gunicorn resolves it."""
    gunicorn_util = pytest.importorskip("gunicorn.util")
    monkeypatch.syspath_prepend(str(IMAGE_DIR))
    monkeypatch.delenv("MYSFITS_DATA", raising=False)
    monkeypatch.delitem(sys.modules, "app", raising=False)
    try:
        wsgi = gunicorn_util.import_app("app:create_app()")
        assert wsgi.test_client().get("/").status_code == 200
    finally:
        sys.modules.pop("app", None)


def test_requirements_are_pinned_exactly():
    lines = [
        line.strip()
        for line in (IMAGE_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    names = {re.split(r"==", line)[0].lower() for line in lines}
    assert names == {"flask", "flask-cors", "gunicorn"}
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line


def test_every_answer_names_the_replica(client):
    import socket

    for response in (client.get("/"), client.get("/mysfits"), client.get("/nowhere")):
        assert response.headers["X-Served-By"] == socket.gethostname()
