"""Installed, the project is one import name, `reconcile`, and lives beside the PyPI packages
that own the names its folders carry (`rules` is django-rules, `fixtures` is testing-cabal's).
Builds the wheel from this tree, installs it into a fresh virtual environment next to those
two, and runs the README's first command from it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                "-w", out, ROOT)
    assert build.returncode == 0, build.stderr
    (path,) = out.glob("telecom_reconcile-*.whl")
    return path


def test_wheel_holds_one_top_level_name_and_the_demo_sample(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"reconcile"}
    assert "reconcile/sample/inventory.xlsx" in names
    assert not any(n.startswith("reconcile/fixtures") or "scenario" in n for n in names), \
        "the scenario generators are test tools, not installed modules"
    assert any(n.startswith("reconcile/parsers/layouts/") and n.endswith(".yaml") for n in names)


@pytest.mark.skipif(os.environ.get("RECONCILE_OFFLINE") == "1", reason="needs PyPI")
def test_wheel_installs_beside_rules_and_fixtures_without_touching_them(wheel, tmp_path):
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    py = venv / "bin" / "python"
    got = run(py, "-m", "pip", "install", "-q", "rules", "fixtures")
    assert got.returncode == 0, got.stderr
    # our dependencies come from this environment (a plain folder on sys.path: its .pth
    # files, among them the editable install of this tree, are not run)
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .stdout.strip())
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    got = run(py, "-m", "pip", "install", "-q", "--no-deps", wheel)
    assert got.returncode == 0, got.stderr
    probe = ("import rules, fixtures, reconcile, reconcile.rules; "
             "from rules import add_rule; from fixtures import Fixture; "
             "print(reconcile.__file__); print(reconcile.rules.__file__)")
    got = run(py, "-c", probe, cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert all(str(site) in line for line in got.stdout.split()), got.stdout
    demo = run(venv / "bin" / "reconcile", "demo", "--out", tmp_path / "report", cwd=tmp_path)
    assert demo.returncode in (0, 1), demo.stderr
    assert (tmp_path / "report" / "report.html").is_file()
    got = run(py, "-m", "pip", "uninstall", "-y", "-q", "telecom-reconcile")
    assert got.returncode == 0, got.stderr
    got = run(py, "-c", "from rules import add_rule; from fixtures import Fixture", cwd=tmp_path)
    assert got.returncode == 0, "uninstalling reconcile broke rules or fixtures: " + got.stderr
