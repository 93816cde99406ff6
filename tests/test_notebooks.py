"""notebooks/secrets-walkthrough.ipynb, executed with nbclient in a kernel of the test server:
its outputs, its widget state, and no secret value anywhere in the saved notebook."""
from __future__ import annotations

import json
import shutil

import nbformat
from nbclient import NotebookClient

from kernel_support import REPO, db_url, kernel_pythonpath  # noqa: F401

NOTEBOOKS = REPO / "notebooks"
WALKTHROUGH = "secrets-walkthrough.ipynb"
SECRET_FILES = ("platform-secrets.json", "project-secrets.json", "secrets.json")


def _secret_values() -> list[str]:
    values = []
    for name in SECRET_FILES:
        values += [str(v) for v in json.loads((NOTEBOOKS / name).read_text()).values()]
    return values


def _cell(nb, tag):
    return next(c for c in nb.cells if tag in c.metadata.get("tags", []))


def _stdout(cell) -> str:
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream" and o["name"] == "stdout")


def _data(cell, output_type="display_data"):
    return [o["data"] for o in cell.outputs if o["output_type"] == output_type]


async def run_walkthrough(jp_fetch, jp_serverapp, jp_root_dir) -> nbformat.NotebookNode:
    """Copy notebooks/ into the server root, start a kernel there through the server, run it all."""
    shutil.copytree(NOTEBOOKS, jp_root_dir / "notebooks")
    nb = nbformat.read(jp_root_dir / "notebooks" / WALKTHROUGH, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "commit the notebook without outputs"
    resp = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"path": "notebooks"}))
    kernel_id = json.loads(resp.body)["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    try:
        client = NotebookClient(nb, km=km, timeout=180, store_widget_state=True, allow_errors=False)
        await client.async_execute()
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)
    return nb


async def test_the_walkthrough_runs_against_a_real_server(
    jp_fetch, jp_serverapp, jp_root_dir, dx_core, kernel_pythonpath, tmp_path
):
    nb = await run_walkthrough(jp_fetch, jp_serverapp, jp_root_dir)
    saved = tmp_path / "executed.ipynb"
    nbformat.write(nb, saved)

    # 1. bound
    assert "Bound to demo/secrets-demo" in _stdout(_cell(nb, "bind"))
    # 2. each upload panel ends showing the names it stored (the display was updated in place)
    for tag, names, where in (("upload-platform", "DB_HOST, DB_NAME", "the platform"),
                              ("upload-project", "DB_NAME, DB_USER", "project demo"),
                              ("upload-package", "DB_NAME, DB_PASS", "package demo/secrets-demo")):
        (bundle,) = _data(_cell(nb, tag))
        assert bundle["text/plain"] == f"Secrets upload panel ({where}): stored {names}", tag
        assert "application/vnd.jupyter.widget-view+json" in bundle
    secrets = dx_core.backend.secrets
    assert secrets.resolve("DB_PASS", "demo", "secrets-demo") == "supersecretpas$"
    assert secrets.resolve("DB_USER", "demo") == "demo_user"
    assert secrets.resolve("DB_HOST") == "db.platform.example"
    # 3. the lookup order, values masked
    assert _stdout(_cell(nb, "lookup")).splitlines() == [
        "DB_NAME    from package   -> '[REDACTED]'",
        "DB_PASS    from package   -> '[REDACTED]'",
        "DB_USER    from project   -> '[REDACTED]'",
        "DB_HOST    from platform  -> '[REDACTED]'",
        "NOT_THERE  from no scope  -> None",
    ]
    assert _stdout(_cell(nb, "masked")) == "[REDACTED]\n"
    # 4. the package
    assert _data(_cell(nb, "create-package"), "execute_result")[0]["text/plain"] == "['test_secrets.py']"
    (panel,) = _data(_cell(nb, "package-panel"))
    assert panel["text/plain"] == ("Package demo/secrets-demo: scripts test_secrets.py; secrets package: DB_NAME, "
                                   "DB_PASS; project: DB_NAME, DB_USER; platform: DB_HOST, DB_NAME")
    # 5. the run: a live widget whose saved display is the final, readable state
    (run,) = _data(_cell(nb, "run"))
    assert "status: completed" in run["text/plain"]
    assert "1. test_secrets.py  completed" in run["text/plain"]
    assert "| DB NAME: [REDACTED]\n     | DB PASS: [REDACTED]\n     | PACKAGE NAME: secrets-demo" in run["text/plain"]
    assert "<details><summary>Show results</summary>" in run["text/html"]
    assert _data(_cell(nb, "steps"), "execute_result")[0]["text/plain"] == (
        "('completed', [(1, 'test_secrets.py', 'completed')])")
    assert _stdout(_cell(nb, "results")) == "DB NAME: [REDACTED]\nDB PASS: [REDACTED]\nPACKAGE NAME: secrets-demo\n\n"
    (table,) = _data(_cell(nb, "executions"))
    assert "Executions of demo/secrets-demo (1 in all)" in table["text/plain"] and "completed" in table["text/plain"]

    # the widget state saved with the notebook holds the final state of the execution view
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    labels = {tuple(m["state"].get("_dom_classes", ())): m["state"].get("value") for m in state.values()}
    assert "status: completed" in [v for k, v in labels.items() if "dx-exec-status" in k]
    assert "demo/secrets-demo" in [v for k, v in labels.items() if "dx-exec-package" in k]

    # no secret value anywhere in the saved notebook: outputs, widget state, metadata
    text = saved.read_text()
    for value in _secret_values():
        assert value not in text, value
    assert dx_core.kernel_token not in text


def test_the_committed_walkthrough_is_clean_and_valid():
    nb = nbformat.read(NOTEBOOKS / WALKTHROUGH, as_version=4)
    nbformat.validate(nb)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert "widgets" not in nb.metadata
    source = "\n".join(c.source for c in nb.cells)
    for value in _secret_values():
        assert value not in source
