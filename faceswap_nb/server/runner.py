"""One job's engine work, in a child process: content policy, then the swap.

The worker starts ``python -m faceswap_nb.server.runner`` per job, so a job can be
cancelled by killing it, a crash in native code cannot take the server down, and the
server process never loads the models. The child speaks JSON lines on stdout::

    {"progress": 0.42}
    {"done": {"frames": 120, "framesSwapped": 118, "videoSeconds": 4.0, "warnings": []}}
    {"error": {"code": "no_face_in_video", "message": "..."}}

It exits as soon as its stdin reaches end-of-file: the server holds that pipe open, so
a server killed with SIGKILL takes its running jobs with it instead of leaving orphans.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["POLICY_SHARE", "main"]

# The share of the progress bar the content check takes before the swap starts.
POLICY_SHARE = 0.05
EXIT_ORPHANED = 3


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _die_with_parent() -> None:
    sys.stdin.read()
    os._exit(EXIT_ORPHANED)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m faceswap_nb.server.runner")
    parser.add_argument("--video", type=Path, required=True)
    parser.add_argument("--face", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--advanced", action="store_true")
    parser.add_argument("--extra-blocked", default="", help="comma-separated test-only classes")
    return parser


def _run(args: argparse.Namespace) -> dict[str, Any]:
    from faceswap_nb.engine import swap_video
    from faceswap_nb.server.policy import ContentPolicy

    extra = [c for c in args.extra_blocked.split(",") if c]
    ContentPolicy(extra).check(args.video, args.face)
    _say({"progress": POLICY_SHARE})
    report = swap_video(
        args.video, args.face, args.out, advanced=args.advanced,
        progress=lambda f: _say({"progress": POLICY_SHARE + (1 - POLICY_SHARE) * f}),
    )
    return {
        "frames": report.frames,
        "framesSwapped": report.frames_swapped,
        "videoSeconds": report.video_seconds,
        "warnings": report.warnings,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one job; the answer is the last JSON line on stdout. Exit 0 either way."""
    args = _parser().parse_args(argv)
    threading.Thread(target=_die_with_parent, daemon=True).start()
    from faceswap_nb._errors import FaceswapError

    try:
        _say({"done": _run(args)})
    except FaceswapError as error:
        _say({"error": {"code": error.code, "message": error.message}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
