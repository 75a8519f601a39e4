"""`aws-copy-pt demo`: the newcomer's first command runs the whole pipeline offline."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from aws_copy_pt.errors import ExitCode
from tests.fixtures.cli import CliRunner, installed_script, isolated_env


def test_demo_reaches_done_with_every_object_verified_and_identical(
    cli_subprocess: CliRunner, app_home: Path
) -> None:
    result = cli_subprocess("--json", "demo", timeout=180).ok()
    outcome = json.loads(result.stdout)
    assert outcome["state"] == "DONE"
    assert len(outcome["objects"]) == 6
    assert {o["state"] for o in outcome["objects"]} == {"verified"}
    assert all(o["identical"] for o in outcome["objects"])
    assert any(o["size"] > 8 * 1024 * 1024 for o in outcome["objects"])  # a multipart copy
    assert "Logged in to Globus" in result.stderr
    assert not Path(outcome["home"]).exists(), "the demo home is removed without --keep"
    assert not app_home.exists(), "the demo never touches the user's own home"


def _hints(demo: subprocess.Popen[str]) -> list[str]:
    """The commands `demo --keep` prints, read until the last one (whoami)."""
    assert demo.stdout is not None
    hints: list[str] = []
    for line in demo.stdout:
        if "--home" in line and not line.startswith("Kept"):
            hints.append(line.strip())
        if line.rstrip().endswith(" whoami"):
            return hints
    pytest.fail(f"`demo --keep` ended without its hints: {demo.wait()}")


def test_demo_keep_serves_its_stand_ins_until_ctrl_c_and_then_its_home_says_so(
    cli_subprocess: CliRunner, app_home: Path
) -> None:
    env = isolated_env(app_home)
    demo = subprocess.Popen(
        [installed_script(), "demo", "--keep"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        hints = _hints(demo)
        answers = {}
        for hint in hints:  # each works as typed, in a shell with the same PATH
            done = subprocess.run(
                hint, shell=True, env=env, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, f"{hint}\n{done.stdout}\n{done.stderr}"
            answers[hint.rsplit(" ", 1)[-1]] = done.stdout
    finally:
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
    assert [h.split("--home ")[1].split()[1] for h in hints] == [
        "status",
        "transfers",
        "tasks",
        "whoami",
    ]
    assert "DONE" in answers["status"]
    assert "run 42 (demo)" in answers["tasks"]
    assert "demo-researcher@example.org" in answers["whoami"]

    home = hints[0].split("--home ")[1].split()[0]
    stopped = cli_subprocess("--home", home, "whoami")
    stopped.fails(ExitCode.CONFIG, says="this is a demo home whose servers have stopped")
    assert "status.globus.org" not in stopped.stderr
    status = cli_subprocess("--home", home, "--json", "status").ok()
    assert [t["state"] for t in json.loads(status.stdout)["transfers"]] == ["DONE"]


def test_demo_engine_batch_copies_through_a_job_and_the_large_object_locally(
    cli_subprocess: CliRunner,
) -> None:
    result = cli_subprocess("--json", "demo", "--engine", "batch", timeout=300).ok()
    outcome = json.loads(result.stdout)
    assert outcome["state"] == "DONE"
    objects = outcome["objects"]
    assert {o["state"] for o in objects} == {"verified"} and all(o["identical"] for o in objects)
    local = [o for o in objects if o["engine"] == "local"]
    assert [o["size"] > 8 * 1024 * 1024 for o in local] == [True]  # over the job's size limit
    assert sum(o["engine"] == "batch" for o in objects) == 5
    assert "created S3 Batch Operations job" in result.stderr
    assert "report read (1 file(s)): 5 copied (to verify)" in result.stderr


def test_demo_cross_provider_streams_every_object_into_a_second_store(
    cli_subprocess: CliRunner,
) -> None:
    result = cli_subprocess("--json", "demo", "--cross-provider", timeout=240).ok()

    outcome = json.loads(result.stdout)
    assert (outcome["state"], outcome["route"]) == ("DONE", "stream")
    assert len(outcome["objects"]) == 6
    assert all(o["identical"] and o["state"] == "verified" for o in outcome["objects"])
    assert all(o["verified_by"] for o in outcome["objects"])
    assert "rclone serve s3" in result.stderr
