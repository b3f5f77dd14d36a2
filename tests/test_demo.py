"""``make demo``: the demo job runs through the real local server and leaves a marked video."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceswap_nb.demo import main
from faceswap_nb.engine.decode import probe
from faceswap_nb.engine.encode import is_marked_synthetic


def test_the_demo_swaps_the_demo_media_through_the_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main([str(tmp_path)])

    out = capsys.readouterr().out
    result = tmp_path / "swapped.mp4"
    assert status == 0, out
    assert f"result: {result}" in out and "completed; 4.0 s of video, cost 0.40" in out
    assert "the engine noticed: the source photo smiles broadly" in out  # the astronaut does
    assert "the engine noticed: the source photo's face is about" in out  # 101 px on a ~360-px face
    assert "about the demo's own media" in out
    assert is_marked_synthetic(result)
    assert probe(result).frame_count == probe(tmp_path / "target.mp4").frame_count
    assert (tmp_path / "server" / "jobs.sqlite3").exists()
