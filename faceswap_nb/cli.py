"""The ``faceswap-nb`` command line.

    faceswap-nb swap VIDEO FACE -o OUT [--advanced] [--faces largest|all] [--quiet]
    faceswap-nb serve [--host H] [--port P] [--data-dir DIR] [--api-key KEY]... [--workers N]

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
    _add_serve(commands)
    return parser


def _add_serve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser(
        "serve", help="run the local job server (the API of API.md) on this machine",
        description="Run the local job server. Keys come from --api-key, FACESWAP_API_KEYS, "
        "or are generated on first start and kept in the data dir.",
    )
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=None, help="port (default 8765)")
    serve.add_argument("--data-dir", default=None, help="where jobs, uploads and outputs live "
                       "(default $FACESWAP_DATA_DIR or ./faceswap-data)")
    serve.add_argument("--api-key", action="append", default=None, dest="api_keys",
                       help="an accepted API key (repeat for several)")
    serve.add_argument("--workers", type=_positive, default=None, help="jobs run at the same time")
    serve.add_argument("--public-url", default=None,
                       help="origin clients use to reach this server (for upload and output links)")


def _port(text: str) -> int:
    value = _positive(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1-65535)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _missing_extra(what: str, extra: str, exc: ImportError) -> int:
    print(
        f"faceswap-nb: the {what} is not installed ({exc.name} is missing); "
        f"install it with: pip install 'faceswap_nb[{extra}]'",
        file=sys.stderr,
    )
    return EXIT_FAILED


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from faceswap_nb.server.app import create_app
    except ImportError as exc:
        return _missing_extra("local server", "server", exc)
    from faceswap_nb.server.fetch import AllowList
    from faceswap_nb.server.settings import ServerSettings

    try:
        settings = ServerSettings.from_env(
            host=args.host, port=args.port, data_dir=args.data_dir, workers=args.workers,
            api_keys=tuple(args.api_keys) if args.api_keys else None, public_url=args.public_url,
        )
        AllowList.parse(settings.fetch_allow)
    except ValueError as exc:
        print(f"faceswap-nb: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        print(f"faceswap-nb: the data dir {settings.data_dir} is not writable ({exc.strerror}); "
              "pass --data-dir with a folder you can write", file=sys.stderr)
        return EXIT_FAILED
    print(f"faceswap-nb: serving {settings.origin}/v1 (docs at {settings.origin}/docs), "
          f"data in {settings.data_dir}", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level="warning", timeout_graceful_shutdown=5)
    return 0


def _swap(args: argparse.Namespace) -> int:
    try:
        from faceswap_nb.engine import swap_video
    except ImportError as exc:
        return _missing_extra("local engine", "engine", exc)
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
        return _serve(args) if args.command == "serve" else _swap(args)
    except FaceswapError as exc:
        print(f"faceswap-nb: error [{exc.code}]: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("faceswap-nb: interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
