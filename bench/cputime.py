"""CPU time of process trees and of the whole machine, read from /proc.

On two shared cores a delivery figure means little without who spent the CPU
meanwhile: the service, PostgreSQL, the subscriber clients, or something else
on the machine (the `other` share: everything the machine did that none of
the named process trees did)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench import harness

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Spent:
    user: float
    system: float

    @property
    def total(self) -> float:
        return self.user + self.system

    def __sub__(self, other: Spent) -> Spent:
        return Spent(self.user - other.user, self.system - other.system)


def of_trees(pids: Sequence[int]) -> Spent:
    """User and system CPU seconds of `pids` and everything under them."""
    user = system = 0
    for pid in {found for root in pids for found in harness.process_tree(root)}:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        user += int(fields[11])
        system += int(fields[12])
    return Spent(user / _TICK, system / _TICK)


def of_machine() -> Spent:
    """Busy CPU seconds of the whole machine (all cores): user+nice, system+irq+softirq."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return Spent((user + nice) / _TICK, (system + irq + softirq) / _TICK)


class Meter:
    """CPU spent by named process trees, and by the rest of the machine, between start and stop."""

    def __init__(self, groups: Mapping[str, Sequence[int]]) -> None:
        self.groups = dict(groups)
        self._before = {name: of_trees(pids) for name, pids in self.groups.items()}
        self._machine = of_machine()
        self.spent: dict[str, Spent] = {}

    def stop(self) -> dict[str, Spent]:
        self.spent = {name: of_trees(pids) - self._before[name] for name, pids in self.groups.items()}
        machine = of_machine() - self._machine
        user = machine.user - sum(s.user for s in self.spent.values())
        system = machine.system - sum(s.system for s in self.spent.values())
        self.spent["other"] = Spent(max(0.0, user), max(0.0, system))
        return self.spent

    def describe(self) -> str:
        return ", ".join(f"{name} {s.total:.1f} s (system {s.system:.1f})" for name, s in self.spent.items())
