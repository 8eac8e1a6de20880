"""Replay a labelled dataset into the streaming service in time order, night by night.

Detections are grouped by night (``floor(mjd)``), sorted by MJD inside each night and posted
to ``/detections``; the service classifies each object as its observations arrive. With
``speed`` > 0 the replay waits so that one day of survey time takes ``1 / speed`` seconds of
wall time; with 0 it goes as fast as the service answers. At the end, for a labelled set,
the service's current top class is compared with the labels.

From the shell::

    skysift replay --data DATASET_DIR --url http://127.0.0.1:8000 --speed 2 --nights 30
    skysift replay --data demo:2000 --speed 0
    python -m skysift.stream.replay ...     (the same)

(``DATASET_DIR`` holds ``photometry`` and ``objects`` tables, as written by ``LightCurveSet.save``;
``--data`` takes any name ``skysift train --data`` takes.)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from skysift.datasets import add_table_arguments, on_invalid_from_args
from skysift.errors import InputError, SkysiftError

if TYPE_CHECKING:  # pragma: no cover - imported where used, so that the CLI starts fast
    import pandas as pd

    from skysift.io.tables import LightCurveSet


def _client(target: Any, timeout: float, token_file: str | None = None):
    """An HTTP client from a base URL (with the API token of ``token_file`` or ``$SKYSIFT_TOKEN``),
    or the given client (httpx.Client, fastapi TestClient)."""
    if isinstance(target, str):
        import httpx

        from skysift.stream.security import client_headers

        check_url(target)
        try:
            return httpx.Client(base_url=target.rstrip("/"), timeout=timeout,
                                headers=client_headers(token_file=token_file)), True
        except (httpx.InvalidURL, ValueError) as exc:
            raise InputError(f"--url {target!r} is not a URL the replay can use ({exc}); "
                             "give one like http://127.0.0.1:8000") from None
    if not hasattr(target, "post"):
        raise InputError("replay target must be a base URL or an HTTP client with .post/.get")
    return target, False


def check_url(url: str) -> None:
    """Refuse, in one line, a service URL that is not ``http(s)://host[:port][/path]``."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port raises ValueError when it is not a number
    except ValueError as exc:
        raise InputError(f"--url {url!r} is not a valid URL ({exc}); give one like http://127.0.0.1:8000") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--url {url!r} is not an http:// or https:// address with a host; "
                         "give one like http://127.0.0.1:8000")


def _call(client: Any, owned: bool, url: str, method: str, path: str, **kwargs: Any) -> Any:
    """``client.<method>(path)``; for a client made here from a URL, a connection failure becomes
    one line naming the URL (the boundary to the network: httpx raises many error types)."""
    if not owned:
        return getattr(client, method)(path, **kwargs)
    import httpx

    try:
        return getattr(client, method)(path, **kwargs)
    except httpx.ConnectError:
        raise SkysiftError(f"no service answers at {url} (connection refused or host unknown): start one with "
                           "'skysift serve', or give its address with --url") from None
    except httpx.TimeoutException:
        raise SkysiftError(f"the service at {url} did not answer in time ({path}); is it overloaded? "
                           "try a smaller --batch-size") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SkysiftError(f"the request to {url}{path} failed: {type(exc).__name__}: {exc}") from None


