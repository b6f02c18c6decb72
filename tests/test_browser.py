"""JupyterLab in a real headless browser: run notebook 06 through the UI, check that no cell fails, that encoding
the corpus shows a progress bar (the kernel runs as a person's would, not under test), that the dimension
explorer renders, and that moving its slider changes what it shows.

Needs Chromium (Debian's ``chromium`` package; ``.ci/run`` installs it) and the ``playwright`` package, which
drives that Chromium (no browser download). Marked ``browser``: the default ``pytest`` run skips it;
``pytest -m browser`` runs it (CI does, after the notebooks have cached the trained models).
A screenshot is saved to ``$MRL_TUTORIAL_ARTIFACTS`` (default: ``artifacts/``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "06_retrieval.ipynb"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def jupyterlab(tmp_path):
    """JupyterLab on loopback with a token, serving a copy of the notebook with its outputs cleared."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright")
    root = tmp_path / "lab"
    root.mkdir()
    notebook = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (root / NOTEBOOK).write_text(json.dumps(notebook))
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    from conftest import USER_CACHE  # a notebook run, as a person would: the user's models, not the scratch

    env = {k: v for k, v in os.environ.items() if k not in ("MRL_TUTORIAL_QUIET", "PYTEST_CURRENT_TEST",
                                                          "TQDM_DISABLE", "MRL_TUTORIAL_CACHE",
                                                          "HF_DATASETS_CACHE")}
    # the user's trained models (linked, never copied or changed) but not their cached vectors: the notebook
    # then encodes the corpus, as on a person's first run of it, and shows its progress bar
    models = Path(USER_CACHE) if USER_CACHE else Path.home() / ".cache" / "mrl-tutorial"
    cache = tmp_path / "cache"
    cache.mkdir()
    for folder in models.iterdir() if models.is_dir() else []:
        if folder.is_dir() and folder.name != "embeddings":
            (cache / folder.name).symlink_to(folder, target_is_directory=True)
    env["MRL_TUTORIAL_CACHE"] = str(cache)
    env.update({"JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
                "JUPYTER_DATA_DIR": str(tmp_path / "data"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"), "IPYTHONDIR": str(tmp_path / "ipython"),
                "HF_HUB_OFFLINE": "1"})
    port, token = _free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("JupyterLab did not start") from None
                time.sleep(1)
        yield {"url": f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}", "chromium": chromium}
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its kernels, even when the test failed
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_notebook_05_runs_in_jupyterlab_and_the_explorer_reacts(jupyterlab):
    from playwright.sync_api import sync_playwright

    artifacts = Path(os.environ.get("MRL_TUTORIAL_ARTIFACTS", ROOT / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=jupyterlab["chromium"], args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(jupyterlab["url"])
            notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
            notebook.wait_for(timeout=120_000)
            # the toolbar says "idle" before a kernel exists: wait for the status bar's kernel instead
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator("[data-command='runmenu:run-all']").click()
            prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'], "
                                  ".jp-OutputArea-output.jp-mod-error, .jp-RenderedText[data-mime-type="
                                  "'application/vnd.jupyter.error']")
            # sentence-transformers' tqdm widget while encoding the corpus: "Batches: 40%" and a bar
            encoding_bars = page.locator(".widget-hbox", has=page.locator(".widget-hprogress"), has_text="Batches")
            saw_progress_bar = False
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                page.screenshot(path=str(artifacts / "jupyterlab-progress.png"))  # the last state, if it hangs
                if not saw_progress_bar and encoding_bars.count():
                    saw_progress_bar = True
                    encoding_bars.first.scroll_into_view_if_needed()
                    page.wait_for_timeout(1000)  # let JupyterLab paint the cells scrolled into view
                    page.screenshot(path=str(artifacts / "jupyterlab-encoding-progress-bar.png"))
                # JupyterLab renders only the cells near the viewport: judge the prompts that are rendered
                texts = [t for t in prompts.all_inner_texts() if t.strip()]
                done = texts and not any("*" in t for t in texts) and all(any(c.isdigit() for c in t) for t in texts)
                if errors.count() or (done and page.locator(".widget-html .mrl-overlap").count()):
                    break
                time.sleep(2)
            else:
                pytest.fail("the notebook did not finish running within 10 minutes")
            page.screenshot(path=str(artifacts / "jupyterlab-notebook-05.png"), full_page=False)
            assert errors.count() == 0, errors.first.inner_text()[:2000]
            assert saw_progress_bar, "encoding the corpus showed no progress bar in JupyterLab"
            slider = page.locator(".widget-slider").last
            slider.scroll_into_view_if_needed()
            overlap = page.locator(".widget-html .mrl-overlap")
            overlap.first.wait_for(timeout=30_000)
            readout = page.locator(".widget-readout").last
            before_dim, before_html = readout.inner_text(), page.locator(".widget-html").last.inner_html()
            page.locator(".noUi-handle").last.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                "([old]) => { const r = [...document.querySelectorAll('.widget-readout')].pop();"
                " return r && r.innerText !== old; }", arg=[before_dim], timeout=30_000)
            page.wait_for_function(
                "([old]) => { const h = [...document.querySelectorAll('.widget-html')].pop();"
                " return h && h.innerHTML !== old; }", arg=[before_html], timeout=60_000)
            assert readout.inner_text() != before_dim
            assert page.locator(".widget-html").last.inner_html() != before_html
            page.screenshot(path=str(artifacts / "jupyterlab-explorer.png"), full_page=False)
        finally:
            browser.close()
