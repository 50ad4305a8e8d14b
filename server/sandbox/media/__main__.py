"""``python -m server.sandbox.media --port 8083``: prints the origin, serves until stopped."""

from __future__ import annotations

from server.sandbox import cli
from server.sandbox.media.host import MediaHost, MediaHostConfig


def main(argv: list[str] | None = None) -> None:
    defaults = MediaHostConfig()
    parser = cli.parser(
        "python -m server.sandbox.media",
        "Sandbox media host: real JPEG, PNG, WebP and GIF files for the sandbox's media URLs.",
        port=8083,
        processing_delay=0.0,
    )
    parser.add_argument("--slow-seconds", type=float, default=defaults.slow_seconds,
                        help="how long a bare 'slow' file name waits before answering")
    args = parser.parse_args(argv)
    cli.serve(MediaHost(MediaHostConfig(slow_seconds=args.slow_seconds)), args.port, "Sandbox media host")


if __name__ == "__main__":
    main()
