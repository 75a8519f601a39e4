"""`aws-copy-pt demo`: the newcomer's first command runs the whole pipeline offline."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cli import CliRunner


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


def test_demo_keep_leaves_a_home_that_status_can_explore(cli_subprocess: CliRunner) -> None:
    result = cli_subprocess("demo", "--keep", timeout=180).ok()
    home = next(
        line.split("--home ")[1].split()[0]
        for line in result.stdout.splitlines()
        if "--home" in line
    )
    status = cli_subprocess("--home", home, "--json", "status").ok()
    transfers = json.loads(status.stdout)["transfers"]
    assert [t["state"] for t in transfers] == ["DONE"]


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
