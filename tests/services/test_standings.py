"""The advancement status a contestant reads beside their score (公示中 / 晋级 / 递补 / 未晋级)."""
from types import SimpleNamespace

import pytest

from app.models import AdvancementEntryStatus, ListStatus
from app.services.standings import Advancement, advancement


def _listing(status):
    return SimpleNamespace(status=status)


def _on_list(status=AdvancementEntryStatus.ADVANCING, replaces=None):
    return SimpleNamespace(status=status, replaces_id=replaces)


@pytest.mark.parametrize(("list_status", "mine", "expected"), [
    (ListStatus.NOTICE, _on_list(), Advancement.NOTICE),
    (ListStatus.FINAL, _on_list(), Advancement.ADVANCED),
    (ListStatus.NOTICE, _on_list(replaces=7), Advancement.REPLACEMENT),
    (ListStatus.FINAL, _on_list(replaces=7), Advancement.REPLACEMENT),
    (ListStatus.NOTICE, _on_list(AdvancementEntryStatus.REMOVED), Advancement.NOT_ADVANCED),
    (ListStatus.FINAL, _on_list(AdvancementEntryStatus.SKIPPED_FOR_CAP), Advancement.NOT_ADVANCED),
    (ListStatus.FINAL, _on_list(AdvancementEntryStatus.RESERVE), Advancement.NOT_ADVANCED),
    (ListStatus.FINAL, None, Advancement.NOT_ADVANCED),
])
def test_advancement_status_follows_the_list_and_the_persons_place_on_it(list_status, mine,
                                                                          expected):
    assert advancement(_listing(list_status), mine) == expected


@pytest.mark.parametrize("list_status", [ListStatus.DRAFT, ListStatus.WITHDRAWN])
def test_no_advancement_status_before_a_list_is_public_or_after_it_is_withdrawn(list_status):
    assert advancement(_listing(list_status), _on_list()) is None
    assert advancement(None, None) is None
