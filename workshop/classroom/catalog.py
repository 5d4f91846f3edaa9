"""What the server accepts: the kit's labs, their steps in order, and each lab's mistake ids."""

from __future__ import annotations

from dataclasses import dataclass


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
    from workshop.labs import GENERIC_MISTAKES, load_labs, mistakes

    labs = load_labs(labs_dir)
    return Catalog(
        steps=tuple(StepInfo(lab.id, s.id, s.title) for lab in labs for s in lab.steps),
        mistakes={lab.id: frozenset(mistakes(lab)) | GENERIC_MISTAKES for lab in labs},
    )
