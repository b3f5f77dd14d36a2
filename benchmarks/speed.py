"""Speed against a plain transcode, and peak memory against clip length.

Speed: a 720p clip is timed through the reference (``plain_transcode``: the decoder's
frames straight into libx264 with the engine's encoder settings) and through
``swap_video`` in both modes, interleaved (reference, default, reference, advanced, …)
so that a busy machine slows all of them alike; medians of the repetitions are
compared. The engine's own I/O path (``faceswap_nb.engine.encode.transcode``: decode →
encode as the swap does it, everything but the face work) is timed too and reported
beside it.

Memory: ``swap_video`` runs in a fresh subprocess on a 1080p clip of N frames and of 3N
frames; the child's peak resident set size must stay under a bound and must not grow
with the clip (a streaming engine holds a fixed number of frames).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import cv2
import numpy as np

from benchmarks import SwapFn, Target, VideoOut, read_frames, testdata_file, verdicts, video_rate

if TYPE_CHECKING:
    from faceswap_nb.engine.types import Image

SPEED_CLIP = "retalking_face1.mp4"
MEMORY_CLIP = "roop_target.mp4"
PHOTO = "roop_source.jpg"
ENGINE = "faceswap_nb.engine:swap_video"

SPEED_TARGETS = (
    Target("speed_ratio_default", "<=", 1.6, "swap_video time / transcode time, default mode, 720p"),
    Target("speed_ratio_advanced", "<=", 2.5, "swap_video time / transcode time, advanced mode, 720p"),
)
MEMORY_TARGETS = (
    Target("peak_rss_gb", "<=", 1.5, "largest peak RSS of swap_video on 1080p, GB"),
    Target("rss_growth", "<=", 1.15, "peak RSS on 3N frames / on N frames (1 = flat)"),
)

_GB = 1024**3
_POLL_SECONDS = 0.05


def letterbox(image: Image, width: int, height: int) -> Image:
    """Fit ``image`` inside width × height, centred on black bars."""
    scale = min(width / image.shape[1], height / image.shape[0])
    size = (int(round(image.shape[1] * scale)) & ~1, int(round(image.shape[0] * scale)) & ~1)
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    canvas[top : top + size[1], left : left + size[0]] = resized
    return canvas


def fill(image: Image, width: int, height: int) -> Image:
    """Scale ``image`` to cover width × height and crop the overflow (no bars)."""
    scale = max(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[top : top + height, left : left + width])


def make_clip(
    source: Path, out: Path, width: int, height: int, loops: int = 1,
    frame: Callable[[Image, int, int], Image] = letterbox,
) -> Path:
    """Write ``source`` fitted to width × height by ``frame``, played ``loops`` times
    (forwards, then backwards, so the motion has no jump); kept if present."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    rate, _ = video_rate(source)
    partial = out.with_suffix(".partial.mp4")
    images = [frame(image, width, height) for image in read_frames(source)] if loops > 1 else None
    with VideoOut(partial, rate, crf=18) as writer:
        if images is None:
            for image in read_frames(source):
                writer.write(frame(image, width, height))
        for loop in range(loops if images else 0):
            for image in images if loop % 2 == 0 else images[::-1]:
                writer.write(image)
    partial.rename(out)
    return out


def plain_transcode(video: Path, out: Path, *, crf: int = 20, preset: str = "veryfast") -> int:
    """Decode and re-encode ``video`` as plainly as PyAV can: the decoder's 4:2:0 frames go
    to libx264 (the engine's settings) as they are, and the audio packets are copied.

    The speed reference. The engine's own ``encode.transcode`` does the same through
    the swap's reader and writer (which copy each frame's planes, and convert frames
    without 4:2:0 planes to BGR and back); what that costs belongs to the swap, not the
    reference. Returns the number of frames written.
    """
    with av.open(str(video)) as source, av.open(str(out), "w", format="mp4") as sink:
        stream = source.streams.video[0]
        stream.thread_type = "AUTO"
        encoded = sink.add_stream("libx264", rate=stream.average_rate, options={"crf": str(crf), "preset": preset})
        encoded.width, encoded.height, encoded.pix_fmt = stream.width, stream.height, "yuv420p"
        encoded.time_base = encoded.codec_context.time_base = stream.time_base
        encoded.codec_context.thread_count = 0
        audio = source.streams.audio[0] if source.streams.audio else None
        copied = sink.add_stream_from_template(audio) if audio is not None else None
        frames = 0
        for packet in source.demux(*(s for s in (stream, audio) if s is not None)):
            if packet.stream is audio:
                if packet.dts is not None:
                    packet.stream = copied
                    sink.mux(packet)
                continue
            for frame in packet.decode():
                if frame.format.name != "yuv420p":
                    frame = frame.reformat(format="yuv420p")
                sink.mux(encoded.encode(frame))
                frames += 1
        sink.mux(encoded.encode(None))
    return frames


