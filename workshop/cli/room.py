"""The offline room's commands (the instructor's): the room group (prepare, serve-images,
check) and the bundle group (save, load). The work is in workshop.room."""

from __future__ import annotations

import click

from workshop import render
from workshop.cli._shared import boundary, passed
from workshop.errors import Exit

STORE_HELP = (
    "The room store folder (default: WORKSHOP_ROOM_STORE, else the user data folder's "
    "workshop/room)."
)


def _store(path):
    from workshop.room.store import Store

    return Store(path)


def _python(version: str) -> str:
    import re

    if not re.fullmatch(r"3\.\d+", version):
        raise click.BadParameter(f"{version!r} is not a Python version: write it as 3.12.")
    return version


def _say(line: str) -> None:
    click.echo(line)


@click.group(short_help="The offline room: images and packages served from your machine.")
def room():
    """The offline room: every image and Python package the course needs, kept on the
    instructor's machine and served to the room (a registry mirror and a package index).

    `prepare` fetches them (online, once), `serve-images` serves them, `check` says whether
    the room is ready; `workshop bundle save/load` carries the store to another machine.

    Example: workshop room prepare && workshop room serve-images
    """


@room.command(short_help="Fetch every image (by digest) and wheel the course needs.")
@click.option(
    "--upstream",
    default="https://registry-1.docker.io",
    show_default=True,
    metavar="URL",
    help="The registry the images come from (Docker Hub, or a registry of yours).",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="A platform the room's laptops have; repeat it (default: linux/amd64 and linux/arm64).",
)
@click.option("--store", "store_dir", metavar="DIR", envvar="WORKSHOP_ROOM_STORE", help=STORE_HELP)
@click.option(
    "--python",
    "pythons",
    multiple=True,
    metavar="X.Y",
    help="Also download wheels for this Python (repeat it; default: the Python of the "
    "course's python images, from their tag and PYTHON_VERSION).",
)
@click.option(
    "--pypi",
    metavar="URL",
    help="The package index wheels come from (default: pip's own configuration, PyPI).",
)
@boundary
def prepare(upstream, platforms, store_dir, pythons, pypi):
    """Fetch every image the labs need, by digest, for the room's platforms, and the Python
    wheels their builds install, into the room store. Run it online, before class; a second
    run fetches only what changed upstream.

    The images go through the CNCF distribution registry (Debian's `docker-registry`) run as a
    pull-through cache of the upstream on the store; the wheels come from `pip download` for
    the images' Python and each platform.

    Example: workshop room prepare --platform linux/amd64 --platform linux/arm64
    """
    from workshop.room.prepare import DEFAULT_PLATFORMS, human
    from workshop.room.prepare import prepare as run

    store = _store(store_dir)
    done = run(
        store,
        upstream=upstream,
        platforms=platforms or DEFAULT_PLATFORMS,
        say=_say,
        index=pypi,
        pythons=tuple(_python(p) for p in pythons),
    )
    for note in done.notes:
        render.say(note, looks=("yellow",))
    if done.failed:
        render.failed(
            f"{len(done.failed)} image(s) could not be fetched (the rest is in {store.root}):"
        )
        for line in done.failed:
            click.echo(f"  - {line}")
        raise SystemExit(Exit.ERROR)
    passed(
        f"The room store {store.root} holds {done.images} images; this run fetched "
        f"{done.blobs_fetched} blobs ({human(done.bytes_fetched)}) and {done.wheels_fetched} "
        f"wheels in {done.seconds:.1f} s."
    )


@room.command("serve-images", short_help="Serve the room a registry mirror and package index.")
@click.option("--store", "store_dir", metavar="DIR", envvar="WORKSHOP_ROOM_STORE", help=STORE_HELP)
@click.option(
    "--host", default="0.0.0.0", show_default=True, help="Address to listen on (both servers)."
)
@click.option(
    "--registry-port", default=5000, show_default=True, type=int, help="The mirror's port."
)
@click.option("--index-port", default=3141, show_default=True, type=int, help="The index's port.")
@click.option(
    "--online/--offline",
    default=False,
    show_default=True,
    help="--online: pull through from the upstream what the store lacks, and keep it.",
)
@click.option(
    "--upstream",
    default="https://registry-1.docker.io",
    show_default=True,
    metavar="URL",
    help="With --online: the registry to pull through from.",
)
@boundary
def serve_images(store_dir, host, registry_port, index_port, online, upstream):
    """Serve the room, from the room store, a registry mirror (the CNCF distribution registry)
    and a Python package index (the store's static PEP 503 index), and print exactly what a
    learner sets. Ctrl-C (or SIGTERM) stops both.

    Example: workshop room serve-images --host 0.0.0.0
    """
    from workshop.room.serve import serve

    serve(
        _store(store_dir),
        host=host,
        registry_port=registry_port,
        index_port=index_port,
        online=online,
        upstream=upstream,
        say=_say,
    )


