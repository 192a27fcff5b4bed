"""The examples in the docstrings run."""

import doctest

import pytest

import gbvstats.disclosure.audit
import gbvstats.disclosure.rules
import gbvstats.disclosure.tables


@pytest.mark.parametrize("module", [gbvstats.disclosure.tables, gbvstats.disclosure.rules,
                                    gbvstats.disclosure.audit])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
