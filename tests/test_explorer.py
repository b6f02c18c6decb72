"""The dimension explorer's update logic and its static rendering."""

from __future__ import annotations

import numpy as np
import pytest

from mrl_tutorial.explorer import DimensionExplorer, compare_at_dim


class FakeModel:
    """Encodes text by looking it up in a table: the explorer logic without a real model."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def encode(self, texts, batch_size=64, **kwargs):  # convert_to_numpy, show_progress_bar, ... as in ST
        return np.array([self.table[t] for t in texts], dtype=np.float32)


CORPUS = ["alpha", "beta", "gamma", "delta"]
TABLE = {"alpha": [1.0, 0.0, 0.0, 0.0], "beta": [0.9, 0.1, 0.0, 0.4], "gamma": [0.0, 1.0, 0.0, 0.0],
         "delta": [0.5, 0.5, 0.7, 0.0], "query": [1.0, 0.05, 0.0, 0.5]}


def test_full_dim_comparison_agrees_with_itself():
    """At the full dim the prefix search and the full search return the same hits: overlap 1.0."""
    emb = np.array([TABLE[t] for t in CORPUS])
    c = compare_at_dim(np.array(TABLE["query"]), emb, dim=4, k=2)
    assert c.overlap == 1.0
    assert [h.index for h in c.at_dim] == [h.index for h in c.full] == [1, 0]


def test_a_short_prefix_can_change_the_results():
    """At a 1-dim prefix the ranking differs from the full-dim one (alpha ties ahead of beta), scored at the prefix."""
    emb = np.array([TABLE[t] for t in CORPUS])
    c = compare_at_dim(np.array(TABLE["query"]), emb, dim=1, k=2)
    assert [h.index for h in c.at_dim] == [0, 1]  # at 1 dim alpha ties ahead of beta
    assert c.at_dim[0].score == pytest.approx(1.0)
    assert c.full[0].index == 1


def test_explorer_compares_every_model():
    """One comparison per model, named like the models."""
    explorer = DimensionExplorer({"a": FakeModel(TABLE), "b": FakeModel(TABLE)}, CORPUS, k=2, dims=[1, 2, 4])
    assert set(explorer.compare("query", 2)) == {"a", "b"}


def test_the_text_rendering_lists_each_models_results_at_the_dim_and_at_full_dim():
    """Header, the note on small-dim scores, then per model its overlap and k lines of (prefix, full) results."""
    explorer = DimensionExplorer({"a": FakeModel(TABLE)}, CORPUS, k=2, dims=[1, 2, 4])
    lines = explorer.render_text("query", 1).splitlines()
    assert lines[:2] == ["query: query", "dim 1 of 4"]
    assert "run higher than at full dim" in lines[2]
    assert lines[3:] == ["a: 100% of the full-dim top 2 found",  # the same two, in another order
                         "  1. = 1.000 alpha", "     full 0.997 beta",
                         "  2. = 1.000 beta", "     full 0.894 alpha"]


def test_the_note_on_scores_is_left_out_at_full_dim():
    """At full dim the scores are the model's own: no note."""
    explorer = DimensionExplorer({"a": FakeModel(TABLE)}, CORPUS, k=2, dims=[1, 4])
    assert "run higher" not in explorer.render_text("query", 4)


@pytest.mark.parametrize("text, width, expected", [
    ("The ferry to the island was cancelled", 20, "The ferry to the…"),
    ("The ferry to the island", 17, "The ferry to the…"),  # the cut falls on a space: keep the whole word
    ("Supercalifragilistic", 8, "Superca…"),  # one long word: cut inside it
    ("short", 20, "short"),
])
def test_clip_cuts_at_a_word_boundary(text, width, expected):
    """Passages are cut between words, never inside one (unless one word is longer than the width)."""
    from mrl_tutorial.explorer import clip

    assert clip(text, width) == expected and len(clip(text, width)) <= width


def test_widget_updates_when_the_slider_moves():
    """Moving the widget's dim slider re-renders its output for the new dim."""
    explorer = DimensionExplorer({"m": FakeModel(TABLE)}, CORPUS, k=2, dims=[1, 4])
    box = explorer.widget("query", dim=4)
    slider, _, out = box.children
    before = out.value
    slider.value = 1
    assert out.value != before and "dim 1" in out.value


@pytest.mark.parametrize("call, match", [
    (lambda e: e.compare("", 2), "non-empty"),
    (lambda e: e.compare("query", 0), r"dim must be an int in \[1, 4\]"),
    (lambda e: e.compare("query", 5), r"dim must be an int in \[1, 4\]"),
])
def test_bad_input(call, match):
    """An empty query or a dim outside [1, full dim] is refused by compare with an error naming the problem."""
    explorer = DimensionExplorer({"m": FakeModel(TABLE)}, CORPUS, k=2, dims=[1, 4])
    with pytest.raises(ValueError, match=match):
        call(explorer)


def test_bad_construction():
    """An explorer with no models, a k larger than the corpus or dims beyond the model's dim is refused."""
    with pytest.raises(ValueError, match="at least one model"):
        DimensionExplorer({}, CORPUS)
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 4\]"):
        DimensionExplorer({"m": FakeModel(TABLE)}, CORPUS, k=9)
    with pytest.raises(ValueError, match=r"dims must lie in \[1, 4\]"):
        DimensionExplorer({"m": FakeModel(TABLE)}, CORPUS, k=2, dims=[8])


def test_compare_at_dim_names_corpus_and_query_embedding():
    """Bad corpus embeddings are refused naming corpus (its name here); a query of the wrong width names
    query_embedding."""
    corpus = np.eye(3, 4, dtype=np.float32)
    with pytest.raises(ValueError, match=r"^corpus "):
        compare_at_dim(np.ones(4), np.full((3, 4), np.nan), dim=2, k=2)
    with pytest.raises(ValueError, match=r"^query_embedding must have the corpus's dim 4, got 2"):
        compare_at_dim([1.0, 2.0], corpus, dim=2, k=2)
