"""Smoke runs keep their records out of the committed ``results/``: the default folders per
profile, the guard in RunStore.run, and the notebooks and ``kdcore.run.reproduce`` using them."""

import re
import subprocess
from pathlib import Path

import pytest

from kdcore.run import reproduce
from kdcore.results import RunStore, results_root, scratch_root

ROOT = Path(__file__).resolve().parent.parent


def test_paper_records_are_committed_and_smoke_records_go_to_an_ignored_scratch_folder(monkeypatch):
    monkeypatch.delenv("KDCORE_RESULTS", raising=False)
    monkeypatch.chdir(ROOT)
    assert results_root() == results_root("paper") == ROOT / "results"
    smoke = results_root("smoke")
    assert smoke == scratch_root() == RunStore(profile="smoke").root
    assert ROOT / "results" not in [smoke, *smoke.parents]
    # git ignores it: nothing a smoke run writes there shows in `git status`
    probe = smoke.relative_to(ROOT) / "ch" / "s" / "seed0-0123.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=ROOT)
    assert ignored.returncode == 0, f"{probe} is not ignored by git"


def test_kdcore_results_overrides_every_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path))
    assert results_root("paper") == results_root("smoke") == tmp_path


def test_a_smoke_record_is_refused_by_the_committed_folder_before_any_work(monkeypatch):
    monkeypatch.chdir(ROOT)
    calls = []
    store = RunStore(ROOT / "results")
    before = sorted((ROOT / "results").rglob("*.json"))
    with pytest.raises(ValueError, match=r"'smoke' run must not write .* RunStore\(profile='smoke'\)"):
        store.run("kd_overview", "a smoke setting", 0, {}, "smoke", lambda: calls.append(1) or {"metrics": {}})
    assert not calls and sorted((ROOT / "results").rglob("*.json")) == before


def test_the_guard_leaves_other_folders_and_the_paper_profile_alone(tmp_path):
    store = RunStore(tmp_path)
    assert store.run("ch", "s", 0, {}, "smoke", lambda: {"metrics": {"m": 1.0}})["profile"] == "smoke"
    assert store.run("ch", "s", 0, {}, "paper", lambda: {"metrics": {"m": 2.0}})["profile"] == "paper"


@pytest.mark.parametrize("name", reproduce.chapters(ROOT))
def test_every_notebook_opens_its_store_for_its_profile(name):
    """The smoke defaults of a notebook (nbval, `make reproduce PROFILE=smoke`) must write to
    scratch: the store is opened with the run's profile, and tables read that store."""
    src = (ROOT / "notebooks" / f"{name}.py").read_text()
    assert re.search(r"^store = RunStore\(profile=cfg\.profile\)", src, flags=re.M), name
    assert "RunStore()" not in src, f"{name}: a RunStore() without a profile writes smoke runs to results/"
    for call in re.findall(r"comparison_table\(([^)]*)\)", src):
        assert "store.root" in call, f"{name}: comparison_table({call}) does not read the run's store"
