"""`jupyter dx ...`: the operator's command line for the store (secrets, projects, packages, keys).

It opens the same store and master key as the server: `--db-url` (or `$DX_DB_URL`, default the
SQLite file in the Jupyter data dir) and `$DX_MASTER_KEY` or `--key-file` (default `master.key`
beside the SQLite file). It never prints a secret value. Errors print one line,
`jupyter-dx: error: <message>`, and exit 1; usage errors exit 2. See docs/cli.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ._version import __version__
from .errors import DXError

PROG = "jupyter-dx"
DB_URL_ENV = "DX_DB_URL"
KEY_FILE_NAME = "master.key"
SCOPE_CHOICES = ("package", "service", "project", "platform")


class CLIError(Exception):
    """Bad input found by the CLI itself; the message is printed as is."""


# ----------------------------------------------------------------------------------------------
# Opening the store
# ----------------------------------------------------------------------------------------------
def db_url(args: argparse.Namespace) -> str:
    from .backend import default_db_url

    return getattr(args, "db_url", None) or os.environ.get(DB_URL_ENV) or default_db_url()


def _sqlite_path(url: str) -> Optional[Path]:
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return Path(path) if path and path != ":memory:" else None
    return None


def key_file(args: argparse.Namespace, url: str) -> Path:
    given = getattr(args, "key_file", None)
    if given:
        return Path(given)
    db_path = _sqlite_path(url)
    if db_path is not None:
        return db_path.parent / KEY_FILE_NAME
    from .backend import default_data_dir

    return default_data_dir() / KEY_FILE_NAME


def master_key(args: argparse.Namespace, url: str) -> bytes:
    from .keyring import MASTER_KEY_ENV, EnvOrFileMasterKeyProvider

    path = key_file(args, url)
    if not os.environ.get(MASTER_KEY_ENV) and not path.exists():
        db_path = _sqlite_path(url)
        if db_path is not None and db_path.exists() and db_path.stat().st_size > 0:
            raise CLIError(
                f"the store {db_path} exists but its master key file {path} does not; "
                f"set ${MASTER_KEY_ENV} or give --key-file with the key the store is locked with"
            )
        _note(f"creating a new master key file {path} (mode 0600); back it up")
    return EnvOrFileMasterKeyProvider(key_file=str(path)).get_master_key()


def open_store(args: argparse.Namespace) -> Any:
    from .backend import open_backend

    url = db_url(args)
    key = master_key(args, url)
    args.current_master_key = key  # rotate-master compares the new key with it
    return open_backend(url, key)


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------
def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _note(text: str) -> None:
    sys.stderr.write(f"{PROG}: {text}\n")


def _json(doc: Any) -> None:
    _out(json.dumps(doc, indent=2, ensure_ascii=False))


def _table(rows: list[dict[str, Any]], columns: Sequence[tuple[str, str]], empty: str) -> None:
    if not rows:
        _out(empty)
        return
    cells = [[h for _, h in columns]] + [
        ["" if row.get(k) is None else str(row.get(k)) for k, _ in columns] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for r in cells:
        _out("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "-"


def scope_label(args: argparse.Namespace) -> str:
    scope = "package" if args.scope == "service" else args.scope
    if scope == "platform":
        return "the platform scope"
    if scope == "project":
        return f"project {args.project}"
    return f"package {args.project}/{args.package}"


# ----------------------------------------------------------------------------------------------
# Reading input
# ----------------------------------------------------------------------------------------------
def read_bytes(path: str, what: str) -> bytes:
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise CLIError(f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise CLIError(f"{what} {path} is a folder, not a file") from None
    except OSError as err:
        raise CLIError(f"cannot read {what} {path}: {err.strerror or err}") from None


def _reject_constant(token: str) -> Any:
    raise ValueError(token)


def parse_value(text: str) -> Any:
    """A value that parses as JSON is that JSON value; anything else is a plain string.

    One trailing newline (as `echo` or an editor adds) is dropped first.
    """
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def secret_value_text(args: argparse.Namespace) -> str:
    if args.value is not None:
        _note(
            "warning: a value given on the command line is visible to other local users (ps) and "
            "in your shell history; prefer --value-file FILE or standard input"
        )
        return args.value
    if args.value_file is not None:
        data = read_bytes(args.value_file, "value file")
    elif sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"value of secret {args.name} (not echoed): ")
    else:
        data = read_bytes("-", "standard input")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CLIError("the secret value is not UTF-8 text") from None


# ----------------------------------------------------------------------------------------------
# Commands: each takes (args, backend) and returns the exit code
# ----------------------------------------------------------------------------------------------
def cmd_secrets_upload(args: argparse.Namespace, backend: Any) -> int:
    data = read_bytes(args.file, "secrets file")
    mode = "replace" if args.replace else "upsert"
    result = backend.secrets.upload(data, args.scope, args.project, args.package, mode=mode)
    if args.json:
        _json(result.to_dict())
    else:
        _out(
            f"stored {len(result.stored)} secret(s) in {scope_label(args)}: created {_names(result.created)}; "
            f"updated {_names(result.updated)}" + (f"; deleted {_names(result.deleted)}" if args.replace else "")
        )
    return 0


def cmd_secrets_set(args: argparse.Namespace, backend: Any) -> int:
    value = parse_value(secret_value_text(args))
    info = backend.secrets.set(args.name, value, args.scope, args.project, args.package)
    _out(f"set secret {info.name} in {scope_label(args)} (version {info.version})")
    return 0


def cmd_secrets_list(args: argparse.Namespace, backend: Any) -> int:
    rows = [info.to_dict() for info in backend.secrets.list(args.scope, args.project, args.package)]
    if args.json:
        _json(rows)
    else:
        _table(rows, [("name", "NAME"), ("version", "VERSION"), ("updated_at", "UPDATED")],
               f"no secrets in {scope_label(args)}")
    return 0


def cmd_secrets_delete(args: argparse.Namespace, backend: Any) -> int:
    backend.secrets.delete(args.name, args.scope, args.project, args.package)
    _out(f"deleted secret {args.name} from {scope_label(args)}")
    return 0


def cmd_projects_create(args: argparse.Namespace, backend: Any) -> int:
    project = backend.projects.create(args.name, args.description)
    _out(f"created project {project['name']} (id {project['id']})")
    return 0


def cmd_projects_list(args: argparse.Namespace, backend: Any) -> int:
    rows = backend.projects.list()
    if args.json:
        _json(rows)
    else:
        _table(rows, [("name", "NAME"), ("created_at", "CREATED"), ("description", "DESCRIPTION")],
               "no projects")
    return 0


def cmd_projects_delete(args: argparse.Namespace, backend: Any) -> int:
    backend.projects.delete(args.name)
    _out(f"deleted project {args.name} with its packages, executions and secrets")
    return 0


def cmd_packages_create(args: argparse.Namespace, backend: Any) -> int:
    from .services.packages import Upload

    def upload(path: str, what: str) -> Upload:
        return Upload(os.path.basename(path), read_bytes(path, what))

    scripts = [upload(p, "script") for p in args.script or []]
    secrets = upload(args.secrets, "secrets file") if args.secrets else None
    config = upload(args.config, "config file") if args.config else None
    package = backend.packages.create(args.project, args.name, args.description, scripts, secrets, config)
    if args.json:
        _json(package)
        return 0
    _out(
        f"created package {package['project']}/{package['name']} (id {package['id']}): "
        f"scripts {_names([s['name'] for s in package['scripts']])}"
    )
    if "secrets" in package:
        _out(f"stored {len(package['secrets']['stored'])} package secret(s): {_names(package['secrets']['stored'])}")
    return 0


def cmd_packages_list(args: argparse.Namespace, backend: Any) -> int:
    rows = backend.packages.list(args.project)
    if args.json:
        _json(rows)
    else:
        for row in rows:
            row["script_names"] = ", ".join(s["name"] for s in row["scripts"])
        _table(rows, [("name", "NAME"), ("script_names", "SCRIPTS"), ("updated_at", "UPDATED"),
                      ("description", "DESCRIPTION")], f"no packages in project {args.project}")
    return 0


def _new_master_key(path: Path) -> bytes:
    """Read the new key from `path`, or create it there (mode 0600) before anything changes."""
    from .keyring import Keyring, decode_key, encode_key

    if path.exists():
        return decode_key(read_bytes(str(path), "new key file").decode("utf-8", "replace"),
                          f"new key file {path}")
    key = Keyring.new_data_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(encode_key(key) + "\n")
        f.flush()
        os.fsync(f.fileno())
    _note(f"wrote a new master key to {path} (mode 0600)")
    return key


def cmd_keys_rotate_master(args: argparse.Namespace, backend: Any) -> int:
    from .keyring import Keyring
    from .services.keys import rotate_master_key

    new_key = _new_master_key(Path(args.new_key_file))
    if new_key == args.current_master_key:
        raise CLIError(f"{args.new_key_file} holds the current master key; give a different key")
    count = rotate_master_key(backend.store, backend.keyring, Keyring(new_key))
    _out(f"re-wrapped {count} data key(s) under the master key in {args.new_key_file}")
    _note(
        "the old master key no longer opens this store: set $DX_MASTER_KEY to the new key, or "
        f"replace the key file with {args.new_key_file} (or point --key-file / "
        "c.EnvOrFileMasterKeyProvider.key_file at it) before the next start"
    )
    return 0


def cmd_keys_rotate_data(args: argparse.Namespace, backend: Any) -> int:
    from .services.keys import rotate_data_key
    from .services.owners import owner_for

    with backend.store.read() as session:
        owner = owner_for(session, args.scope, args.project, args.package)
    count = rotate_data_key(backend.store, backend.keyring, owner)
    _out(f"gave {owner.label} a new data key and re-encrypted {count} secret(s)")
    return 0


# ----------------------------------------------------------------------------------------------
# The parser
# ----------------------------------------------------------------------------------------------
def _common_options() -> argparse.ArgumentParser:
    """--db-url and --key-file, accepted before or after the command words."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db-url", default=argparse.SUPPRESS, metavar="URL",
        help=f"SQLAlchemy URL of the store (default: ${DB_URL_ENV}, else the SQLite file in the "
        "Jupyter data dir)",
    )
    common.add_argument(
        "--key-file", default=argparse.SUPPRESS, metavar="FILE",
        help="master key file, used when $DX_MASTER_KEY is not set (default: master.key beside "
        "the SQLite file; created on first use)",
    )
    return common


