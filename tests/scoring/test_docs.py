"""The worked examples in scoring's docstring and in docs/scoring.md run as written."""

import doctest
from pathlib import Path

import scoring

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
DOCS = Path(__file__).resolve().parents[2] / "docs" / "scoring.md"


def test_module_docstring_examples_run():
    result = doctest.testmod(scoring, optionflags=FLAGS)
    assert result.attempted > 10 and result.failed == 0


def test_every_public_function_and_rule_has_a_docstring():
    for name in scoring.__all__:
        obj = getattr(scoring, name)
        if callable(obj):
            assert obj.__doc__, name


def test_docs_scoring_md_examples_run():
    result = doctest.testfile(str(DOCS), module_relative=False, optionflags=FLAGS)
    assert result.attempted > 30 and result.failed == 0


def test_docs_describe_every_public_name():
    text = DOCS.read_text(encoding="utf-8")
    missing = [n for n in scoring.__all__ if n not in text and not n.startswith("CUTOFF_")]
    assert not missing, missing
