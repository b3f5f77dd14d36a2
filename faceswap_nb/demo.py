"""The end-to-end demo behind ``make demo``: one job through the local server.

It makes the public-domain demo media, starts the embedded server, uploads both files
with the client, submits the job, prints its progress, downloads the result and says
where it is. Usage: ``python -m faceswap_nb.demo [FOLDER]`` (default ``demo-output``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faceswap_nb._errors import FaceswapError
from faceswap_nb.client import Job
from faceswap_nb.demo_media import make_demo_media
from faceswap_nb.server import LocalServer, ServerStartError

__all__ = ["main", "run_demo"]

JOB_TIMEOUT = 600.0


def _show(job: Job) -> None:
    progress = f" {job.progress:4.0%}" if job.progress is not None else ""
    print(f"  job {job.job_id[:8]}: {job.status}{progress}", flush=True)


def run_demo(folder: Path) -> Path:
    """Run the demo job and return the path of the swapped video."""
    video, face = make_demo_media(folder)
    print(f"demo media: {video} and {face}")
    with LocalServer.start(folder / "server") as server, server.client() as client:
        print(f"local server: {server.base_url} (log: {server.log_path})")
        job = client.create_job(client.upload(video), client.upload(face))
        done = client.wait(job.job_id, timeout=JOB_TIMEOUT, on_update=_show)
        result = client.download(done, folder / "swapped.mp4")
    usage = f"; {done.usage.seconds:.1f} s of video, cost {done.usage.cost:.2f}" if done.usage else ""
    print(f"job {done.job_id} {done.status}{usage}")
    for warning in done.warnings:
        print(f"  the engine noticed: {warning}")
    if done.warnings:
        # The only public-domain faces that ship in packages are small, smiling, or in glasses.
        print("  (these are about the demo's own media; your own photo and video can avoid them)")
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line; exit status 0 on success, 1 when the job or the server fails."""
    parser = argparse.ArgumentParser(prog="python -m faceswap_nb.demo", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=Path("demo-output"))
    try:
        result = run_demo(parser.parse_args(argv).folder)
    except (FaceswapError, ServerStartError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    print(f"result: {result} (marked as synthetic; the original is beside it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
