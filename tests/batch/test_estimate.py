"""Estimates: durations read from local files, loopback URLs and the server's uploads.

The real test media are read in place from ``../shared/testdata`` (skipped when absent).
URLs are served on 127.0.0.1 only: by a tiny ``http.server`` here, or by a real local
server whose own upload URLs the client probes with its key (the server fetches nothing).
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from faceswap_nb.batch.estimate import estimate, is_url, probe_seconds, totals
from faceswap_nb.batch.money import Pricing
from faceswap_nb.client import Client
from faceswap_nb.server import LocalServer
from tests.batch.conftest import CLIP_SECONDS, FileServer
from tests.media import write_clip


def decoded_seconds(path: Path) -> float:
    """The duration found by decoding every frame: first timestamp to the last frame's end."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
    end = frames[-1].pts + frames[-1].duration
    return float((end - frames[0].pts) * stream.time_base)


@pytest.fixture(scope="module")
def noise_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6 s clip of noise (3.4 MB, index at the end): big enough to see partial reads."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (256, 256, 3), dtype=np.uint8) for _ in range(60)]
    return write_clip(tmp_path_factory.mktemp("noise") / "noise.mp4", frames)


def test_a_local_clip_costs_its_seconds_times_the_price(clip: Path, face: Path) -> None:
    frame = estimate([(clip, face)])

    row = frame.iloc[0]
    assert row["video_seconds"] == pytest.approx(CLIP_SECONDS)
    assert row["billed_seconds"] == pytest.approx(CLIP_SECONDS)
    assert row["unit_price"] == 0.10
    assert row["est_cost"] == pytest.approx(0.08)
    assert pd_na(row["problem"])


def test_pricing_and_rounding_are_applied(clip: Path, face: Path) -> None:
    started = estimate([(clip, face)], pricing=Pricing(0.5, "per_started_second")).iloc[0]

    assert (started["billed_seconds"], started["est_cost"]) == (1.0, 0.5)
    assert estimate([(clip, face)], price=1.0).iloc[0]["est_cost"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="either price= or pricing="):
        estimate([(clip, face)], price=1.0, pricing=Pricing())


