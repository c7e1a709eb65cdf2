"""`bkhub`: the hub's command line.

bkhub check-config   validate config.yaml; exit 2 with one line per problem
bkhub serve          run the hub and its web API (--node NAME: one node of a cluster)
bkhub simulate       run the camera simulator for the configured simulated cameras
bkhub demo           simulator + hub + web in one command (http://127.0.0.1:8000)
bkhub cameras        list the cameras and their state
bkhub report monthly the monthly assessment report (PDF, XLSX)
bkhub train | evaluate | export   the detector's model (needs the [train] extra)
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import io
import json
import logging
import os
import signal
import sys
import unicodedata
from pathlib import Path

import httpx
import uvicorn
from pydantic import ValidationError

from hub import cli_dataset, cli_detector, cli_report, cli_storage
from hub.config import ConfigError, HubConfig, load_config, with_node

EXIT_CONFIG = 2
DEFAULT_CONFIG = os.environ.get("BKHUB_CONFIG", "config.yaml")


def _load(path: str) -> HubConfig:
    try:
        return load_config(Path(path))
    except ConfigError as err:
        print(f"{path}: configuration invalid, nothing started:", file=sys.stderr)
        print(str(err), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    cameras = list(config.iter_cameras())
    print(
        f"{args.config}: ok — {len(config.towns)} towns, {len(config.schools)} schools, "
        f"{len(cameras)} cameras"
    )
    return 0


async def _serve(config: HubConfig, host: str, port: int) -> None:
    from web.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host=host, port=port, log_level="info", lifespan="on")
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _dump_tasks)
    await server.serve()
    if not server.started:
        raise SystemExit(1)  # start-up failed; the reason is already logged


def _dump_tasks() -> None:
    """kill -USR1: what every task and thread of the hub waits on (a stop or request that
    hangs), to the log."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        task.print_stack(limit=12, file=out)
    logging.getLogger("hub").warning("tasks on SIGUSR1:\n%s", out.getvalue())
    faulthandler.dump_traceback(all_threads=True)  # to stderr


def _serve_cmd(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if args.node is not None:
        try:
            config = with_node(config, args.node)
        except ValidationError as err:
            print(f"--node {args.node!r}: {err.errors()[0]['msg']}", file=sys.stderr)
            return EXIT_CONFIG
    asyncio.run(_serve(config, args.host or config.web.host, args.port or config.web.port))
    return 0


def _wait_for_signal() -> None:
    stop = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    asyncio.run(main())


def _simulate_cmd(args: argparse.Namespace) -> int:
    from hub.demo import start_simulator

    config = _load(args.config)
    with start_simulator(config) as sim:
        print(f"simulator serving {len(sim.cameras)} cameras on rtsp://127.0.0.1:{sim.rtsp_port}")
        _wait_for_signal()
    return 0


def _demo_cmd(args: argparse.Namespace) -> int:
    from hub.demo import start_simulator

    config = _load(args.config)
    port = args.port or config.web.port
    with start_simulator(config):
        print(f"Bright Kitchen Hub demo: http://127.0.0.1:{port}/api/cameras  (Ctrl-C stops)")
        asyncio.run(_serve(config, "127.0.0.1", port))
    return 0


def _cameras_cmd(args: argparse.Namespace) -> int:
    config = _load(args.config)
    url = args.url or f"http://127.0.0.1:{config.web.port}"
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    try:
        response = httpx.get(f"{url}/api/cameras", headers=headers, timeout=5)
    except httpx.HTTPError as exc:
        print(f"hub not reachable at {url}: {exc}", file=sys.stderr)
        return 1
    if response.status_code == 401:
        print(
            "the hub wants an API token: create one in the console (or POST /api/auth/tokens) "
            "and pass --token or set BKHUB_TOKEN",
            file=sys.stderr,
        )
        return 1
    rows = response.raise_for_status().json()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    health = _health_by_camera(url, headers)
    id_width = max([len("camera"), *(len(row["id"]) for row in rows)])
    print(
        f"{'camera':<{id_width}}  {_pad('school', 22)}{'state':<11} {'fps':>5} {'kbps':>7}  "
        f"{'health':<10} reason"
    )
    for row in rows:
        condition, problems = health.get(row["id"], ("?", ""))
        print(
            f"{row['id']:<{id_width}}  {_pad(row['school_name'], 22)}{row['state']:<11} "
            f"{row['fps'] or 0:>5.1f} {row['bitrate_kbps'] or 0:>7.0f}  {condition:<10} "
            f"{problems or row['reason'] or ''}"
        )
    return 0


def _health_by_camera(url: str, headers: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Camera id -> (condition, "check: reason, ...") from the health API; empty if absent."""
    try:
        response = httpx.get(f"{url}/api/health/cameras", headers=headers, timeout=5)
        rows = response.raise_for_status().json()
    except httpx.HTTPError:
        return {}
    return {
        row["id"]: (
            row["condition"],
            ", ".join(f"{p['check']}: {p['reason']}" for p in row["problems"]),
        )
        for row in rows
    }


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal, where a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - used)


def _storage_cmd(args: argparse.Namespace) -> int:
    return cli_storage.run(_load(args.config), args)


def _report_cmd(args: argparse.Namespace) -> int:
    return cli_report.run(_load(args.config), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bkhub", description="Bright Kitchen Hub 明厨亮灶")
    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="config file path")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check-config", help="validate the config").set_defaults(run=_check_config)
    serve = sub.add_parser("serve", help="run the hub and its web API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--node", help="this node's name in a cluster (config cluster.node)")
    serve.set_defaults(run=_serve_cmd)
    sub.add_parser("simulate", help="run the camera simulator").set_defaults(run=_simulate_cmd)
    demo = sub.add_parser("demo", help="simulator + hub + web on 127.0.0.1")
    demo.add_argument("--port", type=int, help="web port (default: web.port, 8000)")
    demo.set_defaults(run=_demo_cmd)
    cams = sub.add_parser("cameras", help="list cameras and their state")
    cams.add_argument("--url", help="hub base URL (default: http://127.0.0.1:<web.port>)")
    cams.add_argument("--json", action="store_true")
    cams.add_argument(
        "--token", default=os.environ.get("BKHUB_TOKEN"), help="API token (or BKHUB_TOKEN)"
    )
    cams.set_defaults(run=_cameras_cmd)
    cli_storage.add_parser(sub).set_defaults(run=_storage_cmd)
    cli_report.add_parser(sub).set_defaults(run=_report_cmd)
    cli_detector.add_parsers(sub, _load)
    cli_dataset.add_parsers(sub, _load)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # One line per migration or per HTTP request is noise on a terminal.
    for chatty in ("alembic", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
