"""Wording that reads as opinion in a statement of fact (FSR non-expert technical statements: facts only;
any opinion brings in the CrimPR Part 19 expert rules). A flag, never a rewrite: the examiner decides."""
from __future__ import annotations

import re

# word or phrase -> why it is flagged
PHRASES = {
    "in my opinion": "states an opinion",
    "i believe": "states a belief",
    "i think": "states a belief",
    "suggests": "draws an inference",
    "indicates": "draws an inference",
    "consistent with": "evaluative comparison",
    "likely": "a probability judgement",
    "probably": "a probability judgement",
    "appears to": "an interpretation",
    "clearly": "an evaluative adverb",
    "obviously": "an evaluative adverb",
    "deliberately": "attributes intent",
    "intentionally": "attributes intent",
    "must have": "an inference stated as fact",
    "proves": "a conclusion for the court",
}
_PATTERN = re.compile(r"\b(" + "|".join(re.escape(p) for p in PHRASES) + r")\b", re.IGNORECASE)


def flags(text: str) -> list[tuple[str, str, str]]:
    """(phrase, why, the sentence it is in) for every opinion-like phrase in ``text``, in order."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        for m in _PATTERN.finditer(sentence):
            found.append((m.group(1), PHRASES[m.group(1).lower()], sentence.strip()))
    return found
