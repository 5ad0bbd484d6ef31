"""Unit tests of the SIP helpers: how numbers are compared (as the server compares them)."""

import pytest

from ansible_collections.rtcstack.livekit.plugins.module_utils._sip import normalize_number, numbers


@pytest.mark.parametrize("given, expected", [
    ("+1 (555) 01-00", "+15550100"),
    ("15550100", "+15550100"),
    ("+15550100", "+15550100"),
    ("sip:alice", "sip:alice"),
    ("", ""),
    (None, ""),
])
def test_normalize_number(given, expected):
    assert normalize_number(given) == expected


def test_numbers_of_an_empty_list_match_any_number():
    assert numbers(None) == {""}
    assert numbers([]) == {""}
    assert numbers(["15550100", "+1 555 0100"]) == {"+15550100"}