def _seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


SPEED_CLIPS = (
    # A static talking head with bars: x264's cheapest case, so the hardest ratio.
    ("720p letterboxed " + SPEED_CLIP, SPEED_CLIP, "speed_720p.mp4", 1, letterbox),
    # A full-frame moving scene (a car interior), ping-ponged to 10 s.
    ("720p full-frame " + MEMORY_CLIP, MEMORY_CLIP, "speed_720p_full.mp4", 10, fill),
)


Transcode = Callable[[Path, Path], int]


def run_speed(
    swap: SwapFn, reference: Transcode, out_dir: Path, repetitions: int = 3, io_path: Transcode | None = None
) -> dict[str, Any]:
    """Time the reference and both swap modes on each speed clip, interleaved; ratios of
    the medians. The targets are judged on the worst clip. ``io_path`` (the engine's own
    decode → encode), when given, is timed too, for what the swap's I/O costs."""
    runs = []
    for label, name, file_name, loops, frame in SPEED_CLIPS:
        clip = make_clip(testdata_file("videos", name), out_dir / "clips" / file_name, 1280, 720, loops, frame)
        runs.append({"clip": label, **_time_clip(swap, reference, clip, repetitions, io_path)})
    figures: dict[str, Any] = {"runs": runs}
    for mode in ("default", "advanced"):
        figures[f"speed_ratio_{mode}"] = max(run[f"speed_ratio_{mode}"] for run in runs)
    return {"figures": figures, "targets": verdicts(SPEED_TARGETS, [figures])}


def _time_clip(
    swap: SwapFn, reference: Transcode, clip: Path, repetitions: int, io_path: Transcode | None
) -> dict[str, Any]:
    photo = testdata_file("images", PHOTO)
    _, frames = video_rate(clip)
    times: dict[str, list[float]] = {"reference": [], "default": [], "advanced": []}
    if io_path is not None:
        times["io_path"] = []
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "out.mp4"
        for _ in range(repetitions):
            for mode in ("default", "advanced"):
                times["reference"].append(_seconds(lambda: reference(clip, target)))
                advanced = mode == "advanced"
                times[mode].append(_seconds(lambda a=advanced: swap(clip, photo, target, advanced=a)))
            if io_path is not None:
                times["io_path"].append(_seconds(lambda: io_path(clip, target)))
    medians = {name: statistics.median(values) for name, values in times.items()}
    figures: dict[str, Any] = {"frames": frames, "repetitions": repetitions}
    figures.update({f"seconds_{name}": [round(v, 2) for v in values] for name, values in times.items()})
    figures.update({f"fps_{name}": round(frames / seconds, 1) for name, seconds in medians.items()})
    for mode in ("default", "advanced"):
        figures[f"speed_ratio_{mode}"] = medians[mode] / medians["reference"]
        if io_path is not None:
            figures[f"io_path_ratio_{mode}"] = medians[mode] / medians["io_path"]
    return figures


# The child reads its peak from VmHWM: ru_maxrss would not do, because Linux keeps it
# across fork + exec, so the child would start at the parent's own (dlib-sized) peak.
_CHILD = """
import importlib, json, sys

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

module, name = sys.argv[1].split(":")
swap = getattr(importlib.import_module(module), name)
loaded = peak_kb()
report = swap(sys.argv[2], sys.argv[3], sys.argv[4], advanced=sys.argv[5] == "1")
print(json.dumps({"loaded_kb": loaded, "peak_kb": peak_kb(), "frames": report.frames}))
"""


