"""requirements.lock (the deployable's pinned, hashed dependencies) must cover pyproject.toml's runtime dependencies.

The Docker image and .ci/run install from the lock with --require-hashes; a dependency added to pyproject.toml
without re-running scripts/lock.sh would otherwise only show up as a broken image.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers import REPO

REGENERATE = "run scripts/lock.sh and commit requirements.lock"
# The image's Python (Dockerfile: python:3.11); the lock is universal, so its markers pick the pins for it.
IMAGE_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.9", "implementation_name": "cpython"}
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$")


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: int


def _pins() -> list[Pin]:
    pins: list[Pin] = []
    for block in re.split(r"\n(?=[A-Za-z0-9])", (REPO / "requirements.lock").read_text(encoding="utf-8")):
        match = _PIN.match(block.splitlines()[0])
        if match:
            marker = Marker(match["marker"]) if match["marker"] else None
            name = canonicalize_name(match["name"])
            pins.append(Pin(name, Version(match["version"]), marker, block.count("--hash=sha256:")))
    return pins


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def test_the_lock_parses_and_every_pin_carries_hashes() -> None:
    pins = _pins()
    assert len(pins) >= 20
    assert [p.name for p in pins if p.hashes == 0] == []


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    pins = [p for p in _pins() if p.marker is None or p.marker.evaluate(IMAGE_PYTHON)]
    by_name = {p.name: p for p in pins}
    assert len(by_name) == len(pins), "two pins of one package apply to the image's Python"
    for requirement in _runtime_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate(IMAGE_PYTHON):
            continue
        pin = by_name.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is in pyproject.toml but not in requirements.lock: {REGENERATE}"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements.lock pins {pin.name}=={pin.version}, outside pyproject.toml's {requirement}: {REGENERATE}"
        )


def test_every_runtime_range_has_an_upper_bound() -> None:
    for requirement in _runtime_requirements():
        assert any(s.operator in ("<", "<=", "==", "~=") for s in requirement.specifier), (
            f"{requirement} has no upper bound"
        )
