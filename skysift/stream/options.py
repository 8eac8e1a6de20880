"""Command-line options of ``skysift serve`` (and the limits of ``skysift consume``), and the
:class:`SecurityConfig` and :class:`Limits` they give."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from skysift.errors import SkysiftError
from skysift.stream.limits import DEFAULT_LIMITS, Limits, MiB
from skysift.stream.security import SecurityConfig


def security_from_args(args: argparse.Namespace) -> SecurityConfig:
    """The :class:`SecurityConfig` of ``skysift serve``'s options."""
    hosts = [h.strip() for h in (getattr(args, "allowed_hosts", None) or "").split(",") if h.strip()]
    return SecurityConfig(token_file=getattr(args, "token_file", None),
                          read_token_required=bool(getattr(args, "read_token_required", False)),
                          allowed_hosts=hosts, model_dir=getattr(args, "model_dir", None))


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` of the size options (MiB and counts); unset options keep the defaults."""
    changes: dict[str, Any] = {}
    for name, scale in (("max_json_mib", "max_json_bytes"), ("max_avro_mib", "max_avro_bytes"),
                        ("max_avro_decompressed_mib", "max_avro_decompressed_bytes")):
        v = getattr(args, name, None)
        if v is not None:
            if v <= 0:
                raise SkysiftError(f"--{name.replace('_', '-')} must be positive, got {v}")
            changes[scale] = int(v * MiB)
    for name in ("max_detections", "rejected_max_rows"):
        v = getattr(args, name, None)
        if v is not None:
            if v < 1:
                raise SkysiftError(f"--{name.replace('_', '-')} must be at least 1, got {v}")
            changes[name] = int(v)
    if getattr(args, "rejected_max_age_days", None) is not None:
        changes["rejected_max_age_s"] = float(args.rejected_max_age_days) * 86400.0
    return replace(DEFAULT_LIMITS, **changes)


def add_security_arguments(parser: argparse.ArgumentParser, limits_only: bool = False) -> None:
    """``skysift serve``'s options for tokens, hosts, the model directory and limits (only the
    limits with ``limits_only``)."""
    g = parser.add_argument_group("limits" if limits_only else "access and limits")
    if not limits_only:
        _add_access_arguments(g)
    g.add_argument("--max-json-mib", type=float, help="largest JSON body (MiB; default 32)")
    g.add_argument("--max-avro-mib", type=float, help="largest Avro alert file as sent (MiB; default 16)")
    g.add_argument("--max-avro-decompressed-mib", type=float, help="largest Avro alert file decompressed (MiB; default 64)")
    g.add_argument("--max-detections", type=int, help="detections per request, alert file or message (default 100000)")
    g.add_argument("--rejected-max-rows", type=int, help="rejected inputs kept (default 10000)")
    g.add_argument("--rejected-max-age-days", type=float, help="days rejected inputs are kept (default 7)")


def _add_access_arguments(g: Any) -> None:
    g.add_argument("--token-file", help="file holding the API bearer token (created with a new token when missing; "
                                        "default: $SKYSIFT_TOKEN, else one generated on first start)")
    g.add_argument("--read-token-required", action="store_true", help="require the token for reading objects too")
    g.add_argument("--allowed-hosts", help="comma-separated Host names to accept (default: any)")
    g.add_argument("--model-dir", help="directory POST /model may load models from (default: swapping disabled)")
    g.add_argument("--header-timeout", dest="header_timeout_s", type=float,
                   help="seconds a client has to send a request's headers (default 10)")
    g.add_argument("--body-timeout", dest="body_timeout_s", type=float,
                   help="seconds a client has to send a request's body (default 60)")
    g.add_argument("--max-connections", type=int, help="open connections served at once (default 256)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="saved skysift model (.skysift.pt); omit to only store detections")
    parser.add_argument("--db", default=None,
                        help="SQLite path (default skysift.sqlite) or postgresql://user:pass@host:port/db")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    add_security_arguments(parser)