def peak_memory(engine: str, video: Path, photo: Path, advanced: bool) -> dict[str, Any]:
    """Run ``engine`` ("module:function") in a fresh Python and measure its peak RSS.

    The child reports its own peak (Linux ``VmHWM``); the parent also polls the child's
    RSS plus any grandchildren's with psutil, in case work happens in helper processes.

    Raises:
        RuntimeError: when the child fails, with the end of its error output.
    """
    import psutil

    with tempfile.TemporaryDirectory() as scratch:
        out, log = Path(scratch) / "out.mp4", Path(scratch) / "stderr.txt"
        mode = "1" if advanced else "0"
        command = [sys.executable, "-c", _CHILD, engine, str(video), str(photo), str(out), mode]
        with open(log, "w") as errors:
            child = psutil.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
            polled = 0
            while child.poll() is None:
                try:
                    tree = [child, *child.children(recursive=True)]
                    polled = max(polled, sum(process.memory_info().rss for process in tree))
                except psutil.Error:
                    pass  # the child ended between poll() and memory_info()
                time.sleep(_POLL_SECONDS)
            stdout = child.stdout.read() if child.stdout else ""
        if child.returncode != 0:
            raise RuntimeError(f"swap_video child failed: {log.read_text()[-800:]}")
        reported = json.loads(stdout.strip().splitlines()[-1])
    peak = max(reported["peak_kb"] * 1024, polled)
    loaded = reported["loaded_kb"] * 1024
    return {"frames": reported["frames"], "loaded_gb": loaded / _GB, "peak_gb": peak / _GB}


def run_memory(out_dir: Path, quick: bool = False, engine: str = ENGINE) -> dict[str, Any]:
    """Peak RSS on 1080p clips of N and 3N frames, in each mode (advanced only when quick)."""
    source = testdata_file("videos", MEMORY_CLIP)
    loops = 2 if quick else 3
    clips = {
        n: make_clip(source, out_dir / "clips" / f"memory_1080p_x{n}.mp4", 1920, 1080, n)
        for n in (loops, 3 * loops)
    }
    photo = testdata_file("images", PHOTO)
    figures: dict[str, Any] = {"clip": "1080p " + MEMORY_CLIP + " looped", "runs": []}
    for advanced in (True,) if quick else (False, True):
        peaks = []
        for n, clip in clips.items():
            run = {"advanced": advanced, "loops": n, **peak_memory(engine, clip, photo, advanced)}
            figures["runs"].append(run)
            peaks.append(run["peak_gb"])
        figures[f"growth_{'advanced' if advanced else 'default'}"] = peaks[1] / peaks[0]
    figures["peak_rss_gb"] = max(run["peak_gb"] for run in figures["runs"])
    figures["rss_growth"] = max(value for key, value in figures.items() if key.startswith("growth_"))
    return {"figures": figures, "targets": verdicts(MEMORY_TARGETS, [figures])}


def format_speed(figures: dict[str, Any]) -> str:
    """Speed figures per clip: against the plain transcode, and against the engine's own
    I/O path when it was timed."""
    lines = []
    for run in figures["runs"]:
        lines.append(
            f"{run['clip']} ({run['frames']} frames): plain transcode {run['fps_reference']} fps, "
            f"default {run['fps_default']} fps (x{run['speed_ratio_default']:.2f}), "
            f"advanced {run['fps_advanced']} fps (x{run['speed_ratio_advanced']:.2f})"
        )
        if "fps_io_path" in run:
            lines.append(
                f"  through the engine's I/O path (decode → encode) {run['fps_io_path']} fps: "
                f"default x{run['io_path_ratio_default']:.2f}, advanced x{run['io_path_ratio_advanced']:.2f}"
            )
    return "\n".join(lines)


def format_memory(figures: dict[str, Any]) -> str:
    """One line per memory run."""
    return "\n".join(
        f"{'advanced' if run['advanced'] else 'default '} {run['frames']:4d} frames 1080p: "
        f"peak {run['peak_gb']:.2f} GB (after import {run['loaded_gb']:.2f} GB)"
        for run in figures["runs"]
    )