@room.command(short_help="Is the room ready? Mirror, every image, index, disk.")
@click.option("--store", "store_dir", metavar="DIR", envvar="WORKSHOP_ROOM_STORE", help=STORE_HELP)
@click.option(
    "--mirror",
    default="http://127.0.0.1:5000",
    show_default=True,
    metavar="URL",
    help="The room's registry mirror.",
)
@click.option(
    "--index",
    default="http://127.0.0.1:3141/simple/",
    show_default=True,
    metavar="URL",
    help="The room's package index.",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="OS/ARCH",
    help="Check this platform (repeat it; default: those the store holds).",
)
@boundary
def check(store_dir, mirror, index, platforms):
    """The room's own health: the mirror answers and serves every image the course needs for
    each platform; the package index answers and every requirements file resolves from it
    alone; the store's disk has room. Exit 0 when ready, else 1 with the list of what is
    missing.

    Example: workshop room check --mirror http://192.168.1.20:5000
    """
    from workshop.room.check import check as run

    health = run(_store(store_dir), mirror=mirror, index=index, platforms=platforms)
    for line in health.ok:
        passed(line)
    for line in health.notes:
        render.say(line, looks=("yellow",))
    if health.missing:
        render.failed(f"The room is not ready: {len(health.missing)} missing:")
        for line in health.missing:
            click.echo(f"  - {line}")
        raise SystemExit(Exit.ERROR)
    passed("The room is ready.")


@click.group(short_help="Carry the room store to another machine as one file.")
def bundle():
    """One file holding the whole room store, with a checksum manifest read first.

    Example: workshop bundle save room.tar; workshop bundle load room.tar
    """


@bundle.command(short_help="Write the room store to FILE.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--store", "store_dir", metavar="DIR", envvar="WORKSHOP_ROOM_STORE", help=STORE_HELP)
@boundary
def save(file, store_dir):
    """Write everything in the room store (images, wheels, room.json) to FILE, a tar file whose
    first member lists every other member's size and sha256.

    Example: workshop bundle save /media/usb/room.tar
    """
    from pathlib import Path

    from workshop.room import bundle as bundle_mod
    from workshop.room.prepare import human

    count, size = bundle_mod.save(_store(store_dir), Path(file), say=_say)
    passed(f"{file}: {count} files, {human(size)}.")


@bundle.command(short_help="Check FILE whole, then load it into the store (and the engine).")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--store", "store_dir", metavar="DIR", envvar="WORKSHOP_ROOM_STORE", help=STORE_HELP)
@click.option(
    "--engine/--no-engine",
    default=True,
    show_default=True,
    help="Also load the images into the local Docker engine, when one answers.",
)
@boundary
def load(file, store_dir, engine):
    """Verify every file in the bundle FILE (size and sha256, in order, nothing extra) before
    anything is written; a truncated, altered or foreign file is refused and nothing is
    loaded. Then fill the room store, and load the images for the engine's platform into the
    local engine under the names learners type (image IDs as at the source).

    Example: workshop bundle load /media/usb/room.tar
    """
    from pathlib import Path

    from workshop.room import bundle as bundle_mod

    store = _store(store_dir)
    bundle_mod.load(store, Path(file), say=_say)
    if not engine:
        return
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception:
        render.say(
            "No Docker engine answers: the images are in the room store only "
            "(`workshop room serve-images` serves them).",
            looks=("yellow",),
        )
        return
    try:
        ids = bundle_mod.into_engine(store, say=_say, client=client)
    except bundle_mod.FarEngine as exc:  # the store is loaded: that is said, not an error
        render.say(str(exc), looks=("yellow",))
        return
    passed(f"{len(ids)} images loaded into the engine.")


COMMANDS = [room, bundle]
