"""Editing an event's schedule after creation: the pure rule (values in, the new schedule or
one error naming the field out).

Staff add, remove or change milestones that are still **open** (not paid, not being charged,
not failed or waived: those are history, and a paid milestone never changes). The schedule
that results must pass every rule of a new schedule (``rules.check_schedule``: exactly one
remainder, due last; percentages adding up to at most 100%, counting the paid ones; unique
names). Changes apply in one order: removals, then changes, then additions, so one edit can
swap a milestone for another of the same name only through ``change``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from billing.errors import InvalidSchedule
from billing.events import rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    add: Sequence[rules.Milestone] = ()
    change: Sequence[rules.Milestone] = ()  # by name: the milestone's new rule
    remove: Sequence[str] = ()

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.remove)


def apply(
    milestones: Sequence[rules.Milestone], edit: Edit, *, open_names: Collection[str]
) -> list[rules.Milestone]:
    """The schedule after ``edit``, in due order; ``open_names``: the milestones that may
    still change. Refuses (``InvalidSchedule`` naming the field) before anything is written."""
    if edit.empty:
        raise InvalidSchedule("nothing to change: give --add, --set or --remove",
                              field="schedule")  # fmt: skip
    by_name = {m.name: m for m in milestones}
    touched = [*edit.remove, *(m.name for m in edit.change)]
    if len(set(touched)) != len(touched):
        raise InvalidSchedule("each milestone may be named once per edit", field="schedule")
    for name, op in [*((n, "remove") for n in edit.remove),
                     *((m.name, "change") for m in edit.change)]:  # fmt: skip
        if name not in by_name:
            raise InvalidSchedule(f"the event has no milestone {name!r}", field=op)
        if name not in open_names:
            raise InvalidSchedule(f"milestone {name} is no longer open (paid, being charged, "
                                  "failed or waived): it never changes", field=op)  # fmt: skip
    for m in edit.add:
        if m.name in by_name and m.name not in edit.remove:
            raise InvalidSchedule(f"the event already has a milestone {m.name!r}: change it "
                                  "with --set", field="add")  # fmt: skip
    result = {n: m for n, m in by_name.items() if n not in edit.remove}
    result |= {m.name: m for m in edit.change}
    result |= {m.name: m for m in edit.add}
    schedule = rules.in_due_order(list(result.values()))
    rules.check_schedule(schedule)
    return schedule
