"""The ``faceswap-nb`` command line: exit statuses, messages and the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_nb import __version__
from faceswap_nb.cli import main
from faceswap_nb.engine.encode import is_marked_synthetic
from tests.media import GRACE_HOPPER, astronaut, write_clip

FRAMES = 6


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six frames (10 fps) of the astronaut at 256×256."""
    path = tmp_path_factory.mktemp("cli") / "astronaut.mp4"
    return write_clip(path, [astronaut(256)] * FRAMES)


def test_a_good_run_exits_0_and_prints_the_summary(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "swapped.mp4"

    status = main(["swap", str(clip), str(GRACE_HOPPER), "-o", str(out), "--quiet"])

    captured = capsys.readouterr()
    assert status == 0
    assert f"{FRAMES}/{FRAMES} frames swapped (100%)" in captured.out
    assert str(out) in captured.out
    assert "error" not in captured.err
    assert is_marked_synthetic(out)


def test_a_bad_video_exits_1_with_the_error_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n" * 10)
    out = tmp_path / "swapped.mp4"

    status = main(["swap", str(text), str(GRACE_HOPPER), "-o", str(out), "--quiet"])

    captured = capsys.readouterr()
    assert status == 1
    assert "error [invalid_video]" in captured.err
    assert "notes.txt" in captured.err
    assert captured.out == ""
    assert not out.exists()


def test_a_photo_without_a_face_names_its_code(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "grey.png"
    cv2.imwrite(str(photo), np.full((200, 200, 3), 128, np.uint8))

    status = main(["swap", str(clip), str(photo), "-o", str(tmp_path / "o.mp4"), "--quiet"])

    assert status == 1
    assert "error [no_face_in_source]" in capsys.readouterr().err


def test_a_missing_output_option_is_a_usage_error(
    clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["swap", str(clip), str(GRACE_HOPPER)])

    assert exit_info.value.code == 2
    assert "-o/--output" in capsys.readouterr().err


def test_an_unknown_faces_choice_is_rejected(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "swapped.mp4"

    with pytest.raises(SystemExit) as exit_info:
        main(["swap", str(clip), str(GRACE_HOPPER), "-o", str(out), "--faces", "bogus"])

    assert exit_info.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err
    assert not out.exists()


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])

    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"faceswap_nb {__version__}"


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "faceswap-nb"
    if not script.exists():
        pytest.skip(f"console script not installed beside {sys.executable}")

    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"faceswap_nb {__version__}"


def test_a_run_prints_only_its_own_lines(clip: Path, tmp_path: Path) -> None:
    # The model runtime logs a line of its own on start; the CLI keeps it off the terminal.
    script = Path(sys.executable).parent / "faceswap-nb"
    out = tmp_path / "swapped.mp4"
    done = subprocess.run(
        [str(script), "swap", str(clip), str(GRACE_HOPPER), "-o", str(out), "--quiet"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0
    # Only the CLI's own words: Grace Hopper's glasses noted, nothing from the runtime.
    (line,) = done.stderr.splitlines()
    assert line.startswith("warning: the source photo wears glasses")
    assert done.stdout.strip().startswith(f"{FRAMES}/{FRAMES} frames swapped")


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_refuses_a_bad_port_as_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--port", port])

    assert exit_info.value.code == 2
    assert "--port" in capsys.readouterr().err


def test_serve_refuses_a_data_dir_it_cannot_create(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    status = main(["serve", "--data-dir", str(blocker / "data")])

    assert status == 1
    assert "is not writable" in capsys.readouterr().err


def test_serve_refuses_a_malformed_allow_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FACESWAP_FETCH_ALLOW", "10.0.0.0/33")

    status = main(["serve", "--data-dir", str(tmp_path)])

    assert status == 1
    assert "FACESWAP_FETCH_ALLOW" in capsys.readouterr().err


def test_serve_refuses_a_non_numeric_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FACESWAP_MAX_JOBS_IN_FLIGHT", "lots")

    status = main(["serve", "--data-dir", str(tmp_path)])

    assert status == 1
    assert "FACESWAP_MAX_JOBS_IN_FLIGHT='lots' is not a number" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "module", "extra"), [
    (["serve"], "uvicorn", "server"),
    (["swap", "v.mp4", "f.jpg", "-o", "o.mp4"], "faceswap_nb.engine", "engine"),
])
def test_a_missing_extra_is_named_with_its_install_command(
    argv: list[str], module: str, extra: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail

    status = main(argv)

    assert status == 1
    assert f"pip install 'faceswap_nb[{extra}]'" in capsys.readouterr().err
