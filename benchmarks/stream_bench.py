"""Benchmark the stream route (issue 18): `aws-copy-pt copy` between two S3 services against
`rclone copy` between the same two, on two `rclone serve s3` servers (two endpoints, so
aws-copy-pt streams: ranged GETs from one, uploads into the other).

Not a test (pytest never runs it)::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m benchmarks.stream_bench       # both scenarios, from the checkout
    .venv/bin/python -m benchmarks.stream_bench --only large --large-mib 256

Scenarios:

* ``large``: one 1 GiB object;
* ``small``: 1,000 x 1 MiB objects.

Targets: aws-copy-pt >= 1.0x rclone's MiB/s, and its peak RSS <= the byte budget (128 MiB:
16 MiB parts, 8 in flight) + 100 MiB. The source objects are written straight into the source
server's directory (no x-amz-checksum is stored), so both tools prove the bytes by MD5: rclone
compares the MD5s of both sides, aws-copy-pt hashes the streamed bytes and compares them with
the source ETag. Each destination is checked afterwards (size and MD5, the whole content for
the large object), as in ``copy_bench.py``, whose measuring and table code this reuses. Run it
on a quiet machine: two servers and the tool share the cores.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from aws_copy_pt.sandbox.s3server import LocalS3Server, RcloneS3Server, find_rclone_binary
from benchmarks.copy_bench import (
    BENCH_KEY_ID,
    SCRIPTS,
    Run,
    Scene,
    compile_tool,
    measure,
    median_run,
    table,
    verify,
    write_random,
)

MiB = 1024 * 1024
BUDGET_MIB = 128  # the stream route's default byte budget
SOURCE_BUCKET = "src-bench"


@dataclass
class StreamScene(Scene):
    """Source on ``server``, destinations on ``dest_server``: same keys, two endpoints."""

    dest_server: LocalS3Server | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in super().env().items() if not k.startswith("RCLONE_S3_")}
        assert self.dest_server is not None
        for remote, server in (("SRC", self.server), ("DST", self.dest_server)):
            env.update(
                {
                    f"RCLONE_CONFIG_{remote}_TYPE": "s3",
                    f"RCLONE_CONFIG_{remote}_PROVIDER": "Other",
                    f"RCLONE_CONFIG_{remote}_ENDPOINT": server.endpoint_url,
                    f"RCLONE_CONFIG_{remote}_ACCESS_KEY_ID": self.account.access_key_id,
                    f"RCLONE_CONFIG_{remote}_SECRET_ACCESS_KEY": self.account.secret_access_key,
                    f"RCLONE_CONFIG_{remote}_REGION": self.region,
                }
            )
        return env


@contextmanager
def two_servers(workdir: Path, files: dict[str, int]) -> Iterator[StreamScene]:
    """Two `rclone serve s3` servers with one key pair; ``files`` (key -> size) staged in the
    first, written straight to its directory."""
    secret = secrets.token_hex(20)
    with ExitStack() as stack:
        source, dest = (
            stack.enter_context(
                RcloneS3Server(
                    root=workdir / name, access_key_id=BENCH_KEY_ID, secret_access_key=secret
                )
            )
            for name in ("source", "dest")
        )
        expected = {}
        for key, size in files.items():
            path = source.root / SOURCE_BUCKET / key
            expected[key] = (size, write_random(path, size))
        yield StreamScene(
            server=source,
            account=source.account,
            source=SOURCE_BUCKET,
            objects=len(files),
            nbytes=sum(files.values()),
            expected=expected,
            home=workdir / "home",
            dest_server=dest,
        )


def register(scene: StreamScene, dest: str) -> None:
    """One credential (both servers take the same keys), a bucket on each endpoint."""
    assert scene.dest_server is not None
    cli = str(SCRIPTS / "aws-copy-pt")
    env = scene.env()

    def run(*args: str) -> None:
        subprocess.run([cli, *args], env=env, check=True, capture_output=True)

    run("aws", "add", "bench", "--access-key-id", scene.account.access_key_id, "--no-check")
    for bucket, server in ((scene.source, scene.server), (dest, scene.dest_server)):
        run(
            "bucket",
            "add",
            bucket,
            "--credentials",
            "bench",
            "--endpoint-url",
            server.endpoint_url,
            "--region",
            scene.region,
            "--no-check",
        )


def commands(scene: StreamScene, dest: str) -> dict[str, list[str]]:
    assert scene.dest_server is not None
    return {
        "python-floor": [
            sys.executable,
            "-m",
            "benchmarks.stream_floor",
            scene.server.endpoint_url,
            f"{scene.source}/p/",
            scene.dest_server.endpoint_url,
            f"{dest}/p/",
        ],
        "aws-copy-pt": [str(SCRIPTS / "aws-copy-pt"), "copy", f"{scene.source}/p", f"{dest}/p"],
        "rclone": [
            find_rclone_binary() or "rclone",
            "copy",
            f"SRC:{scene.source}/p",
            f"DST:{dest}/p",
            "--transfers",
            "8",
            "--checkers",
            "16",
            "--s3-no-check-bucket",
        ],
    }


def compare(scene: StreamScene, repeat: int, *, floor: bool = False) -> list[Run]:
    """The tools ``repeat`` times, taking turns, each into a fresh bucket on the second
    server; medians per tool. ``floor``: also the bare Python loop (``stream_floor.py``)."""
    assert scene.dest_server is not None
    tools = ["aws-copy-pt", "rclone", *(["python-floor"] if floor else [])]
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    dest_client = scene.dest_server.client(scene.account, scene.region)
    for round_number in range(repeat):
        order = tools if round_number % 2 == 0 else tools[::-1]
        for tool in order:
            dest = f"dst-{tool.replace('-', '')}-{round_number}"
            dest_client.create_bucket(Bucket=dest)
            register(scene, dest)
            wall, cpu, rss, server_cpu = measure(scene, tool, commands(scene, dest)[tool])
            checked = verify(_on_dest(scene), dest, full=scene.objects == 1)
            runs[tool].append(
                Run(tool, wall, cpu, rss, server_cpu, scene.objects, scene.nbytes, checked)
            )
            print(f"  {tool:12s} {wall:7.2f} s  {rss:5.0f} MiB  {checked}", file=sys.stderr)
            shutil.rmtree(scene.home, ignore_errors=True)
    return [median_run(runs[tool]) for tool in tools]


def _on_dest(scene: StreamScene) -> Scene:
    """The scene as ``verify`` reads it: the destination server's buckets."""
    assert scene.dest_server is not None
    return Scene(
        scene.dest_server,
        scene.account,
        scene.source,
        scene.objects,
        scene.nbytes,
        scene.expected,
        scene.home,
    )


