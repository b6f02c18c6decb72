"""The README's "helpers in 15 lines" block runs as written and does what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The helpers in 15 lines"):]
    return re.search(r"```python\n(.*?)```", section, flags=re.DOTALL).group(1)


def test_the_block_is_at_most_15_lines_of_code_after_its_imports():
    """Short enough to read at a glance: the imports, then no more than 15 lines."""
    lines = [line for line in _block().splitlines() if line.strip()]
    assert len([line for line in lines if not line.startswith(("from ", "import "))]) <= 15


@pytest.mark.slow
def test_the_readme_example_runs_and_its_funnel_agrees_with_the_full_search(capsys):
    """Executed as written: 64-dim vectors of unit length, a score per dim, a funnel that keeps >= 90 % of the full
    top 10, and the vector database returning the same top 10 as the in-memory funnel."""
    names: dict = {}
    exec(compile(_block(), str(README), "exec"), names)  # noqa: S102 - the README's own code
    assert names["small"].shape == (names["corpus"].shape[0], 64)
    np.testing.assert_allclose(np.linalg.norm(names["small"], axis=1), 1.0, atol=1e-5)
    assert sorted(names["by_dim"]) == [16, 64, 384]
    assert names["agreement_at_k"](names["found"], names["full"]) >= 0.9
    assert (names["hits"] == names["found"]).mean() >= 0.99
    assert "of the full top 10" in capsys.readouterr().out
