"""Multi-step packages: order, failure of a middle step, exit codes, durations, merged output."""
from __future__ import annotations

import os
import time

from executions_support import make_package, output, run, start, wait_for, wait_for_file

STEP = "print('step {n} ran')\n"


async def test_steps_run_in_package_order_numbered_from_one(dx_api):
    await make_package(dx_api, {"c_first.py": STEP.format(n=1), "a_second.py": STEP.format(n=2),
                                "b_third.py": STEP.format(n=3)})
    done = await run(dx_api)
    assert done["status"] == "completed", done
    assert [(s["number"], s["script"], s["status"]) for s in done["steps"]] == [
        (1, "c_first.py", "completed"), (2, "a_second.py", "completed"), (3, "b_third.py", "completed"),
    ]
    for n in (1, 2, 3):
        assert (await output(dx_api, done["id"], n))["output"] == f"step {n} ran\n"


async def test_steps_run_one_after_another(dx_api, tmp_path):
    log = tmp_path / "order.log"
    write = (
        "import time\nfrom ferris_ef import get_param\n"
        "with open(get_param('log'), 'a') as f: f.write('start {n} %f\\n' % time.time())\n"
        "time.sleep(0.2)\n"
        "with open(get_param('log'), 'a') as f: f.write('end {n} %f\\n' % time.time())\n"
    )
    await make_package(dx_api, {f"s{n}.py": write.format(n=n) for n in (1, 2, 3)})
    done = await run(dx_api, params={"log": str(log)})
    assert done["status"] == "completed", done
    events = [line.split()[:2] for line in log.read_text().splitlines()]
    assert events == [["start", "1"], ["end", "1"], ["start", "2"], ["end", "2"], ["start", "3"], ["end", "3"]]


async def test_failing_middle_step_fails_the_execution_and_leaves_later_steps_unprocessed(dx_api):
    await make_package(dx_api, {
        "one.py": "print('one')\n",
        "two.py": "import sys\nprint('two fails')\nsys.exit(3)\n",
        "three.py": "print('three')\n",
    })
    done = await run(dx_api)
    assert done["status"] == "failed"
    assert "step 2" in done["status_message"] and "two.py" in done["status_message"]
    assert "code 3" in done["status_message"]
    assert [(s["status"], s["exit_code"]) for s in done["steps"]] == [
        ("completed", 0), ("failed", 3), ("unprocessed", None),
    ]
    third = done["steps"][2]
    assert third["started_at"] is None and third["finished_at"] is None and third["duration"] is None
    result = await output(dx_api, done["id"], 3)
    assert result["status"] == "unprocessed" and result["output"] == ""


async def test_uncaught_exception_records_exit_code_one_and_the_traceback(dx_api):
    await make_package(dx_api, {"boom.py": "def f():\n    raise ValueError('bad input 42')\nf()\n"})
    done = await run(dx_api)
    assert done["status"] == "failed"
    assert done["steps"][0]["exit_code"] == 1
    text = (await output(dx_api, done["id"]))["output"]
    assert "Traceback (most recent call last)" in text
    assert "ValueError: bad input 42" in text
    assert "[step 1 (boom.py) exited with code 1]" in text


async def test_exit_codes_are_recorded_per_step(dx_api):
    await make_package(dx_api, {"ok.py": "import sys\nsys.exit(0)\n", "bad.py": "import sys\nsys.exit(7)\n"})
    done = await run(dx_api)
    assert [s["exit_code"] for s in done["steps"]] == [0, 7]


async def test_step_and_execution_durations_are_recorded(dx_api):
    await make_package(dx_api, {"sleep.py": "import time\ntime.sleep(0.3)\n", "quick.py": "pass\n"})
    done = await run(dx_api)
    slow, quick = done["steps"]
    assert 0.3 <= slow["duration"] < 10
    assert 0 <= quick["duration"] < slow["duration"]
    assert done["duration"] >= slow["duration"] + quick["duration"] - 0.01
    for step in done["steps"]:
        assert step["started_at"] and step["finished_at"] and step["started_at"] <= step["finished_at"]
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]


async def test_stdout_and_stderr_are_interleaved_in_order(dx_api):
    source = (
        "import sys\n"
        "for i in range(5):\n"
        "    print(f'out {i}')\n"
        "    print(f'err {i}', file=sys.stderr)\n"
    )
    await make_package(dx_api, {"mix.py": source})
    done = await run(dx_api)
    text = (await output(dx_api, done["id"]))["output"]
    assert text == "".join(f"out {i}\nerr {i}\n" for i in range(5))


async def test_a_script_sees_params_package_and_config(dx_api):
    source = (
        "from ferris_ef import context, get_param\n"
        "print(get_param('day'), get_param('package_name'), context.package.name,"
        " context.config.get('BATCH'))\n"
    )
    await make_package(dx_api, {"p.py": source}, config={"BATCH": 5})
    done = await run(dx_api, params={"day": "monday"})
    assert (await output(dx_api, done["id"]))["output"] == "monday pkg pkg 5\n"


async def test_script_runs_as_main_with_its_own_folder_as_cwd_and_argv(dx_api):
    source = (
        "import os, sys\n"
        "print(__name__, os.path.basename(sys.argv[0]), os.getcwd() == os.path.dirname(sys.argv[0]))\n"
    )
    await make_package(dx_api, {"main.py": source})
    done = await run(dx_api)
    assert (await output(dx_api, done["id"]))["output"] == "__main__ main.py True\n"


async def test_a_later_step_can_import_an_earlier_script_of_the_package(dx_api):
    await make_package(dx_api, {"helpers.py": "VALUE = 41\n", "use.py": "import helpers\nprint(helpers.VALUE + 1)\n"})
    done = await run(dx_api)
    assert (await output(dx_api, done["id"], 2))["output"] == "42\n"


async def test_background_process_left_by_a_step_is_killed_and_does_not_hold_the_step(dx_api, tmp_path):
    pid_file = tmp_path / "bg.pid"
    source = (
        "import subprocess, sys\nfrom ferris_ef import get_param\n"
        "bg = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "open(get_param('pid_file'), 'w').write(f'{bg.pid}\\n')\n"
        "print('left a sleeper behind')\n"
    )
    await make_package(dx_api, {"bg.py": source})
    t0 = time.monotonic()
    done = await run(dx_api, params={"pid_file": str(pid_file)})
    assert done["status"] == "completed", done
    assert time.monotonic() - t0 < 4, "the step waited for its background child"
    assert (await output(dx_api, done["id"]))["output"] == "left a sleeper behind\n"
    pid = int(await wait_for_file(pid_file))
    assert not _alive(pid), f"background process {pid} outlived its step"


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


async def test_execution_is_pending_then_in_progress_then_completed(dx_api, tmp_path):
    gate = tmp_path / "gate"
    source = (
        "import os, time\nfrom ferris_ef import get_param\n"
        "while not os.path.exists(get_param('gate')):\n    time.sleep(0.02)\n"
    )
    await make_package(dx_api, {"wait.py": source})
    created = await start(dx_api, params={"gate": str(gate)})
    assert created["status"] == "pending"
    assert [s["status"] for s in created["steps"]] == ["pending"]
    running = await wait_for(dx_api, created["id"], ("in_progress",))
    assert running["started_at"] and running["finished_at"] is None
    gate.write_text("go")
    done = await wait_for(dx_api, created["id"])
    assert done["status"] == "completed"
    os.unlink(gate)
