"""nbval starts each notebook's kernel from this process: ask the notebooks for quiet, stable output."""

import os

os.environ["MRL_TUTORIAL_QUIET"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
