"""IPython magics for DX in notebooks: `%load_ext dx_jupyter` (or `%load_ext ferris_ef`).

    %dx_use PROJECT[/PACKAGE] [--create]     bind the notebook to a scope chain
    %dx_run [PROJECT/]PACKAGE [--project P] [--param key=value ...] [--no-wait] [--raise] [--timeout S]
    %dx_secrets [SCOPE] [--project P] [--package K]   the secrets upload panel
    %dx_executions [PROJECT/]PACKAGE [--project P] [--limit N]
    %dx_package [PROJECT/]PACKAGE [--project P]       scripts, secret names, Run button
    %dx_mask [on|off]                         masking of secret values in this kernel's outputs

Every magic answers `-h` with its usage. Problems are one line: a bad argument is an IPython
`UsageError`; a refused or failed call (unknown package, no server, ...) is a `DXMagicError`
that shows only its message.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any, NoReturn, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from . import masking
from .kernel_client import DXClientError, KernelClient, get_client


class DXMagicError(Exception):
    """A DX call failed; IPython shows only the one-line message, no traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mDXMagicError\x1b[0m: {self.message}"]


class RunFailed(DXMagicError):
    """`%dx_run --raise`: the execution did not complete."""

    def __init__(self, execution: Any) -> None:
        message = f"execution {execution.id} of {execution.project}/{execution.package} {execution.status}"
        if execution.status_message:
            message += f": {execution.status_message}"
        super().__init__(message)
        self.execution = execution


class _HelpShown(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting: UsageError on bad input, nothing after -h."""

    def __init__(self, magic: str, description: str) -> None:
        super().__init__(prog=f"%{magic}", description=description, add_help=True)

    def exit(self, status: int = 0, message: Optional[str] = None) -> NoReturn:
        if status:
            raise UsageError((message or "").strip())
        raise _HelpShown()

    def error(self, message: str) -> NoReturn:
        usage = " ".join(self.format_usage().split())
        raise UsageError(f"{self.prog}: {message} ({usage})")

    def parse(self, line: str) -> Optional[argparse.Namespace]:
        try:
            args = shlex.split(line)
        except ValueError as err:
            raise UsageError(f"{self.prog}: cannot split the arguments: {err}") from None
        try:
            return self.parse_args(args)
        except _HelpShown:
            return None


def _parsers() -> dict[str, _Parser]:
    p: dict[str, _Parser] = {}
    use = p["dx_use"] = _Parser("dx_use", "Bind this notebook's ferris_ef.context to a project or a package; "
                                "without arguments, show the binding.")
    use.add_argument("target", nargs="?", metavar="PROJECT[/PACKAGE]")
    use.add_argument("--create", action="store_true", help="create the project (and package) if missing")
    use.add_argument("--unbind", action="store_true", help="forget the binding: platform scope only")

    run = p["dx_run"] = _Parser("dx_run", "Run a package and follow its execution in a live widget. "
                                "Returns the execution: r = %dx_run PACKAGE.")
    run.add_argument("package", metavar="[PROJECT/]PACKAGE")
    run.add_argument("--project", help="the package's project (default: the bound project)")
    run.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                     help="an execution parameter; VALUE is read as JSON when it parses, else as text")
    run.add_argument("--no-wait", action="store_true", help="return at once; the widget keeps updating")
    run.add_argument("--raise", dest="raise_", action="store_true",
                     help="raise DXMagicError when the execution does not complete")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="stop waiting after this long")

    sec = p["dx_secrets"] = _Parser("dx_secrets", "Show the secrets upload panel.")
    sec.add_argument("scope", nargs="?", choices=("package", "service", "project", "platform"), metavar="SCOPE",
                     help="package (or service), project or platform: the preselected scope (default: "
                     "package when bound to one, else project, else platform)")
    sec.add_argument("--project")
    sec.add_argument("--package")

    ex = p["dx_executions"] = _Parser("dx_executions", "A package's recent executions, newest first.")
    ex.add_argument("package", metavar="[PROJECT/]PACKAGE")
    ex.add_argument("--project")
    ex.add_argument("--limit", type=int, default=20)

    pk = p["dx_package"] = _Parser("dx_package", "A package: its scripts, secret names per scope, a Run button.")
    pk.add_argument("package", metavar="[PROJECT/]PACKAGE")
    pk.add_argument("--project")

    mask = p["dx_mask"] = _Parser("dx_mask", "Masking of secret values in this kernel's outputs.")
    mask.add_argument("state", nargs="?", choices=("on", "off"), metavar="on|off",
                      help="turn masking on or off; without it, show the current state")
    return p


def parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"%dx_run: --param needs KEY=VALUE, got {item!r}")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


@magics_class
class DXMagics(Magics):
    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self.parsers = _parsers()

    # ----- helpers -----
    def client(self) -> KernelClient:
        try:
            return get_client()
        except DXClientError as err:
            raise DXMagicError(err.message) from None

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DXClientError as err:
            raise DXMagicError(err.message) from None

    def _package(self, args: argparse.Namespace) -> tuple[str, str]:
        from ferris_ef.backends.kernel import binding

        project, _, package = args.package.rpartition("/")
        if project and args.project and project != args.project:
            raise UsageError(f"two projects given: {project!r} and --project {args.project!r}")
        project = project or args.project or binding()[0]
        if not project:
            raise UsageError("which project? give PROJECT/PACKAGE or --project P, or bind one with %dx_use PROJECT")
        if not package:
            raise UsageError("a package name is missing")
        return project, package

    # ----- magics -----
    @line_magic
    def dx_use(self, line: str) -> None:
        """%dx_use PROJECT[/PACKAGE] [--create] [--unbind]: bind ferris_ef.context to a scope chain."""
        from ferris_ef.backends.kernel import bind, binding

        args = self.parsers["dx_use"].parse(line)
        if args is None:
            return None
        if args.unbind:
            bind(None, None)
            print("Unbound: ferris_ef.context reaches the platform scope only.")
            return None
        if not args.target:
            project, package = binding()
            print(_describe(project, package) if project else
                  "Not bound: ferris_ef.context reaches the platform scope only. Use %dx_use PROJECT[/PACKAGE].")
            return None
        project, _, package = args.target.partition("/")
        if not project or "/" in package:
            raise UsageError(f"%dx_use: expected PROJECT or PROJECT/PACKAGE, got {args.target!r}")
        client = self.client()
        try:
            client.project(project)
        except DXClientError as err:
            if err.status != 404 or not args.create:
                raise DXMagicError(err.message + (" (add --create to create it)" if err.status == 404 else "")) from None
            self._call(client.create_project, project)
        if package:
            try:
                client.package(project, package)
            except DXClientError as err:
                if err.status != 404 or not args.create:
                    raise DXMagicError(err.message + (" (add --create to create it)" if err.status == 404 else "")) from None
                self._call(client.create_package, project, package)
        bind(project, package or None)
        print(_describe(project, package or None))
        _warn_if_not_kernel_context()
        return None

    @line_magic
    def dx_run(self, line: str) -> Any:
        """%dx_run [PROJECT/]PACKAGE [--project P] [--param k=v ...] [--no-wait] [--raise] [--timeout S]"""
        from .widgets import Execution

        args = self.parsers["dx_run"].parse(line)
        if args is None:
            return None
        if args.no_wait and args.raise_:
            raise UsageError("%dx_run: --raise needs to wait for the end: drop --no-wait")
        project, package = self._package(args)
        params = parse_params(args.param)
        client = self.client()
        info = self._call(client.start_execution, project, package, params or None)
        execution = Execution(client, info)
        execution.view.show()
        execution.follow()
        if args.no_wait:
            return execution
        try:
            execution.wait(args.timeout)
        except KeyboardInterrupt:
            print(f"Stopped waiting; execution {execution.id} goes on (its widget keeps updating; "
                  "cancel it with .cancel()).", file=sys.stderr)
            return execution
        if not execution.done:
            print(f"Still {execution.status} after {args.timeout} s; the widget keeps updating "
                  "(.wait() waits again).", file=sys.stderr)
        elif args.raise_ and not execution.succeeded:
            raise RunFailed(execution)
        return execution

    @line_magic
    def dx_secrets(self, line: str) -> Any:
        """%dx_secrets [package|project|platform] [--project P] [--package K]: the upload panel."""
        from ferris_ef.backends.kernel import binding

        from .widgets import SecretsPanel

        args = self.parsers["dx_secrets"].parse(line)
        if args is None:
            return None
        bound_project, bound_package = binding()
        project = args.project or bound_project
        package = args.package or (bound_package if project == bound_project else None)
        scope = args.scope or ("package" if package else "project" if project else "platform")
        panel = SecretsPanel(self.client(), scope, project, package)
        panel.show()
        return panel

    @line_magic
    def dx_executions(self, line: str) -> Any:
        """%dx_executions [PROJECT/]PACKAGE [--project P] [--limit N]: recent executions."""
        from .widgets import ExecutionsTable

        args = self.parsers["dx_executions"].parse(line)
        if args is None:
            return None
        if not 1 <= args.limit <= 500:
            raise UsageError("%dx_executions: --limit must be between 1 and 500")
        project, package = self._package(args)
        client = self.client()
        self._call(client.package, project, package)  # a one-line error for an unknown package
        table = ExecutionsTable(client, project, package, args.limit)
        table.show()
        return table

    @line_magic
    def dx_package(self, line: str) -> Any:
        """%dx_package [PROJECT/]PACKAGE [--project P]: scripts, secret names, Run button."""
        from .widgets import PackagePanel

        args = self.parsers["dx_package"].parse(line)
        if args is None:
            return None
        project, package = self._package(args)
        client = self.client()
        self._call(client.package, project, package)
        panel = PackagePanel(client, project, package)
        panel.show()
        return panel

    @line_magic
    def dx_mask(self, line: str) -> None:
        """%dx_mask [on|off]: mask secret values read in this kernel in its outputs (default on)."""
        args = self.parsers["dx_mask"].parse(line)
        if args is None:
            return None
        if args.state:
            masking.set_enabled(args.state == "on")
        state = "on" if masking.enabled() else "off"
        print(f"Masking of secret values in this kernel's outputs is {state} "
              f"({masking.remembered()} value(s) known).")
        return None


def _describe(project: Optional[str], package: Optional[str]) -> str:
    if package:
        return (f"Bound to {project}/{package}: context.secrets looks in package {project}/{package}, "
                f"then project {project}, then the platform.")
    return f"Bound to project {project}: context.secrets looks in project {project}, then the platform."


def _warn_if_not_kernel_context() -> None:
    from ferris_ef import FerrisError, current_backend

    try:
        mode = current_backend().mode
    except FerrisError:
        return
    if mode != "kernel":
        print(f"Note: ferris_ef.context uses its {mode} source here, not the server (EF_ENV=local or "
              "use_store() win over %dx_use); the magics use the binding.", file=sys.stderr)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(DXMagics)
    if masking.enabled():
        masking.install()


def unload_ipython_extension(ipython: Any) -> None:  # pragma: no cover - IPython keeps magics
    pass
