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


@pytest.mark.parametrize(("rows", "columns", "name"), [
    (5, [8], "rows"), ("curves", [8], "rows"), ({"m": {8: 0.5}}, 5, "columns"), ({"m": {8: 0.5}}, None, "columns"),
    ({"m": {8: 0.5}}, [1, 2], "columns"),
])
def test_score_table_names_rows_or_columns_of_the_wrong_kind(rows, columns, name):
    """score_table refuses a rows that is not a mapping and columns that are not a list of the rows' keys, by name."""
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        score_table(rows, columns)


@pytest.mark.parametrize("name", ["curves", "marks", "mark_like", "ylim", "ax"])
@pytest.mark.parametrize("bad", [5, object(), "curves"])
def test_quality_by_dim_names_each_argument_of_the_wrong_kind(name, bad):
    """quality_by_dim refuses a non-mapping curves/marks/mark_like, a ylim that is not (low, high) and an ax that
    is not matplotlib Axes, by name and before drawing."""
    import matplotlib.pyplot as plt

    kwargs = {"curves": {"m": {16: 0.8, 8: 0.7}}, "ylabel": "y", "title": "t", name: bad}
    before = plt.get_fignums()
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        quality_by_dim(**kwargs)
    assert plt.get_fignums() == before


@pytest.mark.parametrize("ylim", [(2, 1), (0, float("nan")), (0, 1, 2)])
def test_quality_by_dim_refuses_a_ylim_that_is_not_low_below_high(ylim):
    """ylim must be two finite numbers, low < high."""
    with pytest.raises((TypeError, ValueError), match=r"\bylim\b"):
        quality_by_dim({"m": {16: 0.8, 8: 0.7}}, ylabel="y", title="t", ylim=ylim)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"labels": "abc"}, "labels"), ({"labels": 5}, "labels"), ({"labels": None}, "labels"),
    ({"similarity": [[1.0, 2.0], [1.0]]}, "similarity"),
])
def test_similarity_heatmap_names_bad_labels_and_a_ragged_matrix(kwargs, name):
    """similarity_heatmap refuses labels that are not a list of strings and a ragged similarity list, by name."""
    import numpy as np

    from mrl_tutorial.plotting import similarity_heatmap

    args = {"similarity": np.eye(3), "labels": ["a", "b", "c"], **kwargs}
    with pytest.raises((TypeError, ValueError), match=rf"\b{name}\b"):
        similarity_heatmap(**args)