def test_bad_inputs_are_rows_with_a_problem(clip: Path, face: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    empty = tmp_path / "empty.mp4"
    empty.touch()
    pairs = [
        (tmp_path / "missing.mp4", face),
        ("ftp://example.org/a.mp4", face),
        ("http://", face),
        (text, face),
        (empty, face),
        (face, face),  # a JPEG is not a video
        (clip, tmp_path / "no-face.jpg"),
        (clip, "mailto:someone"),
    ]

    problems = estimate(pairs)["problem"].tolist()

    assert "file not found" in problems[0]
    assert "not an http(s) URL" in problems[1]
    assert "not an http(s) URL" in problems[2]
    assert "not a readable video" in problems[3]
    assert "empty file" in problems[4]
    assert "image or text file" in problems[5]
    assert problems[6].startswith("face: file not found")
    assert "face: file not found" in problems[7]  # no scheme://, so it is a (missing) path


def test_totals_leave_out_duplicates_and_problems(clip: Path, face: Path, tmp_path: Path) -> None:
    frame = estimate([(clip, face), (clip, face), (tmp_path / "gone.mp4", face)])

    assert frame["duplicate"].tolist() == [False, True, False]
    assert math.isnan(frame["est_cost"][2])
    summed = frame.attrs["totals"]
    assert summed == totals(frame)
    assert (summed["pairs"], summed["runnable"], summed["duplicates"], summed["unprobeable"]) == (
        3,
        1,
        1,
        1,
    )
    assert summed["video_seconds"] == pytest.approx(CLIP_SECONDS)
    assert summed["est_cost"] == 0.08


def test_urls_and_paths_are_told_apart() -> None:
    assert is_url("https://x.org/a.mp4") and is_url("ftp://x/a")
    assert not is_url("C:\\clips\\a.mp4") and not is_url("clips/a.mp4") and not is_url("mailto:x")


@pytest.mark.testdata
def test_estimates_match_decoded_durations_within_one_percent(testdata: Path, face: Path) -> None:
    videos = sorted((testdata / "videos").glob("*.mp4"))
    if not videos:
        pytest.skip("no videos in ../shared/testdata/videos")

    frame = estimate([(video, face) for video in videos])

    errors = {}
    for video, row in zip(videos, frame.itertuples()):
        truth = decoded_seconds(video)
        assert row.est_cost == pytest.approx(truth * 0.10, rel=0.01), video.name
        errors[video.name] = abs(row.video_seconds - truth) / truth
    print(f"max relative error of {len(videos)} estimates: {max(errors.values()):.2e}", errors)
    assert max(errors.values()) < 0.01


def test_a_url_is_probed_with_range_requests_not_downloaded(
    noise_clip: Path,
    face: Path,
    file_server: callable,  # type: ignore[valid-type]
) -> None:
    served: FileServer = file_server(noise_clip)

    row = estimate([(served.url, face)]).iloc[0]

    size = noise_clip.stat().st_size
    assert row["video_seconds"] == pytest.approx(probe_seconds(str(noise_clip)))
    assert any(r["range"] and r["range"] != "bytes=0-" for r in served.requests), served.requests
    print(
        f"probing a {size} byte clip over HTTP read {served.bytes_sent} bytes "
        f"({served.bytes_sent / size:.1%}) in {len(served.requests)} requests"
    )
    assert served.bytes_sent < 0.25 * size


def test_a_url_that_fails_is_a_problem(clip: Path, face: Path, file_server: callable) -> None:  # type: ignore[valid-type]
    served: FileServer = file_server(clip)

    row = estimate([(served.url.replace("video.mp4", "gone.mp4"), face)]).iloc[0]

    assert "404" in row["problem"] and math.isnan(row["est_cost"])


def test_the_key_goes_only_to_the_clients_own_origin(
    clip: Path,
    face: Path,
    file_server: callable,  # type: ignore[valid-type]
) -> None:
    served: FileServer = file_server(clip)
    own = Client(base_url=served.url.rsplit("/", 1)[0] + "/v1", api_key="secret-key-1234")
    other = Client(base_url="http://127.0.0.2:9/v1", api_key="secret-key-1234")

    estimate([(served.url, face)], client=other)
    assert all("x-api-key" not in {k.lower() for k in r["headers"]} for r in served.requests)

    served.requests.clear()
    estimate([(served.url, face)], client=own)
    assert {r["headers"].get("x-api-key") for r in served.requests} == {"secret-key-1234"}, (
        served.requests
    )


def test_the_servers_own_upload_urls_are_estimated_like_the_files(
    server: LocalServer, clip: Path, face: Path, noise_clip: Path
) -> None:
    with server.client() as client:
        videos = [clip, noise_clip]
        urls = [client.upload(v) for v in videos]
        by_path = estimate([(v, face) for v in videos])
        by_url = estimate([(u, face) for u in urls], client=client)
        without_key = estimate([(urls[0], face)])
        # The server answers ranges, so PyAV seeks to the index instead of reading it all.
        tail = httpx.get(urls[1], headers={"x-api-key": server.api_key, "range": "bytes=-1000"})

    assert by_url["problem"].isna().all(), by_url["problem"].tolist()
    assert by_url["video_seconds"].tolist() == by_path["video_seconds"].tolist()
    assert by_url["est_cost"].tolist() == by_path["est_cost"].tolist()
    assert "401" in without_key["problem"][0]
    assert tail.status_code == 206 and len(tail.content) == 1000


@pytest.mark.testdata
def test_testdata_uploads_are_estimated_like_the_files(
    server: LocalServer, testdata: Path, face: Path
) -> None:
    videos = sorted((testdata / "videos").glob("*.mp4"))
    if not videos:
        pytest.skip("no videos in ../shared/testdata/videos")
    with server.client() as client:
        urls = [client.upload(v) for v in videos]
        by_url = estimate([(u, face) for u in urls], client=client)

    assert (
        by_url["video_seconds"].tolist()
        == estimate([(v, face) for v in videos])["video_seconds"].tolist()
    )


def pd_na(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
