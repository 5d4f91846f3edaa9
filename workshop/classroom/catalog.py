"""What the server accepts: the kit's labs, their steps in order, and each lab's mistake ids."""

from __future__ import annotations

from dataclasses import dataclass

from workshop.labs import differences, digest, summary


@dataclass(frozen=True)
class StepInfo:
    lab: str
    id: str
    title: str


@dataclass(frozen=True)
class Catalog:
    steps: tuple[StepInfo, ...]  # every step of every lab, in course order
    # lab id -> the mistake ids its checks can name: those it declares, and the kit's generic ones
    mistakes: dict[str, frozenset[str]]
    inventory: tuple[dict, ...] = ()  # workshop.labs.inventory of the server's labs
    version: str = ""  # the server's kit version

    @property
    def digest(self) -> str:
        return digest(list(self.inventory))

    def newer(self, kit: dict | None) -> bool:
        """The kit holds every lab, step and mistake id of the server's, and more: it is the
        newer one (the fix is the instructor's)."""
        if kit is None:
            return False
        theirs = {lab["id"]: lab for lab in kit["labs"]}
        for lab in self.inventory:
            other = theirs.get(lab["id"])
            if other is None or list(lab["steps"]) != [
                s for s in other["steps"] if s in lab["steps"]
            ]:
                return False
            if not set(lab["mistakes"]) <= set(other["mistakes"]):
                return False
        return digest(kit["labs"]) != self.digest

    def compare(self, kit: dict | None) -> tuple[dict, str]:
        """A learner's kit (as join sent it, validated; None from a client too old to send it)
        against the server's: the `kit` object the room keeps for them ({version, digest,
        differs, what}: `what` a sentence for the dashboard), and what differs as a phrase with
        the kit as subject for the learner ("lacks step 'x' of lab 'y'"), "" when nothing."""
        if kit is None:
            yours = f"is older than the room's {self.version} (it does not say its version)"
            return {"version": "", "digest": "", "differs": True, "what": f"Their kit {yours}."}, (
                yours
            )
        theirs = kit["labs"]
        phrases = differences(theirs, list(self.inventory))
        # the release, not the commit: a clone at another commit, or one whose tracked files the
        # learner edited (the Mysfits lab asks for that), holds the same labs (the digest says)
        if _release(kit["version"]) != _release(self.version):
            phrases.insert(0, f"is version {kit['version']}, the room runs {self.version}")
        yours = summary(phrases)
        record = {
            "version": kit["version"],
            "digest": digest(theirs),
            "differs": bool(phrases),
            "what": f"Their kit {yours}." if phrases else "",
        }
        return record, yours

    def lab_of(self, step_id: str) -> str | None:
        for step in self.steps:
            if step.id == step_id:
                return step.lab
        return None

    def knows(self, lab: str, step: str) -> bool:
        return any(s.lab == lab and s.id == step for s in self.steps)

    def index(self, step_id: str) -> int:
        return next(n for n, s in enumerate(self.steps) if s.id == step_id)

    def to_json(self) -> list[dict]:
        return [{"lab": s.lab, "id": s.id, "title": s.title} for s in self.steps]


def load(labs_dir=None) -> Catalog:
    """The kit's labs (WORKSHOP_LABS or the clone's labs/), read once when the server starts."""
    from workshop.labs import GENERIC_MISTAKES, inventory, load_labs, mistakes
    from workshop.version import kit_version

    labs = load_labs(labs_dir)
    return Catalog(
        steps=tuple(StepInfo(lab.id, s.id, s.title) for lab in labs for s in lab.steps),
        mistakes={lab.id: frozenset(mistakes(lab)) | GENERIC_MISTAKES for lab in labs},
        inventory=tuple(inventory(labs)),
        version=kit_version(),
    )


def _release(version: str) -> str:
    """`0.2.0` of `0.2.0 (git 1a238f3, modified)`."""
    return version.split(" ", 1)[0]
