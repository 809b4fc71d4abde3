"""Lint, format and strict typing are part of the suite, so CI holds the code to them."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT, VENV_BIN


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_static_check_passes(command: list[str]) -> None:
    done = subprocess.run([str(VENV_BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