def _json(resp: Any, url: str, path: str, keys: tuple[str, ...] = ()) -> dict:
    """The JSON object of an answer, which must hold ``keys``; else one line saying the URL is wrong."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or any(k not in body for k in keys):
        raise SkysiftError(f"{url} answered {path} with something that is not a skysift service's JSON: "
                           "check --url")
    return body


def _refused(resp: Any, url: str, what: str) -> SkysiftError:
    """One line for a non-200 answer, saying what to do for the usual causes."""
    try:
        reason = resp.json().get("detail")
    except (ValueError, AttributeError):
        reason = resp.text[:200]
    if resp.status_code in (401, 403):
        return SkysiftError(f"{what}: the service at {url} wants the API token ({resp.status_code}): give it with "
                            "--token-file FILE or $SKYSIFT_TOKEN")
    if resp.status_code in (404, 405, 501):
        return SkysiftError(f"{what}: {url} is not a skysift service (it answered {resp.status_code}); check --url")
    return InputError(f"{what}: the service refused a batch ({resp.status_code}): {reason}")


def night_groups(lcset: LightCurveSet) -> list[tuple[int, pd.DataFrame]]:
    """``[(night, detections of that night sorted by MJD), ...]`` with ra/dec joined, in time order."""
    import numpy as np
    phot = lcset.photometry
    pos = lcset.objects.set_index("object_id")[["ra", "dec"]]
    df = phot.join(pos, on="object_id")
    df = df.assign(night=np.floor(df["mjd"].to_numpy(float)).astype(np.int64))
    df = df.sort_values(["night", "mjd"], kind="stable")
    return [(int(n), g) for n, g in df.groupby("night", sort=True)]


def _records(g: pd.DataFrame) -> list[dict]:
    cols = ["object_id", "mjd", "mag", "mag_err", "ra", "dec"] + (["band"] if "band" in g.columns else [])
    out = g[cols].to_dict(orient="records")
    for r in out:
        r["object_id"] = str(r["object_id"])
        if "band" in r:
            r["band"] = None if r["band"] is None else str(r["band"])
    return out


def replay(
    lcset: LightCurveSet,
    target: Any = "http://127.0.0.1:8000",
    speed: float = 0.0,
    nights: int | None = None,
    start_night: int | None = None,
    batch_size: int = 5000,
    progress: Callable[[str], None] | None = print,
    every: int = 1,
    evaluate: bool = True,
    timeout: float = 120.0,
    token_file: str | None = None,
) -> dict:
    """Stream ``lcset`` into the service night by night.

    Parameters
    ----------
    lcset:
        The detections (and object positions, labels) to replay.
    target:
        Base URL of a running service, or an HTTP client (``httpx.Client``, FastAPI ``TestClient``).
    speed:
        Survey days per wall-clock second (0: no waiting).
    nights:
        Replay at most this many nights (those with detections).
    start_night:
        Skip nights before this MJD.
    batch_size:
        Detections per request.
    progress:
        Called with a line of text after every ``every`` nights (None: silent).
    evaluate:
        For a labelled set, fetch the final classifications and report the accuracy of the top class.
    token_file:
        File with the service's API token (default: ``$SKYSIFT_TOKEN``), for a URL target.

    Returns a summary dict (nights, detections, stored, duplicates, objects, seconds, rate,
    and accuracy when evaluated).
    """
    if speed < 0 or not math.isfinite(speed):
        raise InputError(f"speed must be >= 0 days per second, got {speed}")
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    client, owned = _client(target, timeout, token_file)
    base = target.rstrip("/") if isinstance(target, str) else "the service"
    groups = night_groups(lcset)
    if start_night is not None:
        groups = [(n, g) for n, g in groups if n >= start_night]
    if nights is not None:
        groups = groups[: max(0, int(nights))]
    say = progress or (lambda _line: None)
    totals = {"nights": 0, "detections": 0, "stored": 0, "duplicates": 0, "requests": 0}
    seen: set[str] = set()
    t_start = time.perf_counter()
    first_night = groups[0][0] if groups else 0
    try:
        for k, (night, g) in enumerate(groups, 1):
            if speed > 0:
                due = t_start + (night - first_night) / speed
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            recs = _records(g)
            new_objects = len(set(g["object_id"].astype(str)) - seen)
            seen.update(g["object_id"].astype(str))
            for i in range(0, len(recs), batch_size):
                resp = _call(client, owned, base, "post", "/detections", json=recs[i : i + batch_size])
                if resp.status_code != 200:
                    raise _refused(resp, base, f"night {night}")
                body = _json(resp, base, "/detections", ("stored", "duplicates"))
                totals["stored"] += body["stored"]
                totals["duplicates"] += body["duplicates"]
                totals["requests"] += 1
            totals["nights"] += 1
            totals["detections"] += len(recs)
            if k % every == 0 or k == len(groups):
                el = time.perf_counter() - t_start
                say(f"night {night} ({k}/{len(groups)}): {len(recs)} detections, {new_objects} new objects | "
                    f"total {totals['detections']} detections, {len(seen)} objects, "
                    f"{totals['detections'] / max(el, 1e-9):.0f} det/s")
        seconds = time.perf_counter() - t_start
        summary = {**totals, "objects": len(seen), "seconds": round(seconds, 3),
                   "rate": round(totals["detections"] / max(seconds, 1e-9), 1)}
        if evaluate and lcset.labels is not None and seen:
            summary.update(_evaluate(lambda path, **kw: _call(client, owned, base, "get", path, **kw), lcset, seen))
            if "accuracy" in summary:
                say(f"top-class accuracy on {summary['evaluated']} objects: {summary['accuracy']:.3f}")
        say(f"replayed {summary['detections']} detections of {summary['objects']} objects over "
            f"{summary['nights']} nights in {summary['seconds']:.1f} s ({summary['rate']:.0f} det/s)")
        return summary
    finally:
        if owned:
            client.close()


def _evaluate(get: Callable[..., Any], lcset: LightCurveSet, seen: set[str], page: int = 5000) -> dict:
    """Top class of every replayed object (from GET /objects) against its label."""
    import numpy as np
    top: dict[str, str | None] = {}
    offset = 0
    while True:
        resp = get("/objects", params={"limit": page, "offset": offset, "sort": "object_id"})
        if resp.status_code != 200:
            return {}
        objs = resp.json()["objects"]
        for o in objs:
            top[o["object_id"]] = o["top_class"]
        if len(objs) < page:
            break
        offset += page
    labels = lcset.objects.set_index("object_id")["label"].astype(str)
    pairs = [(labels[oid], top.get(oid)) for oid in seen if oid in labels.index and top.get(oid) is not None]
    if not pairs:
        return {"evaluated": 0}
    acc = float(np.mean([a == b for a, b in pairs]))
    return {"evaluated": len(pairs), "accuracy": round(acc, 4)}


# ---------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DATASET", default=None,
                        help="a directory with photometry and objects tables, or a dataset name as for "
                             "'skysift train' ('demo', 'demo:N', a real-data name)")
    parser.add_argument("--seed", type=int, default=0, help="seed for demo data")
    parser.add_argument("--photometry", help="photometry table (CSV/Parquet), instead of a directory")
    parser.add_argument("--objects", help="object table (CSV/Parquet), with --photometry")
    add_table_arguments(parser)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the running service")
    parser.add_argument("--speed", type=float, default=0.0, help="survey days per second (0: as fast as possible)")
    parser.add_argument("--nights", type=int, default=None, help="replay at most this many nights")
    parser.add_argument("--start-night", type=int, default=None, help="skip nights before this MJD")
    parser.add_argument("--batch-size", type=int, default=5000, help="detections per request")
    parser.add_argument("--every", type=int, default=1, help="print progress every N nights")
    parser.add_argument("--token-file", help="file with the service's API token (default: $SKYSIFT_TOKEN)")


def run(args: argparse.Namespace) -> dict:
    check_url(args.url)  # before any data is read
    on_invalid, encoding = on_invalid_from_args(args), getattr(args, "encoding", None)
    if getattr(args, "data", None):
        from skysift.datasets import load_dataset

        lcset = load_dataset(args.data, galaxy_catalog="none", seed=getattr(args, "seed", 0), on_invalid=on_invalid,
                             encoding=encoding).lcset
    elif args.photometry or args.objects:
        if not (args.photometry and args.objects):
            raise InputError("--photometry and --objects go together")
        from skysift.io.tables import from_files

        lcset = from_files(args.photometry, args.objects, on_invalid=on_invalid, encoding=encoding)
    else:
        raise InputError("give a dataset (--data DIRECTORY or --data NAME) or --photometry and --objects")
    if lcset.dropped:
        print(f"dropped while reading: {lcset.dropped}")
    return replay(lcset, args.url, speed=args.speed, nights=args.nights, start_night=args.start_night,
                  batch_size=args.batch_size, every=args.every, token_file=getattr(args, "token_file", None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="skysift replay",
                                     description="Stream a dataset into the skysift service night by night.")
    add_arguments(parser)
    try:
        run(parser.parse_args(argv))
    except SkysiftError as exc:
        import sys

        print(f"skysift replay: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
