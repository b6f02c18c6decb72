"""Re-record the stored outputs of the notebooks, as strict nbval will compare them.

    python scripts/record_notebooks.py                     # every notebook, in order
    python scripts/record_notebooks.py 04_adaptor 05_truncation

Each notebook runs top to bottom in a fresh kernel, in ``notebooks/``, quiet (no progress bars) and offline, as
``pytest --nbval notebooks/`` runs it; its outputs are written back into the file. Later notebooks load what earlier
ones trained and cached (``MRL_TUTORIAL_CACHE``), so record in order. Read the new outputs against the text around
them before committing: the text must say what the numbers say.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook names without .ipynb (default: all, in order)")
    args = parser.parse_args()
    paths = sorted(NOTEBOOKS.glob("*.ipynb")) if not args.names else [NOTEBOOKS / f"{n}.ipynb" for n in args.names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"no such notebook: {missing}")
    os.environ["MRL_TUTORIAL_QUIET"] = "1"  # what nbval sees: no progress bars, no library info logs
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for path in paths:
        start = time.perf_counter()
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
                       ).execute()
        nbformat.write(notebook, path)
        print(f"recorded {path.name} in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
