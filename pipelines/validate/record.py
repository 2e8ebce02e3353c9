"""The validation record's data: requirements, their tallies and every disagreement."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, NOT_TESTED = "pass", "fail", "not-tested"
MAX_LISTED = 1_000_000  # disagreements listed per requirement (every one, in practice)


@dataclass(frozen=True)
class Requirement:
    """What is tested, against what truth made by whom, and when it passes."""

    id: str
    title: str
    test: str
    truth: str
    made_by: str
    criterion: str


@dataclass(frozen=True)
class Finding:
    image: str
    item: str
    devicex: str
    truth: str
    note: str = ""


@dataclass(frozen=True)
class TruthFault:
    """A difference where the truth tool is wrong, with the raw evidence."""

    image: str
    item: str
    devicex: str
    truth: str
    fault: str
    reasons: tuple[str, ...]
    evidence: str


@dataclass
class Tally:
    requirement: Requirement
    compared: int = 0
    agreed: int = 0
    disagreements: list[Finding] = field(default_factory=list)
    truth_faults: list[TruthFault] = field(default_factory=list)
    known_limits: list[Finding] = field(default_factory=list)  # devicex's value is a stated known limitation
    images: set[str] = field(default_factory=set)
    note: str = ""
    tested: bool = True

    def agree(self, image: str, n: int = 1) -> None:
        self.compared += n
        self.agreed += n
        self.images.add(image)

    def disagree(self, finding: Finding) -> None:
        self.compared += 1
        self.disagreements.append(finding)
        self.images.add(finding.image)

    def fault(self, fault: TruthFault) -> None:
        self.compared += 1
        self.truth_faults.append(fault)
        self.images.add(fault.image)

    def limited(self, finding: Finding) -> None:
        """devicex's value is wrong in a way the record states as a known limitation (not a pass)."""
        self.compared += 1
        self.known_limits.append(finding)
        self.images.add(finding.image)

    @property
    def status(self) -> str:
        if not self.tested or self.compared == 0:
            return NOT_TESTED
        return PASS if not self.disagreements else FAIL

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self.requirement), "status": self.status, "compared": self.compared,
                "agreed": self.agreed, "disagreed": len(self.disagreements),
                "truth_tool_faults": len(self.truth_faults), "known_limitation": len(self.known_limits),
                "images": len(self.images), "note": self.note,
                "disagreements": [asdict(f) for f in self.disagreements[:MAX_LISTED]],
                "truth_tool_fault_list": [asdict(f) for f in self.truth_faults[:MAX_LISTED]],
                "known_limitation_list": [asdict(f) for f in self.known_limits[:MAX_LISTED]]}
