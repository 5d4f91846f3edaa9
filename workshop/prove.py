"""`workshop prove LAB`: a lab proves itself on the author's own engine.

In a private state folder (its own WORKSHOP_HOME, so a learner's progress and journal are never
touched) it begins the lab and claims, one line each:
- no step's check passes on an untouched engine (nothing done since the lab began);
- then, step by step in order: its check fails before its solution; each declared mistake's
  reproducer, once run, makes the check name that mistake; its solution (run as `workshop solve`
  runs it, interactive shells typed through a pseudo-terminal) makes the check pass.
Each mistake is judged alone, as a learner who made only that one would be: before a step's
second reproducer (and before its solution, once a reproducer ran) the proof undoes what it made
and begins a new learner (a new state folder) with the earlier steps solved again. A mistake no
command can make says why (`unreproducible`) and is not run.
A lab that `builds_on` others has theirs solved first. At the end it undoes what it made, and
nothing else: containers it created (while its own commands ran), tags on images the labs build
(a tag that named another image before the proof is put back on it),
volumes and networks the labs name that were made while it ran, and kit files a lab edits (put
back as they were before, not as git has them). Images it pulled stay, as `workshop reset` keeps
them.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from workshop.errors import WorkshopError
from workshop.labs import Command, Lab, Step, find_lab, load_labs, require_builds_on

# Margin around the windows of prove's own commands (both ends read on the engine's clock, so
# only rounding is covered); volumes carry whole seconds, so theirs is compared to the second.
SLACK = timedelta(milliseconds=50)


@dataclass
class Outcome:
    """What a proof found: each claim (held or not, its sentence), and what it left behind."""

    claims: list[tuple[bool, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what the cleanup could not undo

    @property
    def proven(self) -> bool:
        return bool(self.claims) and all(ok for ok, _ in self.claims)


def chain(labs: list[Lab], lab: Lab) -> list[Lab]:
    """The labs `lab` builds on (theirs first, each once), then `lab`."""
    order: list[Lab] = []

    def visit(current: Lab, path: tuple[str, ...]) -> None:
        if current.id in path:
            raise WorkshopError(f"Lab {current.id!r} builds on itself through {' -> '.join(path)}.")
        for earlier in getattr(current, "builds_on", ()) or ():
            visit(find_lab(labs, earlier), (*path, current.id))
        if current not in order:
            order.append(current)

    require_builds_on(labs, lab)
    visit(lab, ())
    return order


@contextlib.contextmanager
def private_home() -> Iterator[Path]:
    """A fresh WORKSHOP_HOME for the proof, removed after it; the learner's is untouched."""
    before = os.environ.get("WORKSHOP_HOME")
    with tempfile.TemporaryDirectory(prefix="workshop-prove-") as folder:
        os.environ["WORKSHOP_HOME"] = folder
        try:
            yield Path(folder)
        finally:
            if before is None:
                os.environ.pop("WORKSHOP_HOME", None)
            else:
                os.environ["WORKSHOP_HOME"] = before


