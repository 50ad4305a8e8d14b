"""``python -m server.sandbox.instagram --port 8081``: prints the base URL, serves until stopped."""

from __future__ import annotations

from server.sandbox import cli
from server.sandbox.instagram.config import VERSION_RE, InstagramSandboxConfig
from server.sandbox.instagram.sandbox import InstagramSandbox


def main(argv: list[str] | None = None) -> None:
    defaults = InstagramSandboxConfig()
    parser = cli.parser(
        "python -m server.sandbox.instagram",
        "Instagram Graph API content-publishing emulator (images, reels and carousels).",
        port=8081,
        processing_delay=defaults.processing_delay,
    )
    parser.add_argument("--reel-processing-delay", type=float, default=defaults.reel_processing_delay)
    parser.add_argument("--container-ttl", type=float, default=defaults.container_ttl)
    parser.add_argument("--publish-quota", type=int, default=defaults.publish_quota)
    parser.add_argument("--api-version", default=defaults.api_version)
    parser.add_argument("--media-host", default="",
                        help="the sandbox media host's origin: images are downloaded from it, not judged by URL")
    args = parser.parse_args(argv)
    if not VERSION_RE.fullmatch(args.api_version):
        parser.error("--api-version must look like v23.0")
    config = InstagramSandboxConfig(
        processing_delay=args.processing_delay,
        reel_processing_delay=args.reel_processing_delay,
        container_ttl=args.container_ttl,
        publish_quota=args.publish_quota,
        api_version=args.api_version,
    )
    cli.serve(
        InstagramSandbox(config, state_file=args.state, media_host=args.media_host), args.port,
        "Instagram Graph API sandbox",
    )


if __name__ == "__main__":
    main()
