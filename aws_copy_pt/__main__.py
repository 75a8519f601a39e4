"""`python -m aws_copy_pt` runs the command-line interface."""

from aws_copy_pt.cli.main import run

run()
