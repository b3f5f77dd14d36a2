"""Run the benchmarks against the real engine and print the figures.

    python -m benchmarks [--quick] [--only quality|occlusion|speed|memory|load|polls] [--out DIR]

Writes ``DIR/results.json`` (every figure), ``DIR/sheets/*.png`` (contact sheets),
``DIR/videos/*.mp4`` (the swapped clips), ``DIR/load.json`` (the server's request
latencies) and ``DIR/polls.json`` (the client's share of a status poll). Exits 1 when a
target fails or a section cannot run, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks import MissingTestdata

SECTIONS = ("quality", "occlusion", "speed", "memory", "load", "polls")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="one photo per clip, fewer repetitions, shorter memory clips"
    )
    parser.add_argument("--only", choices=SECTIONS, help="run one section")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-output"), help="output folder (default bench-output/)"
    )
    return parser.parse_args(argv)


def _run_section(name: str, out: Path, quick: bool) -> tuple[dict[str, Any], str]:
    """Run one section against the engine; returns its results and printable lines."""
    # Imported here so that --only memory (which imports the engine in a child), --only
    # load and --only polls (which talk to a server) and the error report work even when
    # the engine package does not import in this process.
    if name == "memory":
        from benchmarks.speed import format_memory, run_memory

        result = run_memory(out, quick)
        return result, format_memory(result["figures"])
    if name == "load":
        from benchmarks.load import format_load, run_load

        result = run_load(out)
        return result, format_load(result["figures"])
    if name == "polls":
        from benchmarks.polls import format_polls, run_polls

        result = run_polls(out)
        return result, format_polls(result["figures"])
    from faceswap_nb.engine import swap_video

    if name == "quality":
        from benchmarks.quality import format_analysis, format_floor, format_runs, run_quality
        from faceswap_nb.engine.encode import transcode
        from faceswap_nb.engine.pipeline import analyse_video

        result = run_quality(swap_video, out, quick, analyse=analyse_video, reencode=transcode)
        sections = (format_runs(result["runs"]), format_analysis(result["analysis"]), format_floor(result["floor"]))
        return result, "\n\n".join(sections)
    if name == "occlusion":
        from benchmarks.occlusion import format_occlusion, run_occlusion

        result = run_occlusion(swap_video, out)
        return result, format_occlusion(result["figures"])
    from benchmarks.speed import format_speed, plain_transcode, run_speed
    from faceswap_nb.engine.encode import transcode

    result = run_speed(swap_video, plain_transcode, out, repetitions=2 if quick else 3, io_path=transcode)
    return result, format_speed(result["figures"])


def _worst(verdict: dict[str, Any]) -> float | None:
    values = [v for v in verdict["values"] if isinstance(v, (int, float))]
    if not values:
        return None
    return max(values) if "<=" in verdict["target"] else min(values)


def _failed(result: dict[str, Any]) -> bool:
    return "error" in result or any(verdict["pass"] is False for verdict in result.get("targets", []))


def format_verdicts(sections: dict[str, dict[str, Any]]) -> str:
    """PASS / FAIL / n/a per target over all sections, with the worst value seen."""
    lines = []
    for name, result in sections.items():
        for verdict in result.get("targets", []):
            state = {True: "PASS", False: "FAIL", None: "n/a "}[verdict["pass"]]
            worst = _worst(verdict)
            counted = verdict["passed"] + verdict["failed"]
            lines.append(
                f"{state}  {name:9} {verdict['target']:28} "
                f"{verdict['passed']}/{counted} runs" + ("" if worst is None else f", worst {worst:.3g}")
            )
        if "error" in result:
            lines.append(f"ERROR {name:9} {result['error']}")
        if "skipped" in result:
            lines.append(f"SKIP  {name:9} {result['skipped']}")
    return "\n".join(lines)


def _previous_sections(path: Path) -> dict[str, Any]:
    """Sections of an earlier results.json, kept when ``--only`` reruns one of them."""
    try:
        return dict(json.loads(path.read_text())["sections"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def main(argv: list[str] | None = None, print_: Callable[[str], None] = print) -> int:
    """Run the chosen sections, print tables and verdicts, write results.json."""
    args = _parse(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "results.json"
    sections = _previous_sections(path) if args.only else {}
    for name in (args.only,) if args.only else SECTIONS:
        print_(f"\n== {name} ==")
        started = time.perf_counter()
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            result, text = _run_section(name, args.out, args.quick)
            print_(text)
        except MissingTestdata as error:
            result = {"skipped": str(error)}
        except Exception as error:  # noqa: BLE001 - report and go on: the other sections still inform
            result = {"error": f"{type(error).__name__}: {error}"}
        result.update(started=stamp, quick=args.quick, seconds=round(time.perf_counter() - started, 1))
        print_(f"({name}: {result['seconds']} s)")
        sections[name] = result
    ran = {name: sections[name] for name in ((args.only,) if args.only else SECTIONS)}
    print_("\n== targets ==\n" + format_verdicts(ran))
    machine = f"{platform.machine()} {platform.python_version()}"
    path.write_text(json.dumps({"machine": machine, "sections": sections}, indent=1, default=str))
    print_(f"\nfigures written to {path}")
    return 1 if any(_failed(result) for result in ran.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
