"""Run one execution step: `python -m ferris_ef.launch --payload-fd N /abs/path/script.py`.

The executor passes the step payload (UTF-8 JSON: params, package, config, decrypted secrets,
API address and token) through the inherited file descriptor N, never through argv, the
environment or a file. This reads it, closes N, installs it as ferris_ef's runtime context,
and runs the script as `python script.py` would: `__name__ == "__main__"`, `sys.argv ==
[script]`, the script's folder first on `sys.path`, and the script's exit status.

Kept cheap to start: it imports only what running a script needs.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from types import TracebackType

USAGE = "usage: python -m ferris_ef.launch --payload-fd N /abs/path/script.py"
LAUNCH_ERROR = 2  # the launcher itself could not start the script


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"ferris_ef.launch: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(LAUNCH_ERROR)


def parse_args(argv: list[str]) -> tuple[int, str]:
    if len(argv) != 3 or argv[0] != "--payload-fd":
        _fail(f"expected --payload-fd N and a script path\n{USAGE}")
    try:
        fd = int(argv[1])
    except ValueError:
        _fail(f"--payload-fd needs a file descriptor number, got {argv[1]!r}")
    if fd < 0:
        _fail(f"--payload-fd needs a file descriptor number, got {fd}")
    return fd, argv[2]


def read_payload(fd: int) -> dict:
    import json

    try:
        with open(fd, "rb", closefd=True) as pipe:
            raw = pipe.read()
    except OSError as err:
        _fail(f"cannot read the step payload from fd {fd}: {err.strerror or err}")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        _fail(f"the step payload on fd {fd} is not UTF-8 JSON: {err}")
    if not isinstance(payload, dict):
        _fail(f"the step payload on fd {fd} must be a JSON object")
    return payload


def _script_traceback(exc: BaseException, script: str) -> TracebackType | None:
    """The traceback from the script's first frame on, as `python script.py` would show it."""
    tb = exc.__traceback__
    node = tb
    while node is not None:
        if node.tb_frame.f_code.co_filename == script:
            return node
        node = node.tb_next
    return tb


def main(argv: list[str] | None = None) -> int:
    fd, script = parse_args(sys.argv[1:] if argv is None else argv)
    payload = read_payload(fd)  # read and close the pipe before anything else can inherit it
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        _fail(f"script {script} does not exist")

    from . import _context
    from .errors import FerrisError

    try:
        _context.install_runtime(payload)
    except FerrisError as err:
        _fail(err.message)
    del payload

    import runpy

    sys.argv = [script]
    script_dir = os.path.dirname(script)
    # `-m` put the working directory first on sys.path; `python script.py` puts the script's folder.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path[0] = script_dir
    else:
        sys.path.insert(0, script_dir)
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as exc:  # an uncaught exception: the normal traceback, exit 1
        tb = _script_traceback(exc, script)
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
