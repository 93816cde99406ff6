"""Invariant 1 through the whole server: after secrets are uploaded over REST and a package
has read and printed them, no value is in any file of the data dir, in a temporary file the
run left behind, or in the server's log (at DEBUG)."""
from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from executions_support import make_package, run

CANARY = "inv1-canary-Zt8Qw3Lm"
NESTED = "inv1-nested-Rb5Xc9Jk"
SCRIPT = (
    "from ferris_ef import context\n"
    "print(context.secrets.get('CANARY'))\n"
    "print(context.secrets.get('NESTED'))\n"
    # built at run time: the script's own source is stored as it is
    "context.secrets.set('WRITTEN', 'inv1-written-' + 'Pq2Vn7Hs', 'project')\n"
)
FORMS = [CANARY.encode(), NESTED.encode(), b"inv1-written-Pq2Vn7Hs"]


def _files_with_canary(root: Path, since: float) -> list[str]:
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            try:
                if path.is_symlink() or path.stat().st_mtime < since or path.stat().st_size > 50_000_000:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if any(form in data for form in FORMS):
                found.append(str(path))
    return found


async def _seed_and_run(dx_api) -> dict:
    await make_package(dx_api, {"print.py": SCRIPT})
    body = json.dumps({"CANARY": CANARY, "NESTED": {"user": "u", "password": NESTED}}).encode()
    status, _ = await dx_api("projects/demo/packages/pkg/secrets", "PUT", raw=body)
    assert status == 200
    done = await run(dx_api)
    assert done["status"] == "completed", done
    return done


async def test_no_value_in_any_file_of_the_data_dir_after_a_run(dx_api, dx_data_dir):
    await _seed_and_run(dx_api)
    assert _files_with_canary(dx_data_dir, since=0) == []


async def test_no_value_in_temporary_files_a_run_leaves_behind(dx_api):
    since = time.time() - 1
    await _seed_and_run(dx_api)
    assert _files_with_canary(Path(tempfile.gettempdir()), since) == []


async def test_no_value_in_the_server_log_at_debug_level(dx_api, caplog):
    caplog.set_level(logging.DEBUG)
    await _seed_and_run(dx_api)
    text = caplog.text
    assert text, "the server logged nothing: the capture is not working"
    assert not any(form.decode() in text for form in FORMS)
