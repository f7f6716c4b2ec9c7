"""Exceptions of the rules engine; their messages are written for an organiser to read as they are."""

from __future__ import annotations


class ScoringError(ValueError):
    """Base of every error raised by ``scoring``.

    ``str(error)`` is a Chinese sentence fit to show an organiser.  ``problems`` holds the
    offending cases as dicts (entry, judge, item, value, ...) for a web layer that wants to
    list them; it is empty when the message says everything.
    """

    def __init__(self, message: str, problems: list[dict] | tuple[dict, ...] = ()):
        super().__init__(message)
        self.message = message
        self.problems = list(problems)


class InvalidRule(ScoringError):
    """A rule (marking scheme, aggregation, component, stage) is configured wrongly."""


class WeightsError(InvalidRule):
    """A stage's component weights do not sum to 100%."""


class InvalidMark(ScoringError):
    """A judge's mark is outside its item's range or not of the item's kind."""


class InvalidInput(ScoringError):
    """A bulk input table is malformed: a missing column, a duplicate row, an unknown entry."""
