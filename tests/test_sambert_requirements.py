"""requirements-sambert.txt is an installable set for CPython 3.10 on linux x86_64, checked against PyPI.

No Python 3.10 exists here, so pip is asked about another interpreter: ``pip install --dry-run
--ignore-installed --python-version 3.10 --platform … --report``. Two things keep that from
being one resolver run: pip allows sdists with a foreign --python-version only under --no-deps,
and modelscope 1.9.5 needs oss2 (and it crcmod), which publish sdists only. So every pin is
looked up with --no-deps (wheels only, except the known sdist-only packages), and the
resolver's remaining job — every Requires-Dist of every pin, markers evaluated for 3.10/linux,
satisfied by another pin — is done here from the metadata pip reports. The lookups run in
parallel chunks (network-bound: ~150 index and metadata requests).

Skipped only when PyPI cannot be reached at all. kantts and ttsfrd are not in the file: they
come from ModelScope's own index (see its header).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-sambert.txt"
INDEX = "https://pypi.org/simple/"
SDIST_ONLY = {"crcmod", "oss2", "sox"}  # publish no wheels on PyPI; pure Python (crcmod's C part is optional)
TARGET = {
    "python_version": "3.10", "python_full_version": "3.10.14", "implementation_version": "3.10.14",
    "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
    "implementation_name": "cpython", "platform_python_implementation": "CPython",
}
CHUNKS = 4


def pins() -> dict[str, Version]:
    found = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==" and not req.marker, f"not an exact pin: {line}"
            found[canonicalize_name(req.name)] = Version(spec.version)
    return found


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def test_the_file_pins_everything_and_not_the_index_only_packages():
    pinned = pins()
    assert "kantts" not in pinned and "ttsfrd" not in pinned  # PyPI's are squats
    assert pinned["numpy"] < Version("2") and pinned["torch"] == Version("2.0.1")
    assert pinned["modelscope"] == Version("1.9.5")
    assert "modelscope.oss-cn-beijing.aliyuncs.com/releases/repo.html" in REQUIREMENTS.read_text()


def run_pip(requirements: list[str], report: Path, binary_only: bool) -> subprocess.Popen:
    req_file = report.with_suffix(".txt")
    req_file.write_text("\n".join(requirements) + "\n")
    args = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed", "--no-deps",
            "--quiet", "--index-url", INDEX, "--python-version", "3.10", "--implementation", "cp",
            "--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64",
            "--report", str(report), "-r", str(req_file)]
    if binary_only:
        args.insert(args.index("--no-deps"), "--only-binary=:all:")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}  # no local mirrors or caps
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.skipif(not pypi_reachable(), reason="PyPI unreachable: cannot check requirements-sambert.txt")
def test_requirement_set_installs_on_python_310(tmp_path):
    pinned = pins()
    lines = [f"{name}=={version}" for name, version in sorted(pinned.items())]
    wheels = [line for line in lines if line.split("==")[0] not in SDIST_ONLY]
    jobs = [run_pip(wheels[i::CHUNKS], tmp_path / f"wheels{i}.json", True) for i in range(CHUNKS)]
    jobs.append(run_pip([line for line in lines if line.split("==")[0] in SDIST_ONLY], tmp_path / "sdists.json", False))
    for job in jobs:
        output = job.communicate(timeout=300)[0]
        assert job.returncode == 0, output[-3000:]

    metadata = {}
    for report in tmp_path.glob("*.json"):
        for item in json.loads(report.read_text())["install"]:
            metadata[canonicalize_name(item["metadata"]["name"])] = item["metadata"]
    assert set(metadata) == set(pinned)
    problems = []
    for name, meta in sorted(metadata.items()):
        if Version(meta["version"]) != pinned[name]:
            problems.append(f"{name}: pip found {meta['version']}, pinned {pinned[name]}")
        if not SpecifierSet(meta.get("requires_python") or "").contains("3.10.14"):
            problems.append(f"{name} {meta['version']} requires Python {meta['requires_python']}")
        for raw in meta.get("requires_dist") or []:
            req = Requirement(raw)
            if req.marker and not req.marker.evaluate({**default_environment(), **TARGET, "extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            if dep not in pinned:
                problems.append(f"{name} needs {raw}: not pinned")
            elif not req.specifier.contains(pinned[dep], prereleases=True):
                problems.append(f"{name} needs {raw}: pinned {dep}=={pinned[dep]}")
    assert not problems, "\n".join(problems)
