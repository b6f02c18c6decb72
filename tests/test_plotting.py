"""The shared presentation helpers: the score table every notebook and the report print."""

from __future__ import annotations

import pytest

from mrl_tutorial.plotting import quality_by_dim, score_table


def test_score_table_lines_up_names_and_scores():
    """One header line and one line per row; the name column fits the longest name, scores are 6 wide."""
    table = score_table({"packaged model": {8: 0.5, 384: 0.62}, "adaptor": {8: 0.589, 384: 0.624}}, [384, 8],
                        title="model")
    assert table.splitlines() == ["          model    384      8",
                                  " packaged model  0.620  0.500",
                                  "        adaptor  0.624  0.589"]


def test_score_table_rounds_to_the_digits_asked_for():
    """digits=1 prints one decimal."""
    assert score_table({"a": {1: 0.25}}, [1], digits=1).splitlines()[1] == " a    0.2"


@pytest.mark.parametrize("rows, columns, match", [
    ({}, [1], "rows must hold at least one row"),
    ({"a": {1: 0.5}}, [], "columns must be a non-empty list"),
    ({"a": {1: 0.5}}, [1, 2], r"row 'a' has no score for the column\(s\) \[2\]"),
])
def test_score_table_refuses_what_it_cannot_print(rows, columns, match):
    """An empty table, no columns, or a row missing a column: a ValueError saying which."""
    with pytest.raises(ValueError, match=match):
        score_table(rows, columns)


def test_quality_by_dim_refuses_a_relative_flag_that_is_not_a_bool():
    """relative="no" is not read as True."""
    with pytest.raises(TypeError, match="relative must be True or False, got 'no'"):
        quality_by_dim({"m": {8: 0.5, 16: 0.6}}, ylabel="y", title="t", relative="no")
