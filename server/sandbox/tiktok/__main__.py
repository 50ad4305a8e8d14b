"""``python -m server.sandbox.tiktok --port 8082``: prints the origin, serves until stopped."""

from __future__ import annotations

from server.sandbox import cli
from server.sandbox.tiktok.config import TikTokSandboxConfig
from server.sandbox.tiktok.sandbox import TikTokSandbox


def main(argv: list[str] | None = None) -> None:
    defaults = TikTokSandboxConfig()
    parser = cli.parser(
        "python -m server.sandbox.tiktok",
        "TikTok Content Posting API emulator (photo posts).",
        port=8082,
        processing_delay=defaults.processing_delay,
    )
    parser.add_argument("--moderation-delay", type=float, default=defaults.moderation_delay)
    parser.add_argument(
        "--verified-url-prefix",
        action="append",
        help="URL prefix or domain property for PULL_FROM_URL (repeatable; replaces the default)",
    )
    parser.add_argument("--media-host", default="",
                        help="the sandbox media host's origin: photos are pulled from it, not judged by URL")
    args = parser.parse_args(argv)
    config = TikTokSandboxConfig(
        processing_delay=args.processing_delay, moderation_delay=args.moderation_delay
    )
    if args.verified_url_prefix:
        config.verified_url_prefixes = tuple(args.verified_url_prefix)
    cli.serve(TikTokSandbox(config, state_file=args.state, media_host=args.media_host), args.port, "TikTok sandbox")


if __name__ == "__main__":
    main()
