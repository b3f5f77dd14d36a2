"""Where the job is followed: nothing is patched at import; wait() works in and out of a loop.

The tests that touch the event loop machinery run in a fresh interpreter, so that what
they see is not what earlier tests in this process left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter (from the project root); it prints one JSON line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_widgets_patches_nothing() -> None:
    seen = run_python(
        """
        import asyncio, json, sys
        import faceswap_nb.widgets
        loop = asyncio.get_event_loop_policy().new_event_loop()
        print(json.dumps({
            "loop": hasattr(loop, "_nest_patched"),
            "asyncio": hasattr(asyncio, "_nest_patched"),
            "imported": "nest_asyncio" in sys.modules,
            "task_is_c": asyncio.Task is asyncio.tasks._CTask,
        }))
        """
    )

    assert seen == {"loop": False, "asyncio": False, "imported": False, "task_is_c": True}


def test_wait_blocks_inside_a_running_loop_like_a_notebook_cell(result_clip: Path, tmp_path: Path) -> None:
    # A kernel cell runs inside the kernel's loop: asyncio.run plays that part here. The
    # task started at submit cannot run while the cell blocks; wait() polls by itself,
    # and the task, run afterwards, finds the job settled and ends with the same answer.
    seen = run_python(
        """
        import asyncio, json, sys
        from pathlib import Path
        from faceswap_nb.widgets import JobPanel
        from tests.widgets.fakes import FakeClient, job

        async def cell():
            states = [job("processing", 0.5), job("completed", 1.0)]
            client = FakeClient(states, result=Path(sys.argv[1]))
            panel = JobPanel(client, results_dir=sys.argv[2], poll_interval=0.01)
            panel.set_inputs(video="https://media.test/v.mp4", face="https://media.test/f.jpg")
            panel.consent.value = True
            panel.submit.click()
            same_loop = panel.task.get_loop() is asyncio.get_running_loop()
            done = panel.wait(10)
            polls = client.polls
            from_task = await panel.task
            return {"status": done.status, "same_loop": same_loop, "task": from_task.status,
                    "task_polled": client.polls - polls,
                    "patched": hasattr(asyncio, "_nest_patched") or "nest_asyncio" in sys.modules,
                    "result_videos": sum(type(w).__name__ == "Video"
                                         for w in panel.result.children[0].children[1].children)}

        print(json.dumps(asyncio.run(cell())))
        """,
        str(result_clip), str(tmp_path),
    )

    assert seen == {"status": "completed", "same_loop": True, "task": "completed",
                    "task_polled": 0, "patched": False, "result_videos": 1}
