"""The ``faceswap-nb`` command line.

    faceswap-nb swap VIDEO FACE -o OUT [--advanced] [--faces largest|all] [--quiet]

Exit status: 0 on success, 1 when the engine refuses the inputs (the message names the
stable error code), 2 for a malformed command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from faceswap_nb._errors import FaceswapError
from faceswap_nb._version import __version__

EXIT_FAILED = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faceswap-nb",
        description="Replace faces in videos on this machine's CPU. Every output is "
        "marked as synthetic; only use faces of people who have given their consent.",
    )
    parser.add_argument("--version", action="version", version=f"faceswap_nb {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    swap = commands.add_parser("swap", help="replace the face in a video with the face of a photo")
    swap.add_argument("video", help="target video (the face in it is replaced)")
    swap.add_argument("face", help="source photo (its largest face is used)")
    swap.add_argument("-o", "--output", required=True, help="output MP4 path")
    swap.add_argument(
        "--advanced", action="store_true",
        help="occlusion-aware: keep hands, hair and objects in front of the new face",
    )
    swap.add_argument(
        "--faces", choices=("largest", "all"), default="largest",
        help="which faces to replace: the clip's most prominent person, or everyone",
    )
    swap.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _swap(args: argparse.Namespace) -> int:
    try:
        from faceswap_nb.engine import swap_video
    except ImportError as exc:
        print(
            f"faceswap-nb: the local engine is not installed ({exc.name} is missing); "
            "install it with: pip install 'faceswap_nb[engine]'",
            file=sys.stderr,
        )
        return EXIT_FAILED
    from tqdm import tqdm

    with tqdm(total=100, unit="%", disable=args.quiet, desc="swap", leave=False) as bar:

        def progress(fraction: float) -> None:
            bar.update(round(fraction * 100) - bar.n)

        report = swap_video(
            args.video, args.face, args.output,
            advanced=args.advanced, faces=args.faces, progress=progress,
        )
    print(report.summary())
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _swap(args)
    except FaceswapError as exc:
        print(f"faceswap-nb: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("faceswap-nb: interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