def _scope_options() -> argparse.ArgumentParser:
    scoped = argparse.ArgumentParser(add_help=False)
    scoped.add_argument("--scope", required=True, choices=SCOPE_CHOICES,
                        help="whose secrets: a package (also 'service'), a project, or the platform")
    scoped.add_argument("--project", help="project name (project and package scopes)")
    scoped.add_argument("--package", help="package name (package scope)")
    return scoped


def build_parser() -> argparse.ArgumentParser:
    common, scoped = _common_options(), _scope_options()
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="Manage dx_jupyter's secrets, projects, packages and keys (run as `jupyter dx`).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    groups = parser.add_subparsers(dest="group", metavar="{secrets,projects,packages,keys}", required=True)

    def command(group: Any, name: str, func: Callable[..., int], help: str,
                parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
        sub = group.add_parser(name, parents=[common, *parents], help=help, description=help)
        sub.set_defaults(func=func)
        return sub

    secrets = groups.add_parser("secrets", help="upload, set, list and delete secrets").add_subparsers(
        dest="command", metavar="{upload,set,list,delete}", required=True)
    sub = command(secrets, "upload", cmd_secrets_upload,
                  "store every name: value of a secrets.json in one scope", [scoped, as_json])
    sub.add_argument("file", metavar="FILE|-", help="the secrets.json file, or - for standard input")
    sub.add_argument("--replace", action="store_true",
                     help="also delete the scope's secrets that the file does not name")
    sub = command(secrets, "set", cmd_secrets_set,
                  "create or update one secret; the value is JSON if it parses as JSON, else a string",
                  [scoped])
    sub.add_argument("name", help="secret name")
    source = sub.add_mutually_exclusive_group()
    source.add_argument("value", nargs="?", default=None,
                        help="the value (visible in ps and shell history: prefer --value-file or stdin)")
    source.add_argument("--value-file", metavar="FILE", help="read the value from FILE (- for stdin)")
    command(secrets, "list", cmd_secrets_list, "list a scope's secrets: names, versions, times, never values",
            [scoped, as_json])
    sub = command(secrets, "delete", cmd_secrets_delete, "delete one secret", [scoped])
    sub.add_argument("name", help="secret name")

    projects = groups.add_parser("projects", help="create, list and delete projects").add_subparsers(
        dest="command", metavar="{create,list,delete}", required=True)
    sub = command(projects, "create", cmd_projects_create, "create a project")
    sub.add_argument("name")
    sub.add_argument("--description", default="")
    command(projects, "list", cmd_projects_list, "list projects", [as_json])
    sub = command(projects, "delete", cmd_projects_delete,
                  "delete a project with its packages, executions and secrets")
    sub.add_argument("name")

    packages = groups.add_parser("packages", help="create and list packages").add_subparsers(
        dest="command", metavar="{create,list}", required=True)
    sub = command(packages, "create", cmd_packages_create,
                  "create a package from scripts, an optional secrets.json and config.json", [as_json])
    sub.add_argument("project")
    sub.add_argument("name")
    sub.add_argument("--script", action="append", metavar="FILE.py",
                     help="a script, in run order; repeat for each script")
    sub.add_argument("--secrets", metavar="FILE", help="a secrets.json for the package scope (not kept)")
    sub.add_argument("--config", metavar="FILE", help="a config.json (a JSON object)")
    sub.add_argument("--description", default="")
    sub = command(packages, "list", cmd_packages_list, "list a project's packages", [as_json])
    sub.add_argument("project")

    keys = groups.add_parser("keys", help="rotate the master key or a data key").add_subparsers(
        dest="command", metavar="{rotate-master,rotate-data}", required=True)
    sub = command(keys, "rotate-master", cmd_keys_rotate_master,
                  "re-wrap every data key under a new master key (read from, or created in, FILE)")
    sub.add_argument("--new-key-file", required=True, metavar="FILE")
    command(keys, "rotate-data", cmd_keys_rotate_data,
            "give one owner a new data key and re-encrypt its secrets", [scoped])
    return parser


# ----------------------------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------------------------
def _known_error(err: BaseException) -> Optional[str]:
    """The one-line message for errors a user can fix; None for bugs (they keep their traceback)."""
    if isinstance(err, (DXError, CLIError)):
        return str(err)
    keyring = sys.modules.get("dx_jupyter.keyring")
    if keyring is not None and isinstance(err, keyring.MasterKeyError):
        return str(err)
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(err, sa_exc.SQLAlchemyError):
        orig = getattr(err, "orig", None)
        return f"the store failed: {orig if orig is not None else err}"
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}"
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, usage errors (2)
        return done.code if isinstance(done.code, int) else 2
    backend = None
    try:
        backend = open_store(args)
        return args.func(args, backend)
    except KeyboardInterrupt:
        return 130
    except Exception as err:
        message = _known_error(err)
        if message is None:
            raise
        message = " ".join(message.split()) or type(err).__name__
        sys.stderr.write(f"{PROG}: error: {message}\n")
        return 1
    finally:
        if backend is not None:
            backend.close()


if __name__ == "__main__":
    sys.exit(main())
