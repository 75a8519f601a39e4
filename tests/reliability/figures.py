"""The suite's figures: counted while the reliability tests run, printed once at the end.

Every counter is measured by the audits (``audit.py``) or read from the fault injectors, never
written by hand: a test that finds a lost object adds it here *and* fails, so the summary line
in a CI log always says what the run saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class Figures:
    kills: int = 0  # kill -9 of a daemon or `run --once` at a chosen point
    verified: int = 0  # destination objects checked byte for byte against their source
    lost: int = 0  # expected destination objects that were missing
    corrupt: int = 0  # destination objects whose bytes differ from the source
    recopied: int = 0  # copy requests for objects already verified
    early_deletes: int = 0  # staging objects deleted before their copy was checked
    orphaned_uploads: int = 0  # multipart uploads left open in either bucket
    damaged_databases: int = 0  # PRAGMA integrity_check said anything but "ok"
    faults: int = 0  # faults injected into S3 and Globus
    false_done: int = 0  # transfers in DONE whose objects were not all intact
    bad_inputs: int = 0  # bad-input cases run through the CLI
    bad_inputs_clear: int = 0  # of those, refused (or handled) with a clear message
    overlaps_refused: int = 0  # overlapping staging/destination pairs refused (exit 2)
    stale_deletes_kept: int = 0  # staging objects replaced after their copy, kept by the delete
    cancels_honoured: int = 0  # passes that stopped at a cancel: no copy or delete after it
    owed_deletes_finished: int = 0  # deletes a killed pass owed, done by the next one (bound)
    identical_proven: int = 0  # copies a rerun proved identical (skipped, not refused/recopied)
    hostile_checks: int = 0  # (command, hostile string) pairs whose output was examined
    hostile_safe: int = 0  # of those, shown as visible escapes, not markup or control
    secret_checks: int = 0  # places a planted secret was looked for (output, logs, environ)
    secret_leaks: int = 0  # of those, where the secret was found
    home_cases: int = 0  # bad homes (symlinks, another owner, read-only, no schema version)
    home_refusals: int = 0  # of those, refused clearly with nothing created or changed
    crash_paths: int = 0  # known failures of outside systems run through the CLI
    crash_paths_known: int = 0  # of those, ending with their documented exit code and a hint

    @property
    def used(self) -> bool:
        return any(value for value in vars(self).values())

    def line(self) -> str:
        return (
            f"reliability: kills {self.kills}, objects {self.verified} verified, "
            f"lost {self.lost}, corrupt {self.corrupt}, recopied {self.recopied}, "
            f"early deletes {self.early_deletes}, orphaned uploads {self.orphaned_uploads}, "
            f"damaged databases {self.damaged_databases}, faults injected {self.faults}, "
            f"false DONE {self.false_done}, "
            f"bad inputs {self.bad_inputs_clear}/{self.bad_inputs} clear, "
            f"overlaps refused {self.overlaps_refused}, "
            f"stale deletes kept {self.stale_deletes_kept}, "
            f"cancels honoured {self.cancels_honoured}, "
            f"owed deletes finished {self.owed_deletes_finished}, "
            f"identical proven {self.identical_proven}, "
            f"hostile strings {self.hostile_safe}/{self.hostile_checks} rendered safely, "
            f"secret leaks {self.secret_leaks} of {self.secret_checks} checks, "
            f"home refusals {self.home_refusals}/{self.home_cases}, "
            f"crash paths {self.crash_paths_known}/{self.crash_paths} with known exit codes"
        )


FIGURES = pytest.StashKey[Figures]()


def figures_of(config: pytest.Config) -> Figures:
    if FIGURES not in config.stash:
        config.stash[FIGURES] = Figures()
    return config.stash[FIGURES]
