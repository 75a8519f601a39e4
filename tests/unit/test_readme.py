"""README.rst: valid reStructuredText, with its generated parts in step with the code."""

from __future__ import annotations

import docutils.core

from aws_copy_pt.cli import docs


def test_generated_sections_are_up_to_date() -> None:
    text = docs.README.read_text()
    assert docs.render(text) == text, "run: .venv/bin/python -m aws_copy_pt.cli.docs"


def test_readme_is_valid_restructured_text() -> None:
    docutils.core.publish_string(
        docs.README.read_text(),
        writer_name="null",
        settings_overrides={"report_level": 2, "halt_level": 2},
    )


def test_readme_gives_the_two_setup_commands() -> None:
    text = docs.README.read_text()
    assert "./venv_create.sh --dev && .venv/bin/pytest" in text
    assert "./venv_create.sh && .venv/bin/aws-copy-pt" in text