def verdict(runs: list[Run]) -> str:
    mine = next(r for r in runs if r.tool == "aws-copy-pt")
    peer = next(r for r in runs if r.tool == "rclone")
    ratio = mine.mib_per_second / peer.mib_per_second
    rss_ok = mine.rss_mib <= BUDGET_MIB + 100
    line = (
        f"aws-copy-pt / rclone MiB/s: {ratio:.2f}x (target >= 1.0x); aws-copy-pt peak RSS "
        f"{mine.rss_mib:.0f} MiB (target <= {BUDGET_MIB + 100}: {'met' if rss_ok else 'missed'})"
    )
    floor = next((r for r in runs if r.tool == "python-floor"), None)
    if floor is not None:
        line += (
            f"; python-floor / rclone: {floor.mib_per_second / peer.mib_per_second:.2f}x, "
            f"aws-copy-pt / python-floor: {mine.mib_per_second / floor.mib_per_second:.2f}x"
        )
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["large", "small"], action="append")
    parser.add_argument("--large-mib", type=int, default=1024)
    parser.add_argument("--small-objects", type=int, default=1000, help="objects of 1 MiB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median shown)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run the bare Python loop (stream_floor.py): GET, MD5, PUT, nothing else",
    )
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    compile_tool()
    scenarios = {
        "large": (
            {"p/big.bin": args.large_mib * MiB},
            f"one {args.large_mib:,} MiB object, streamed between two rclone serve s3",
        ),
        "small": (
            {f"p/obj{i:05d}": MiB for i in range(args.small_objects)},
            f"{args.small_objects:,} x 1 MiB objects, streamed between two rclone serve s3",
        ),
    }
    tables = []
    for name in args.only or ["large", "small"]:
        files, title = scenarios[name]
        print(f"{name}:", file=sys.stderr, flush=True)
        with (
            tempfile.TemporaryDirectory(prefix="acp-stream-bench-") as tmp,
            two_servers(Path(tmp), files) as scene,
        ):
            runs = compare(scene, args.repeat, floor=args.floor)
        tables.append(f"{table(f'{title}, median of {args.repeat}', runs)}\n{verdict(runs)}")
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
