"""ferris_ef works where only the standard library is: no jupyter_server, tornado, SQLAlchemy or dx_jupyter."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent("""\
    import sys

    BLOCKED = ("jupyter_server", "tornado", "sqlalchemy", "dx_jupyter")

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"import of {name} is blocked in this test", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]

    def check_nothing_blocked_was_imported():
        leaked = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
        assert not leaked, leaked
""")


def run(code: str, cwd: Path, env_extra: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EF_ENV"}
    env.update(PYTHONPATH=str(REPO), **env_extra)
    return subprocess.run([sys.executable, "-c", BLOCKER + code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, **kw)


def test_the_blocker_really_blocks_the_server_packages(tmp_path: Path) -> None:
    done = run("import sqlalchemy\n", tmp_path, {})
    assert done.returncode == 1 and "import of sqlalchemy is blocked" in done.stderr


def test_local_mode_works_with_the_server_packages_blocked(tmp_path: Path) -> None:
    (tmp_path / "ef_env.json").write_text(json.dumps({
        "params": {"package_name": "pkg", "package_id": "7", "p": 1},
        "secrets": {"DB_PASS": "pw"},
        "config": {"LOG_LEVEL": "INFO"},
    }))
    code = textwrap.dedent("""\
        import ferris_ef
        from ferris_ef import context, get_param, get_secret
        assert get_secret("DB_PASS") == "pw" and get_secret("NOPE") is None
        assert get_param("p") == 1 and context.package.id == "7" and context.config["LOG_LEVEL"] == "INFO"
        context.secrets.set("NEW", {"a": 1}, "project")
        assert context.secrets.get("NEW") == {"a": 1}
        context.state.put("k", [1, 2])
        assert context.state.get() == {"k": [1, 2]}
        context.logging.info("logged")
        try:
            context.scheduler
        except AttributeError:
            pass
        check_nothing_blocked_was_imported()
        print("ok")
    """)
    done = run(code, tmp_path, {"EF_ENV": "local"})
    assert done.stdout.strip() == "ok", done.stderr
    assert "INFO pkg: logged" in done.stderr


def test_the_step_launcher_works_with_the_server_packages_blocked(tmp_path: Path) -> None:
    script = tmp_path / "step.py"
    script.write_text(textwrap.dedent("""\
        import sys
        from ferris_ef import get_secret, get_param
        print(get_secret("DB_NAME"), get_param("package_name"))
        leaked = sorted(n for n in sys.modules
                        if n.split(".")[0] in ("jupyter_server", "tornado", "sqlalchemy", "dx_jupyter"))
        print(leaked)
    """))
    read_fd, write_fd = os.pipe()
    os.write(write_fd, json.dumps({"package": {"id": "1", "name": "demo"},
                                   "secrets": {"package": {"DB_NAME": "test_db"}}}).encode())
    os.close(write_fd)
    code = ("import runpy\n"
            f"sys.argv = ['launch', '--payload-fd', '{read_fd}', {str(script)!r}]\n"
            "runpy.run_module('ferris_ef.launch', run_name='__main__', alter_sys=True)\n")
    try:
        done = run(code, tmp_path, {}, pass_fds=[read_fd])
    finally:
        os.close(read_fd)
    assert done.stdout.splitlines() == ["test_db demo", "[]"], done.stderr
