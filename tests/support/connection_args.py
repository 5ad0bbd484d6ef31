"""The connection options of the test participants (participant_bot.py, media_check.py)."""

import os


def add_connection_args(parser):
    parser.add_argument("--url", default=os.environ.get("LIVEKIT_URL"), help="ws:// or wss:// URL of the server")
    parser.add_argument("--api-key", default=os.environ.get("LIVEKIT_API_KEY"))
    parser.add_argument("--api-secret-file", help="file holding the API secret (else LIVEKIT_API_SECRET)")


def resolve_secret(parser, args):
    """Sets args.api_secret from the file or the environment; one error naming what is missing."""
    if args.api_secret_file:
        with open(args.api_secret_file) as f:
            args.api_secret = f.read().strip()
    else:
        args.api_secret = os.environ.get("LIVEKIT_API_SECRET")
    missing = [name for name in ("url", "api_key", "api_secret") if not getattr(args, name)]
    if missing:
        parser.error("missing %s (option or LIVEKIT_* environment variable)" % ", ".join(missing))
