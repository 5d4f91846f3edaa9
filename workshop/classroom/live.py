"""One worker's view of the room: folded from the store as reports arrive, shared by its pages.

Several workers (PostgreSQL) each fold the same store, so every dashboard sees every report
whichever worker took it. PostgreSQL hands out report ids before commit, so a report may become
visible after one with a higher id: the last `store.lag` ids are read again and folded once.
"""

from __future__ import annotations

import json
import threading

from workshop.classroom.catalog import Catalog
from workshop.classroom.room import Room, Rules
from workshop.classroom.store import Store

PAGE = 5000


class Live:
    def __init__(self, store: Store, catalog: Catalog, rules: Rules):
        self.store = store
        self.room = Room(catalog, rules)
        self.cursor = 0
        self._seen: set[int] = set()
        self._people = 0
        self._mutex = threading.Lock()

    def refresh(self) -> tuple[int, int]:
        """Fold what is new in the store; returns (cursor, learners) to tell a change."""
        with self._mutex:
            top, people = self.store.version()
            if people != self._people:
                for learner_id, name, role, joined, kit in self.store.learners():
                    self.room.join(learner_id, name, role, joined, kit)
                self._people = people
            lag = self.store.lag
            while lag or top > self.cursor:
                rows = self.store.reports_after(max(0, self.cursor - lag), PAGE)
                for report_id, learner_id, kind, at, data in rows:
                    if report_id not in self._seen:
                        self.room.apply(learner_id, kind, at, json.loads(data))
                        self._seen.add(report_id)
                if rows:
                    self.cursor = max(self.cursor, rows[-1][0])
                if len(rows) < PAGE:
                    break
            floor = self.cursor - lag
            self._seen = {i for i in self._seen if i > floor}
            return self.cursor, self._people

    def view(self, now: float) -> dict:
        with self._mutex:
            return self.room.view(now)

    def demo(self, limit: int = 500) -> tuple[int, list[dict]]:
        """(version, the latest entries): copies, since the current command's entry changes."""
        with self._mutex:
            return self.room.demo_version, self.room.demo_view(limit)
