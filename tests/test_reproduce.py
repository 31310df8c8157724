"""kdcore.run.reproduce against the faults of issue 11: a deleted record re-runs its chapter,
FORCE re-runs, a misspelt key in the paper profile is refused before anything runs, two
reproductions of a chapter never overlap (lock, per-process temporary notebooks)."""

import fcntl
import threading
import time
from pathlib import Path

import pytest

from kdcore.run import reproduce
from kdcore.base.checks import ConfigError
from kdcore.results import RunStore

ROOT = Path(__file__).resolve().parent.parent

CHAPTER = '''# %% tags=["parameters"]
profile = "smoke"
runs = 1

# %%
from kdcore.results import RunStore

store = RunStore()
for seed in range(runs):
    store.run("ch", "s", seed, {}, profile, lambda: {"metrics": {"m": 1.0}})
print(len(store.records("ch")))
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A one-chapter project: notebooks/ch.py, its paper profile (3 runs), kdcore/ for the stamp."""
    (tmp_path / "notebooks" / "params").mkdir(parents=True)
    (tmp_path / "kdcore").mkdir()
    (tmp_path / "kdcore" / "m.py").write_text("a = 1\n")
    (tmp_path / "notebooks" / "ch.py").write_text(CHAPTER)
    (tmp_path / "notebooks" / "params" / "ch.yaml").write_text("profile: paper\nruns: 3\n")
    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path / "results"))
    return tmp_path


def _execute(project, **kw):
    return reproduce.execute("ch", "paper", out_dir=project / "out", root=project, **kw)


def test_a_deleted_record_re_runs_the_chapter_and_force_re_runs_it(project, capsys):
    store = RunStore(project / "results")
    assert _execute(project) is True and len(store.records("ch")) == 3
    assert reproduce.missing_records(project / "out" / "ch.ipynb") == []
    assert _execute(project) is False                                   # up to date
    store.path("ch", "s", 1, {}, "paper").unlink()                      # a record deleted
    assert reproduce.missing_records(project / "out" / "ch.ipynb") == ["ch/s/" + store.path("ch", "s", 1, {}, "paper").name]
    assert _execute(project) is True and len(store.records("ch")) == 3
    assert "1 of its run records are missing" in capsys.readouterr().out
    assert _execute(project) is False and _execute(project, force=True) is True
    assert not list((project / "out").glob(".*.ipynb"))                 # temporary notebooks removed


def test_a_misspelt_key_in_the_paper_profile_is_refused_before_anything_runs(project):
    (project / "notebooks" / "params" / "ch.yaml").write_text("profile: paper\nrnus: 3\n")
    with pytest.raises(ConfigError, match=r"unknown parameter 'rnus' \(did you mean 'runs'\?\) in .*ch.yaml"):
        _execute(project)
    assert not (project / "out").exists() and not (project / "results").exists()


def test_the_real_profiles_and_parameter_cells_match_the_configs():
    import dataclasses
    import importlib

    import yaml

    for name in reproduce.chapters(ROOT):
        cells = reproduce.parameter_names(ROOT, name)
        config = next(v for k, v in vars(importlib.import_module(f"kdcore.chapters.{name}")).items()
                      if k.endswith("Config"))
        assert cells == [f.name for f in dataclasses.fields(config)], name
        keys = yaml.safe_load((ROOT / "notebooks" / "params" / f"{name}.yaml").read_text())
        assert set(keys) <= set(cells), name
        reproduce._params(ROOT, name, "paper")   # passes the key check


def test_a_second_reproduction_waits_for_the_first(project, capsys, monkeypatch):
    out = project / "out"
    assert _execute(project) is True
    seen = []
    import papermill

    original = papermill.execute_notebook

    def spy(src, dst, **kw):
        seen.append((src, dst))
        return original(src, dst, **kw)

    monkeypatch.setattr(papermill, "execute_notebook", spy)
    release = threading.Event()

    def hold():
        with reproduce.chapter_lock(out, "ch"):
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    with open(out / ".ch.lock") as f, pytest.raises(BlockingIOError):   # the lock is held
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    threading.Timer(1.0, release.set).start()
    assert _execute(project, force=True) is True                        # waited, then ran
    holder.join()
    assert "another reproduction holds" in capsys.readouterr().out
    import os

    assert all(f".ch.{os.getpid()}." in Path(p).name for pair in seen for p in pair)


def test_normalise_drops_machine_paths_timings_and_random_ids():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": "/home/me/x/.c.1.src.ipynb", "output_path": "/home/me/x/.c.1.tmp.ipynb",
                                "start_time": "2026-01-01T00:00:00", "end_time": "2026-01-01T00:01:00",
                                "duration": 60.0, "parameters": {"a": 1}}
    cell = nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["injected-parameters"],
                                                         "papermill": {"duration": 0.1, "status": "completed"},
                                                         "execution": {"iopub.status.busy": "2026-01-01"}})
    cell["id"] = "3f2a9c1b"
    nb.cells.append(cell)
    out = reproduce.normalise(nb, "c")
    text = nbformat.writes(out)
    assert "/home/me" not in text and "2026-01-01" not in text and "3f2a9c1b" not in text
    assert out.metadata["papermill"]["input_path"] == "notebooks/c.py"
    assert out.metadata["papermill"]["parameters"] == {"a": 1}           # what ran is kept
    assert out.cells[0].metadata["papermill"] == {"status": "completed"}
