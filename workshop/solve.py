"""Runs a step's solution: each command printed, then run for real with its real output.

Interactive commands (`docker container run -it ...`) get a real pseudo-terminal through pexpect,
and the lines the lab lists are typed at the container's prompt, as a learner would type them.
Ctrl-C then stops the one container that command started: the kit adds `--cidfile` to the run it
types (the command shown stays as the lab shows it), so docker says which container that is.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from workshop.errors import WorkshopError
from workshop.labs import Command, Step

# a shell's prompt, when the lab does not say its own (`prompt = "/ # "` in its manifest)
PROMPT = re.compile(r"[#$] ")
# a line editor may ask the terminal where the cursor is (DSR) and wait for the answer; a real
# terminal answers at once, and so must we, or the typed line is eaten as the answer.
CURSOR_QUERY = re.compile(r"\x1b\[6n")
CURSOR_REPLY = "\x1b[1;1R"
TIMEOUT = 120


def _resolve(command: Command, probe: Callable[[str], str] | None, cwd: Path | None) -> str:
    """Fill `<NAME>` placeholders: `probe:FUNCTION` asks the lab's checks module (which knows,
    say, which container holds the learner's file); anything else is a shell command whose
    output is used."""
    text = command.run
    for name, finder in command.where.items():
        if finder.startswith("probe:"):
            if probe is None:
                raise WorkshopError(f"`{command.run}` needs the lab's checks to fill <{name}>.")
            text = text.replace(f"<{name}>", probe(finder.removeprefix("probe:")))
            continue
        found = subprocess.run(
            finder, shell=True, capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=cwd
        )
        value = found.stdout.strip().split("\n")[0].strip()
        if found.returncode != 0 or not value:
            raise WorkshopError(
                f"Could not work out <{name}> for `{command.run}` (`{finder}` found nothing): "
                "do the earlier steps first (`workshop goto` catches you up)."
            )
        text = text.replace(f"<{name}>", value)
    return text


def _require_program(argv: list[str]) -> None:
    if argv and shutil.which(argv[0]) is None:
        which = " (the Docker CLI: Docker Desktop includes it)" if argv[0] == "docker" else ""
        raise WorkshopError(
            f"`{argv[0]}` is not on your PATH: install {argv[0]}{which}, then run this again."
        )


def run_command(
    command: Command,
    out: TextIO | None = None,
    probe: Callable[[str], str] | None = None,
    cwd: Path | None = None,
    tee=None,
) -> None:
    """Print and run one solution command (in `cwd`: the kit's folder, as the labs assume);
    raise WorkshopError if it fails. `tee` (an instructor's demo stream) is told each command
    before it runs (`tee.command(text)`) and given its output as it comes (`tee.output(text)`)."""
    out = out or sys.stdout
    text = _resolve(command, probe, cwd)
    argv = shlex.split(text)
    _require_program(argv)
    out.write(f"$ {text}\n")
    out.flush()
    if tee is not None:
        tee.command(text)
    try:
        if command.interactive or _wants_terminal(argv):
            prompt = re.compile(re.escape(command.prompt)) if command.prompt else PROMPT
            code = _run_interactive(argv, command.type, out, cwd, tee, prompt)
        else:
            code = _run_plain(argv, out, cwd, tee)
    finally:
        if tee is not None:
            tee.flush()
    if code != 0:
        raise WorkshopError(f"`{text}` failed with exit code {code}; its output is above.")


def _wants_terminal(argv: list[str]) -> bool:
    """`docker run -it ...` (or exec/create, with -t or --tty): docker refuses to run it without
    a terminal ("the input device is not a TTY"), so it gets a pseudo-terminal even when nothing
    is typed into it (a shell running a script, say)."""
    if not argv or Path(argv[0]).name not in ("docker", "docker.exe"):
        return False
    words = argv[1:]
    if words[:1] == ["container"]:
        words = words[1:]
    if words[:1] not in (["run"], ["exec"], ["create"]):
        return False
    return any(_asks_terminal(word) for word in words[1:])


def _asks_terminal(word: str) -> bool:
    """`--tty`, `--tty=true`, or a cluster of short options with `t` in it (`-t`, `-it`, `-dit`)."""
    if word.startswith("--"):
        return word == "--tty" or (word.startswith("--tty=") and word != "--tty=false")
    return word.startswith("-") and word[1:].isalpha() and "t" in word


def _run_plain(argv: list[str], out: TextIO, cwd: Path | None, tee=None) -> int:
    if out is sys.stdout and tee is None:  # straight to the terminal, as it happens
        return subprocess.run(argv, stdin=subprocess.DEVNULL, cwd=cwd).returncode
    with subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    ) as process:
        for line in process.stdout:
            out.write(line)
            if tee is not None:
                out.flush()  # the terminal and the demo page see it as it comes
                tee.output(line)
    return process.returncode


def _run_interactive(
    argv: list[str], lines: tuple[str, ...], out: TextIO, cwd, tee=None, prompt=PROMPT
) -> int:
    try:
        import pexpect
    except ImportError:
        raise WorkshopError(
            "Typing into an interactive container needs pexpect, which does not run on Windows: "
            "type these commands yourself, or use WSL."
        ) from None
    if out is sys.stdout or tee is not None:  # a terminal would answer the cursor query
        out = _WithoutCursorQueries(out, tee)
    with tempfile.TemporaryDirectory(prefix="workshop-") as scratch:
        cidfile = Path(scratch) / "cid"  # docker writes the id of the container it makes there
        spawned = _with_cidfile(argv, cidfile)
        child = pexpect.spawn(
            spawned[0],
            spawned[1:],
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(24, 100),
            cwd=cwd,
        )
        child.logfile_read = out
        try:
            for line in lines:
                _await_prompt(child, prompt)
                child.sendline(line)
            child.expect(pexpect.EOF)
        except pexpect.TIMEOUT:
            child.terminate(force=True)
            raise WorkshopError(
                f"`{shlex.join(argv)}` showed no prompt within {TIMEOUT} s; is the engine busy? "
                "Try again, or type the commands yourself."
            ) from None
        except pexpect.EOF:
            child.close()
            raise WorkshopError(
                f"`{shlex.join(argv)}` ended before all its lines were typed (exit code "
                f"{child.exitstatus}); its output is above."
            ) from None
        except KeyboardInterrupt:
            child.terminate(force=True)  # the client first, so that it makes nothing more
            _stop_container_in(cidfile)  # the container this command started: stopped, kept
            raise
        finally:
            out.write("\n")
            if child.isalive():  # an error above: leave no docker client behind
                child.terminate(force=True)
        child.close()
    return child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)


def _with_cidfile(argv: list[str], cidfile: Path) -> list[str]:
    """`docker [container] run ...` with `--cidfile FILE` added after `run` (what the learner sees
    stays as the lab shows it), so that Ctrl-C stops exactly the container it started. Any other
    command is returned as it is."""
    if not argv or Path(argv[0]).name not in ("docker", "docker.exe"):
        return argv
    words = argv[1:3]
    if words[:1] == ["run"]:
        at = 2
    elif words == ["container", "run"]:
        at = 3
    else:
        return argv
    if any(word == "--cidfile" or word.startswith("--cidfile=") for word in argv):
        return argv
    return [*argv[:at], "--cidfile", str(cidfile), *argv[at:]]


def _stop_container_in(cidfile: Path) -> None:
    """Stop (not remove) the container whose id docker wrote to `cidfile`, if it made one: with
    its terminal gone it would idle on. Any other container is left alone."""
    from docker.errors import NotFound

    from workshop.engine import client

    try:
        container_id = cidfile.read_text().strip()
    except OSError:  # Ctrl-C came before docker made the container
        return
    if container_id:
        with contextlib.suppress(NotFound):
            client().api.stop(container_id, timeout=1)


def _await_prompt(child, prompt=PROMPT) -> None:
    import pexpect

    while child.expect([CURSOR_QUERY, prompt]) == 0:
        child.send(CURSOR_REPLY)
    try:  # the query may follow the prompt; then the prompt is drawn again after the answer
        child.expect(CURSOR_QUERY, timeout=0.5)
    except pexpect.TIMEOUT:
        return
    child.send(CURSOR_REPLY)
    child.expect([prompt, pexpect.TIMEOUT], timeout=0.5)  # some shells redraw it, some do not


class _WithoutCursorQueries:
    """Shows a container's output without the cursor-position queries our pty already answered
    (and passes it to the instructor's demo stream, if any)."""

    def __init__(self, out: TextIO, tee=None):
        self.out = out
        self.tee = tee

    def write(self, text: str) -> int:
        shown = text.replace("\x1b[6n", "")
        if self.tee is not None and shown:
            self.tee.output(shown)
        return self.out.write(shown)

    def flush(self) -> None:
        self.out.flush()


def solve(
    step: Step,
    out: TextIO | None = None,
    probe: Callable[[str], str] | None = None,
    cwd: Path | None = None,
    tee=None,
) -> None:
    for command in step.solution:
        run_command(command, out, probe, cwd, tee)
