"""Communications selections in the scope format: strict validation (one error naming file, key and
problem), the plain-English description and the report's one-sentence banner."""
from __future__ import annotations

import pytest

from devicex.scope import ScopeError, banner, describe, parse_text
from tests.devicex.test_scope import scope_text

GOOD = """
[[select]]
label = "messages and calls with the suspect, week of the offence"
communications = ["messages", "calls"]
participants = ["07700 900123", "Suspect@Example.com"]
apps = ["sms", "imessage", "whatsapp"]
windows = [{ start = 2024-03-01, end = 2024-03-07 }]
group_chats = "member-messages"
"""


def test_a_communications_selection() -> None:
    sc = parse_text(scope_text(GOOD), "case.toml")
    (sel,) = sc.selections
    assert sel.comms is not None and sc.comms_selections == (sel,) and sc.file_selections == ()
    assert sel.comms.kinds == {"message", "call"}
    assert sel.comms.identities == {"+447700900123", "suspect@example.com"}  # as the records are normalised
    assert sel.comms.apps == {"sms", "imessage", "whatsapp"} and sel.comms.group_chats == "member-messages"
    assert sc.needs() == "metadata"
    text = describe(sc)
    for phrase in ("communications records, not files", "it takes messages and calls as records",
                   "read but not exported", "+44 7700 900123 or suspect@example.com",
                   "only the messages a named person sent in it", "2024-03-01 00:00:00 UTC to 2024-03-07 23:59:59 UTC",
                   "no time recorded is not taken, and counted", "identity could not be resolved",
                   "attachments are exported only for the messages taken", "not even",
                   "private scratch copy outside the output folder"):
        assert phrase in text, phrase
    assert sc.as_dict()["selections"][0]["communications"]["identities"] == ["+447700900123", "suspect@example.com"]


def test_banner_in_plain_words() -> None:
    sc = parse_text(scope_text("""
[[select]]
communications = ["messages", "calls"]
participants = ["+44 7700 900123"]
windows = [{ start = 2024-03-01, end = 2024-03-07 }]
group_chats = "whole-thread"
"""))
    assert banner(sc) == "Only messages and calls between the device user and +44 7700 900123, 1 to 7 March 2024 (UTC)."
    assert banner(parse_text(scope_text('[[select]]\npaths = ["DCIM/**"]'))) is None
    two_months = parse_text(scope_text("""
[[select]]
communications = ["web"]
windows = [{ start = 2024-02-28, end = 2024-03-02 }, { start = 2024-04-01, end = 2024-04-01 }]
"""))
    assert banner(two_months) == "Only web visits and downloads, 28 February to 2 March 2024 and 1 April 2024 (UTC)."


def test_mixed_with_file_selections() -> None:
    sc = parse_text(scope_text(GOOD + '\n[[select]]\npaths = ["DCIM/**"]\n'))
    assert len(sc.comms_selections) == 1 and len(sc.file_selections) == 1


@pytest.mark.parametrize(("select", "key", "problem"), [
    ('communications = ["sms"]', "select[1].communications[1]", "unknown kind 'sms'"),
    ("communications = []", "select[1].communications", "empty list"),
    ('communications = ["messages"]\nparticipants = ["Bob"]\ngroup_chats = "exclude"', "select[1].participants[1]",
     "neither a possible phone number"),
    ('communications = ["messages"]\nparticipants = ["12"]\ngroup_chats = "exclude"', "select[1].participants[1]",
     "neither a possible phone number"),
    ('communications = ["messages"]\nparticipants = ["07700 900123"]', "select[1].group_chats",
     "missing: say how group chats"),
    ('communications = ["messages"]\nparticipants = ["07700 900123"]\ngroup_chats = "all"', "select[1].group_chats",
     "must be one of"),
    ('communications = ["calls"]\nparticipants = ["07700 900123"]\ngroup_chats = "exclude"', "select[1].group_chats",
     "only meaningful for messages with participants"),
    ('communications = ["web"]\nparticipants = ["07700 900123"]', "select[1].participants", "web history has no"),
    ('communications = ["contacts"]', "select[1].participants", "contact cards are taken only for the people"),
    ('communications = ["messages"]\napps = ["telegram"]', "select[1].apps[1]", "unknown app 'telegram'"),
    ('communications = ["messages"]\nphone_region = "XX"', "select[1].phone_region", "unknown region"),
    ('communications = ["messages"]\npaths = ["DCIM/**"]', "select[1].paths", "cannot be part of a communications"),
    ('communications = ["messages"]\ntimes = ["modified"]', "select[1].times", "cannot be part of a communications"),
    ('paths = ["DCIM/**"]\nparticipants = ["07700 900123"]', "select[1].participants", "only meaningful in a "
                                                                                      "communications selection"),
    ('communications = ["messages"]\nwindows = [{ start = 2024-03-07, end = 2024-03-01 }]', "select[1].windows[1]",
     "before it starts"),
])
def test_strict_validation(select: str, key: str, problem: str) -> None:
    with pytest.raises(ScopeError) as err:
        parse_text(scope_text(f"[[select]]\n{select}\n"), "case.toml")
    assert err.value.key == key and problem in err.value.problem, str(err.value)
    assert str(err.value).startswith("case.toml: ")


def test_national_numbers_read_in_the_scope_region() -> None:
    sc = parse_text(scope_text('[[select]]\ncommunications = ["calls"]\nparticipants = ["(202) 555-0143"]\n'
                               'phone_region = "US"\n'))
    assert sc.selections[0].comms is not None and sc.selections[0].comms.identities == {"+12025550143"}
