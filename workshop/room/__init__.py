"""The offline room: every image and Python package a class needs, kept on the instructor's machine.

`store` is the folder that holds them (a CNCF distribution registry's storage, wheels with a
static PEP 503 index, and `room.json` saying what is there); `registry` runs Debian's
`docker-registry` binary on it as a child process; `v2` is a small client of the registry HTTP
API; `prepare` fills the store from an upstream registry and PyPI; `bundle` writes and checks
one file holding the store; `serve` serves the room; `check` says whether the room is ready.
Nothing here imports click: the commands are in workshop/cli/room.py.
"""