class _Prover:
    def __init__(self, labs: list[Lab], lab: Lab, say: Callable[[bool, str], None]):
        from workshop.engine import client

        self.labs = chain(labs, lab)
        self.lab = lab
        self.say = say
        self.engine = client()
        self.outcome = Outcome()
        self.windows: list[tuple[datetime, datetime]] = []
        self.tags_before = self.tags_of_builds()
        self.every_tag_before = self.every_tag()
        self.base = Path(os.environ.get("WORKSHOP_HOME") or tempfile.gettempdir())
        self.round = 0  # learners begun so far, each in a state folder of their own
        self.edits = KeptEdits(self.labs)

    def tags_of_builds(self) -> dict[str, str]:
        """The image each tag the labs build names now (the author's own builds, say)."""
        from workshop.probes import image_named

        found = {}
        for lab in self.labs:
            for tag in lab.builds:
                image = image_named(self.engine, tag)
                if image is not None:
                    found[tag] = image.id
        return found

    def every_tag(self) -> set[str]:
        return {tag for image in self.engine.api.images() for tag in image.get("RepoTags") or []}

    def untag_new(self) -> list[str]:
        """Tags on the labs' repositories that were not there before the proof (a reproducer's
        `docker image tag alpine alpine:3.20`), taken off again: the next learner begins without
        them."""
        import docker.errors

        from workshop.meaning import same_repo

        names = [name for lab in self.labs for name in lab.images + lab.builds]
        problems = []
        for tag in sorted(self.every_tag() - self.every_tag_before):
            if not any(same_repo(tag, name) or same_repo(name, tag) for name in names):
                continue
            built = any(same_repo(tag, name) for lab in self.labs for name in lab.builds)
            if not built and not self.tagged_by_me(tag):
                continue  # someone else's, made while the proof ran (a lab's own build
                # repository is the lab's: BuildKit's containerd store logs no `tag` event)
            try:
                self.engine.api.remove_image(tag, force=True, noprune=True)  # in use: untag only
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as exc:
                problems.append(f"tag {tag}: {exc.explanation or exc}")
        return problems

    def tagged_by_me(self, tag: str) -> bool:
        """The engine's log says `tag` was applied while one of the proof's commands ran."""
        from workshop.meaning import same_image

        if not self.windows:
            return False
        # whole seconds (the engine's log is asked in seconds): one more each side
        since = int(self.windows[0][0].timestamp()) - 1
        until = int(self.now().timestamp()) + 1
        for event in self.engine.events(
            since=since, until=until, filters={"type": "image", "event": "tag"}, decode=True
        ):
            name = ((event.get("Actor") or {}).get("Attributes") or {}).get("name", "")
            stamp = event.get("timeNano")
            when = datetime.fromtimestamp(stamp / 1e9, tz=UTC) if stamp else None
            if same_image(name, tag) and self.mine(when):
                return True
        return False

    def restore_tags(self) -> list[str]:
        """Put back the tags the labs build on the images they named before the proof."""
        import docker.errors

        from workshop.probes import image_named

        problems = []
        for tag, ident in self.tags_before.items():
            now = image_named(self.engine, tag)
            if now is not None and now.id == ident:
                continue
            last = tag.rsplit("/", 1)[-1]
            repository, name = tag.rsplit(":", 1) if ":" in last else (tag, "latest")
            try:
                self.engine.api.tag(ident, repository, name, force=True)
            except docker.errors.NotFound:
                continue  # the image itself is gone (nothing prove did removes it)
            except docker.errors.APIError as exc:
                problems.append(f"tag {tag}: {exc.explanation or exc}")
        return problems

    def claim(self, ok: bool, text: str) -> bool:
        self.outcome.claims.append((ok, text))
        self.say(ok, text)
        return ok

    def now(self) -> datetime:
        from workshop.engine import engine_time

        return engine_time(self.engine)

    def verdict(self, lab: Lab, step: Step):
        from workshop import checks
        from workshop.state import Store

        return checks.evaluate(lab, step, checks.Inputs(Store().read()))

    def run(self, lab: Lab, commands: tuple[Command, ...], expect_success: bool) -> str:
        """Run commands as `workshop solve` does; returns "" or why they failed."""
        from workshop import checks, solve

        out = io.StringIO()
        began = self.now()
        try:
            for command in commands:
                try:
                    solve.run_command(command, out, checks.prober(lab), cwd=lab.root)
                except WorkshopError as exc:
                    if expect_success:
                        tail = "\n".join(out.getvalue().strip().splitlines()[-5:])
                        return f"{exc}" + (f" Its last lines:\n{tail}" if tail else "")
                    # a mistake's command may well fail (that can be the mistake): go on
        finally:
            self.windows.append((began, self.now()))
        return ""

    # -- the proof ------------------------------------------------------------------------------

    def prove(self) -> Outcome:
        self.begin(upto=0)
        verdicts = {s.id: self.verdict(self.lab, s) for s in self.lab.steps}
        untouched = [s.id for s in self.lab.steps if verdicts[s.id].passed and not s.done_untouched]
        self.claim(
            not untouched,
            "no step passes on an untouched engine"
            + (" (but those declared `done_untouched`)" if self.declared_done() else "")
            if not untouched
            else f"step(s) {', '.join(untouched)} pass on an untouched engine: a check must ask "
            "for something the learner did since the lab began",
        )
        for step in self.lab.steps:
            if step.done_untouched:
                done = verdicts[step.id]
                said = "done" if done.passed else f"not done ({done.message})"
                self.claim(
                    done.passed,
                    f"{step.id}: {said} on an untouched engine, as it declares: "
                    f"{step.done_untouched}",
                )
        for index, step in enumerate(self.lab.steps):
            if not self.prove_step(index, step):
                self.claim(False, f"the steps after {step.id} were not proven")
                break
        return self.outcome

    def begin(self, upto: int) -> bool:
        """A learner who begins now, in a state folder of their own, with the labs this one
        builds on solved and this lab's steps before `upto`: the state each claim of a step is
        judged from. False (said) if a solution failed."""
        from workshop.course import Course
        from workshop.state import Store

        self.round += 1
        home = self.base / f"learner-{self.round}"
        home.mkdir(parents=True)
        os.environ["WORKSHOP_HOME"] = str(home)
        course = Course(labs=self.labs, store=Store())
        for earlier in self.labs[:-1]:
            course.start(earlier)
            for step in earlier.steps:
                failed = self.run(earlier, step.solution, expect_success=True)
                if failed:
                    said = f"{earlier.id}/{step.id} (built on) could not be solved: {failed}"
                    return self.claim(False, said)
                # its check, as a learner's `workshop next` would: it waits for a service that
                # is still starting before the next step's commands call it
                self.verdict(earlier, step)
        course.start(self.lab)
        for step in self.lab.steps[:upto]:
            failed = self.run(self.lab, step.solution, expect_success=True)
            if failed:
                return self.claim(False, f"{step.id}: its solution failed: {failed}")
            # as in the first pass: its check passes (and waits, as a check may, for a service
            # that is still starting) before the next step's commands run
            again = self.verdict(self.lab, step)
            if not again.passed:
                return self.claim(
                    False,
                    f"{step.id}: not done after its solution when begun again: {again.message}",
                )
        return True

    def afresh(self, upto: int) -> bool:
        """Undo what the proof made so far, then begin again up to step `upto`: each mistake is
        judged alone, as a learner who made only that one would be."""
        self.undo()
        self.edits.restore()
        return self.begin(upto)

    def declared_done(self) -> bool:
        return any(step.done_untouched for step in self.lab.steps)

    def prove_step(self, index: int, step: Step) -> bool:
        lab = self.lab
        if not step.done_untouched:
            before = self.verdict(lab, step)
            self.claim(
                not before.passed,
                f"{step.id}: not done before its solution ({before.message or 'no sentence'})"
                if not before.passed
                else f"{step.id}: passes before its solution ran",
            )
        dirty = False  # a reproducer ran since this step's state was made
        for mistake in step.mistakes:
            if not mistake.reproduce:
                if mistake.unreproducible:
                    self.claim(
                        True,
                        f"{step.id}: mistake {mistake.id} is not reproduced by commands "
                        f"({mistake.unreproducible})",
                    )
                else:
                    self.claim(False, f"{step.id}: mistake {mistake.id} has no reproducer")
                continue
            if dirty and not self.afresh(index):
                return False
            dirty = True
            self.run(lab, mistake.reproduce, expect_success=False)
            seen = self.verdict(lab, step)
            if not seen.passed and seen.mistake == mistake.id:
                self.claim(True, f"{step.id}: names {mistake.id} when it is made: {seen.message}")
            else:
                said = "passes" if seen.passed else f"names {seen.mistake or 'no mistake'}"
                self.claim(
                    False,
                    f"{step.id}: after the reproducer of {mistake.id}, the check {said} "
                    f"({seen.message or 'no sentence'})",
                )
        if dirty and not self.afresh(index):
            return False
        failed = self.run(lab, step.solution, expect_success=True)
        if failed:
            return self.claim(False, f"{step.id}: its solution failed: {failed}")
        after = self.verdict(lab, step)
        return self.claim(
            after.passed,
            f"{step.id}: passes after its solution"
            if after.passed
            else f"{step.id}: still not done after its solution: {after.message}",
        )

    # -- undoing what the proof made --------------------------------------------------------------

    def mine(self, when: datetime | None, whole_seconds: bool = False) -> bool:
        """Made while one of the proof's own commands ran."""
        if when is None:
            return False
        for start, end in self.windows:
            if whole_seconds:
                start, end = start.replace(microsecond=0), end.replace(microsecond=0)
            if start - SLACK <= when <= end + SLACK:
                return True
        return False

    def undo(self) -> None:
        import docker.errors

        from workshop import reset
        from workshop.engine import parse_time
        from workshop.probes import image_named
        from workshop.state import LabProgress, Progress

        if not self.windows:
            return
        start, end = self.windows[0][0], self.windows[-1][1]
        stamp = {"started_at": start.isoformat(), "finished_at": (end + SLACK).isoformat()}
        progress = Progress({lab.id: LabProgress(**stamp) for lab in self.labs})
        doomed = []
        for item in reset.plan(self.engine, self.labs, progress):
            if item.kind == "container":
                try:
                    attrs = self.engine.api.inspect_container(item.id)
                except docker.errors.NotFound:
                    continue
                if not self.mine(parse_time(attrs["Created"])):
                    continue
            elif item.kind in ("tag", "image"):
                image = image_named(self.engine, item.id)
                if image is None or not (self.mine(image.created) or self.mine(image.last_tagged)):
                    continue
            elif item.kind in ("edit", "volume", "network"):
                continue  # edits are put back as they were; volumes and networks below
            doomed.append(item)
        doomed += self.containers_made(skip={item.id for item in doomed})
        self.outcome.problems += reset.apply(self.engine, doomed)
        self.outcome.problems += self.undo_volumes_networks()
        self.outcome.problems += self.untag_new()
        self.outcome.problems += self.restore_tags()

    def containers_made(self, skip: set[str]) -> list:
        """Containers from the labs' images made while the proof's own commands ran (a lab may
        name a repository, `python`, where reset takes a tag)."""
        from workshop import reset
        from workshop.engine import parse_time
        from workshop.meaning import same_repo

        names = [name for lab in self.labs for name in lab.images + lab.builds]
        found = []
        for summary in self.engine.api.containers(all=True):
            if summary["Id"] in skip:
                continue
            image = summary.get("Image") or ""
            if not any(same_repo(image, name) or same_repo(name, image) for name in names):
                continue
            try:
                attrs = self.engine.api.inspect_container(summary["Id"])
            except Exception:
                continue
            if self.mine(parse_time(attrs["Created"])):
                found.append(reset.Doomed("container", summary["Id"], f"container {image}"))
        return found

    def undo_volumes_networks(self) -> list[str]:
        import docker.errors

        from workshop import reset
        from workshop.probes import network_named, volume_named

        problems = []
        for lab in self.labs:
            for name in lab.volumes:
                volume = volume_named(self.engine, name)
                if volume is not None and self.mine(volume.created, whole_seconds=True):
                    try:
                        self.engine.api.remove_volume(name)
                    except docker.errors.NotFound:
                        pass
                    except docker.errors.APIError as exc:
                        problems.append(f"volume {name}: {exc.explanation or exc}")
            for name in lab.networks:
                network = network_named(self.engine, name)
                if network is not None and self.mine(network.created):
                    try:
                        reset.remove_network(self.engine, network.id)
                    except docker.errors.NotFound:
                        pass
                    except docker.errors.APIError as exc:
                        problems.append(f"network {name}: {exc.explanation or exc}")
        return problems


class KeptEdits:
    """Kit files the labs edit, as they were before the proof: `restore` puts them back exactly
    (the author's own changes included), or removes them if they did not exist."""

    def __init__(self, labs: list[Lab]):
        self.saved: dict[Path, bytes | None] = {}
        for lab in labs:
            for relative in lab.edits:
                path = lab.root / relative
                self.saved[path] = path.read_bytes() if path.is_file() else None

    def restore(self) -> None:
        for path, data in self.saved.items():
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            elif not path.is_file() or path.read_bytes() != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


def prove(
    lab_id: str, labs_dir: Path | None = None, say: Callable[[bool, str], None] | None = None
) -> Outcome:
    """Prove one lab (see the module's text); `say` is told each claim as it is made."""
    labs = load_labs(labs_dir)
    lab = find_lab(labs, lab_id)
    with private_home():
        prover = _Prover(labs, lab, say or (lambda ok, text: None))
        try:
            return prover.prove()
        finally:
            prover.undo()
            prover.edits.restore()
