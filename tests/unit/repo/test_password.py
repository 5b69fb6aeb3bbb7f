from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from salvage.model.errors import UsageError
from salvage.repo.errors import PasswordMissingError
from salvage.repo.password import password_source


def test_there_is_no_default_password() -> None:
    with pytest.raises(PasswordMissingError, match="no repository password") as info:
        password_source(None, {})
    assert "--password-file" in (info.value.hint or "")


def test_file_wins_over_environment(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("from-file\n")
    assert password_source(path, {"SALVAGE_REPO_PASSWORD": "from-env"}).read() == "from-file"


def test_environment(tmp_path: Path) -> None:
    assert password_source(None, {"SALVAGE_REPO_PASSWORD": "from-env"}).read() == "from-env"


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("\n")
    with pytest.raises(PasswordMissingError):
        password_source(path, {}).read()


@dataclass(frozen=True)
class NamedSource:
    """A stand-in for a secret store's password: what password_source needs of one."""

    name: str

    def read(self) -> str:
        return "from-store"


def test_file_and_secret_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"both a password file .* and a password Secret \(repo-pw\)"):
        password_source(tmp_path / "pw", {}, secret=NamedSource("repo-pw"))


def test_secret_wins_over_the_environment() -> None:
    assert password_source(None, {"SALVAGE_REPO_PASSWORD": "from-env"}, secret=NamedSource("pw")).read() == "from-store"
