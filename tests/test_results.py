"""Run records: resumable, atomic, keyed by config; the paper-vs-ours table."""

import json

import pytest
import torch

from kdcore.chapters import paper_numbers
from kdcore.results import PaperNumber, RunStore, comparison_table
from kdcore.run.results_cli import main


def test_finished_runs_are_never_recomputed(tmp_path):
    store, calls = RunStore(tmp_path), []

    def fn():
        calls.append(1)
        return {"metrics": {"accuracy": 0.5 + 0.1 * len(calls)}}

    a = store.run("ch", "s", 0, {"lr": 1e-3}, "smoke", fn)
    b = store.run("ch", "s", 0, {"lr": 1e-3}, "smoke", fn)
    assert len(calls) == 1 and a == b
    store.run("ch", "s", 0, {"lr": 1e-2}, "smoke", fn)      # other parameters: a new run
    store.run("ch", "s", 1, {"lr": 1e-3}, "smoke", fn)      # other seed: a new run
    assert len(calls) == 3
    rec = store.load("ch", "s", 0, {"lr": 1e-3}, "smoke")
    assert {"versions", "device", "git_commit", "params", "profile", "seed"} <= set(rec)


def test_interrupted_run_leaves_nothing_and_corrupt_record_is_named(tmp_path):
    store = RunStore(tmp_path)

    def boom():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.run("ch", "s", 0, {}, "smoke", boom)
    assert store.load("ch", "s", 0, {}, "smoke") is None and not list(tmp_path.rglob("*.tmp"))
    store.run("ch", "s", 0, {}, "smoke", lambda: {"metrics": {"m": 1}})
    path = store.path("ch", "s", 0, {}, "smoke")
    path.write_text("{not json")
    with pytest.raises(ValueError, match="corrupt run record"):
        store.load("ch", "s", 0, {}, "smoke")


def test_model_run_caches_weights_and_retrains_when_missing(tmp_path):
    import torch

    store, trained = RunStore(tmp_path), []

    def build():
        torch.manual_seed(0)
        return torch.nn.Linear(2, 1)

    def train(m):
        trained.append(1)
        with torch.no_grad():
            m.weight.fill_(3.0)
        return {"metrics": {"w": 3.0}}

    rec, m = store.model_run("ch", "t", 0, {}, "smoke", build, train)
    rec2, m2 = store.model_run("ch", "t", 0, {}, "smoke", build, train)
    assert len(trained) == 1 and torch.equal(m.weight, m2.weight) and rec == rec2
    # the weights live with the record, named and hashed by it
    assert rec["weights"]["file"].startswith("ch/models/t/seed0-") and len(rec["weights"]["sha256"]) == 64
    assert (tmp_path / rec["weights"]["file"]).exists()


def test_comparison_table_mean_std_delta(tmp_path, monkeypatch, capsys):
    store = RunStore(tmp_path)
    for seed, acc in enumerate([0.8, 0.9]):
        store.run("kd_overview", "student 800-800 alone", seed, {}, "paper",
                  lambda acc=acc: {"metrics": {"test_errors": 1000 * (1 - acc)}})
    df = comparison_table("kd_overview", tmp_path, paper_numbers())
    row = df[(df.setting == "student 800-800 alone") & (df.metric == "test_errors")].iloc[0]
    assert row.ours == pytest.approx(150.0) and row.ours_std == pytest.approx(70.7107, rel=1e-4)
    assert row.paper == 146 and row.delta == pytest.approx(4.0) and row.n_runs == 2 and row.profile == "paper"
    missing = df[df.setting == "teacher 1200-1200, 2012 regime"].iloc[0]   # Hinton's 67 is set against it
    assert missing.n_runs == 0 and missing.paper == 67
    main(["--chapter", "kd_overview", "--format", "csv", "--root", str(tmp_path)])
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "chapter,setting,metric,paper,ours,ours_std,delta,n_runs,profile,dirty,current"


def test_paper_numbers_have_sources():
    nums = paper_numbers()
    assert nums and all(isinstance(n, PaperNumber) and n.source for n in nums)
    keys = [(n.chapter, n.setting, n.metric) for n in nums]
    assert len(keys) == len(set(keys)), "a paper number is listed twice"
    json.dumps([n.__dict__ for n in nums])


def test_a_superseded_record_of_the_same_seed_is_not_averaged(tmp_path):
    store = RunStore(tmp_path)
    store.run("ch", "s", 0, {"teacher": "old"}, "paper", lambda: {"metrics": {"acc": 0.1}})
    import time

    time.sleep(1.1)  # records are timestamped to the second
    store.run("ch", "s", 0, {"teacher": "new"}, "paper", lambda: {"metrics": {"acc": 0.9}})
    with pytest.warns(UserWarning, match="superseded"):
        df = comparison_table("ch", tmp_path)
    assert df.iloc[0].ours == pytest.approx(0.9) and df.iloc[0].n_runs == 1


def test_code_hash_ignores_docstrings_and_follows_imports(tmp_path):
    from kdcore.results.provenance import code_files, code_hash

    pkg = tmp_path / "kdcore"
    (pkg / "chapters" / "toy").mkdir(parents=True)
    for f in (pkg / "__init__.py", pkg / "chapters" / "__init__.py", pkg / "unused.py"):
        f.write_text("")
    (pkg / "maths.py").write_text('"""Doc."""\n\ndef f(x):\n    return x + 1\n')
    (pkg / "chapters" / "toy" / "__init__.py").write_text("def g():\n    from ...maths import f\n    return f(1)\n")
    files = {p.relative_to(pkg).as_posix() for p in code_files("toy", pkg)}
    assert files == {"__init__.py", "chapters/toy/__init__.py", "maths.py"}   # chapters/__init__ only gathers data
    before = code_hash("toy", pkg)
    (pkg / "maths.py").write_text('"""Another doc."""\n# a comment\n\ndef f(x):\n    return x + 1\n')
    (pkg / "unused.py").write_text("X = 2\n")
    assert code_hash("toy", pkg) == before          # docstrings, comments, unrelated modules
    (pkg / "maths.py").write_text('def f(x):\n    return x + 2\n')
    assert code_hash("toy", pkg) != before          # code it runs


def test_code_hash_follows_only_the_reexports_a_chapter_uses(tmp_path):
    from kdcore.results.provenance import code_files, code_hash

    pkg = tmp_path / "kdcore"
    (pkg / "chapters" / "toy").mkdir(parents=True)
    (pkg / "meth").mkdir()
    for f in (pkg / "__init__.py", pkg / "chapters" / "__init__.py"):
        f.write_text("")
    (pkg / "meth" / "__init__.py").write_text('"""Re-exports."""\nfrom .a import A\nfrom .b import B\n__all__ = ["A", "B"]\n')
    (pkg / "meth" / "a.py").write_text("def A():\n    return 1\n")
    (pkg / "meth" / "b.py").write_text("def B():\n    return 2\n")
    (pkg / "chapters" / "toy" / "__init__.py").write_text("from ...meth import A\n")
    files = {p.relative_to(pkg).as_posix() for p in code_files("toy", pkg)}
    assert files == {"__init__.py", "chapters/toy/__init__.py", "meth/__init__.py", "meth/a.py"}
    before = code_hash("toy", pkg)
    (pkg / "meth" / "b.py").write_text("def B():\n    return 3\n")
    assert code_hash("toy", pkg) == before          # a method the chapter never takes
    (pkg / "meth" / "a.py").write_text("def A():\n    return 4\n")
    assert code_hash("toy", pkg) != before
    # An __init__ that runs code, or a package imported whole, is followed whole.
    (pkg / "meth" / "__init__.py").write_text("from .a import A\nfrom .b import B\nA()\n")
    assert "meth/b.py" in {p.relative_to(pkg).as_posix() for p in code_files("toy", pkg)}
    (pkg / "meth" / "__init__.py").write_text("from .a import A\nfrom .b import B\n")
    (pkg / "chapters" / "toy" / "__init__.py").write_text("from ... import meth\nimport kdcore.meth\n")
    assert "meth/b.py" in {p.relative_to(pkg).as_posix() for p in code_files("toy", pkg)}


def test_stale_record_is_recomputed_unless_kept(tmp_path, monkeypatch):
    from kdcore.results import records

    calls = []

    def fn():
        calls.append(1)
        return {"metrics": {"acc": float(len(calls))}}

    monkeypatch.setattr(records, "code_hash", lambda chapter: "old")
    RunStore(tmp_path).run("ch", "s", 0, {}, "paper", fn)
    monkeypatch.setattr(records, "code_hash", lambda chapter: "new")
    assert comparison_table("ch", tmp_path).current.tolist() == [False]
    kept = RunStore(tmp_path, keep_stale=True).run("ch", "s", 0, {}, "paper", fn)
    assert kept["metrics"]["acc"] == 1.0 and len(calls) == 1
    redone = RunStore(tmp_path).run("ch", "s", 0, {}, "paper", fn)
    assert redone["metrics"]["acc"] == 2.0 and redone["code_hash"] == "new" and len(calls) == 2
    assert comparison_table("ch", tmp_path).current.tolist() == [True]
    assert len(RunStore(tmp_path).records("ch")) == 1   # overwritten in place, not duplicated


def test_record_keeping_display_and_runner_code_is_not_hashed():
    from kdcore.results.provenance import PACKAGE, code_files

    rels = {p.relative_to(PACKAGE).as_posix() for p in code_files("kd_overview")}
    assert {"chapters/kd_overview/runners.py", "training/loop.py", "losses/hinton.py", "base/checks.py"} <= rels
    assert not any(r.startswith(("results/", "run/")) for r in rels)


def test_a_study_that_keeps_the_bench_timings_hashes_the_bench_and_what_it_times():
    from kdcore.results.provenance import PACKAGE, code_files

    rels = {p.relative_to(PACKAGE).as_posix() for p in code_files("hyper_step_cost")}
    # The bench computes this study's metric (a step's time), so a change to it, or to the
    # hypergradient steps it times, must make the record stale.
    assert {"studies/hyper_step_cost.py", "run/bench.py", "hyper/tangent.py", "hyper/unrolled.py"} <= rels
    assert not any(r.startswith("results/") or (r.startswith("run/") and r != "run/bench.py") for r in rels)


def test_trained_model_with_a_record_trains_nothing_until_asked(tmp_path):
    trained = []

    def build():
        return torch.nn.Linear(2, 2)

    def train(m):
        trained.append(1)
        with torch.no_grad():
            m.weight.fill_(5.0)
        return {"metrics": {"acc": 1.0}}

    store = RunStore(tmp_path)
    first = store.trained_model("ch", "teacher", 0, {}, "paper", build, train)
    assert len(trained) == 1 and first.loaded
    again = store.trained_model("ch", "teacher", 0, {}, "paper", build, train)
    assert len(trained) == 1 and not again.loaded and again.record == first.record
    assert float(again.model.weight.detach()[0, 0]) == 5.0 and len(trained) == 1      # loaded from its file


def test_committed_weights_are_checked_by_hash_and_never_silently_retrained(tmp_path):
    from kdcore.results.weights import WeightsMismatch

    store = RunStore(tmp_path)
    build = lambda: torch.nn.Linear(2, 2)   # noqa: E731

    def train(m):
        with torch.no_grad():
            m.weight.fill_(5.0)
        return {"metrics": {"acc": 1.0}}

    rec = store.trained_model("ch", "teacher", 0, {}, "paper", build, train).record
    path = tmp_path / rec["weights"]["file"]
    path.write_bytes(path.read_bytes()[:-4] + b"\x00\x00\x00\x00")       # not the model the records used
    with pytest.raises(WeightsMismatch, match=r"sha256.*refusing") as err:
        store.trained_model("ch", "teacher", 0, {}, "paper", build, train).model
    assert str(path) in str(err.value)
    path.unlink()                                                       # lost: named, not retrained
    with pytest.raises(WeightsMismatch, match="missing"):
        store.trained_model("ch", "teacher", 0, {}, "paper", build, train).model


def test_a_record_without_weights_keeps_a_retrained_model_only_if_it_reproduces_the_record(tmp_path):
    import json

    store = RunStore(tmp_path)
    build = lambda: torch.nn.Linear(2, 2)   # noqa: E731
    calls = []

    def train(m, value=5.0):
        calls.append(value)
        with torch.no_grad():
            m.weight.fill_(value)
        return {"metrics": {"acc": value / 5}}

    rec = store.trained_model("ch", "teacher", 0, {}, "paper", build, train).record
    rec_path = store.path("ch", "teacher", 0, {}, "paper")
    old = {k: v for k, v in rec.items() if k != "weights"}               # a record of older code
    rec_path.write_text(json.dumps(old))
    (tmp_path / rec["weights"]["file"]).unlink()
    m = store.trained_model("ch", "teacher", 0, {}, "paper", build, train).model   # retrained, reproduces
    assert float(m.weight.detach()[0, 0]) == 5.0 and "weights" in json.loads(rec_path.read_text())
    rec_path.write_text(json.dumps(old))
    with pytest.warns(UserWarning, match="does not reproduce"):
        store.trained_model("ch", "teacher", 0, {}, "paper", build, lambda m: train(m, 4.0)).model
    assert "weights" not in json.loads(rec_path.read_text())


def test_adopt_moves_cached_weights_into_the_records(tmp_path):
    import json

    from kdcore.results.records import _slug
    from kdcore.results.adopt import adopt_cache

    store = RunStore(tmp_path)
    rec = store.run("ch", "teacher (classes 0-4)", 3, {}, "paper", lambda: {"metrics": {"acc": 1.0}})
    cache = tmp_path / ".cache"
    cache.mkdir()
    torch.save(torch.nn.Linear(2, 2).state_dict(), cache / f"ch-{_slug('teacher (classes 0-4)')}-{rec['key']}.pt")
    (changed,) = adopt_cache(tmp_path)
    entry = json.loads(changed.read_text())["weights"]
    assert (tmp_path / entry["file"]).exists() and entry["dtype"] == "float32"
    assert adopt_cache(tmp_path) == []                                    # once only


def test_code_hash_normalisation_is_plain_text_without_docstrings_and_comments(tmp_path):
    from kdcore.results.provenance import _normalised

    f = tmp_path / "m.py"
    f.write_text('"""Module doc."""\nimport os  # why\n\n\nclass A:\n    """Doc."""\n\n    x = "# not a comment"\n')
    assert _normalised(f) == 'import os\nclass A:\n    x = "# not a comment"'


def test_dirty_flag_looks_only_at_the_code_of_the_records_chapter(monkeypatch):
    """A record is marked ``-dirty`` when the files that compute it have uncommitted changes,
    not when another chapter's code or a results file does."""
    import subprocess

    from kdcore.results import records

    asked = []

    def fake_run(cmd, **kw):
        asked.append(cmd)
        out = "abc123" if cmd[1] == "rev-parse" else ""
        return subprocess.CompletedProcess(cmd, 0, stdout=out, stderr="")

    monkeypatch.setattr(records.subprocess, "run", fake_run)
    assert records._git_commit("multidomain") == "abc123"
    paths = asked[-1][asked[-1].index("--") + 1:]
    assert any(p.endswith("kdcore/chapters/multidomain/runners.py") for p in paths)
    assert "notebooks/multidomain.py" in paths and "notebooks/params/multidomain.yaml" in paths
    assert not any("deep_nets" in p or "/results/" in p for p in paths)


def test_a_run_with_a_non_finite_loss_leaves_a_failure_note_and_is_not_retried(tmp_path, monkeypatch):
    from kdcore.training.history import NonFiniteLossError
    from kdcore.results import RunFailedBefore, records

    calls = []

    def diverges():
        calls.append(1)
        raise NonFiniteLossError("loss is nan at epoch 3")

    store = RunStore(tmp_path)
    with pytest.raises(NonFiniteLossError):
        store.run("ch", "s", 4, {"T": 0.1}, "paper", diverges)
    assert store.records("ch") == []                       # no record, and readers skip the note
    (note,) = store.failures("ch")
    assert (note["setting"], note["seed"], note["params"], note["error"]) == ("s", 4, {"T": 0.1}, "NonFiniteLossError")
    assert "epoch 3" in note["message"] and {"device", "git_commit", "code_hash"} <= set(note)
    with pytest.raises(RunFailedBefore, match="Delete .*seed4-.*\\.failure") as err:
        store.run("ch", "s", 4, {"T": 0.1}, "paper", diverges)
    assert len(calls) == 1 and err.value.note == note      # known failure: not trained again
    monkeypatch.setattr(records, "code_hash", lambda chapter: "changed")
    with pytest.raises(NonFiniteLossError):                # other code: tried again
        store.run("ch", "s", 4, {"T": 0.1}, "paper", diverges)
    assert len(calls) == 2
    monkeypatch.setattr(records, "code_hash", lambda chapter: "fixed")
    store.run("ch", "s", 4, {"T": 0.1}, "paper", lambda: {"metrics": {"acc": 0.5}})   # fixed code finishes it
    assert store.failures("ch") == [] and len(store.records("ch")) == 1   # its old note is gone


def test_other_errors_leave_no_failure_note(tmp_path):
    def broken():
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        RunStore(tmp_path).run("ch", "s", 0, {}, "paper", broken)
    assert RunStore(tmp_path).failures("ch") == [] and not list(tmp_path.rglob("*.failure"))
    (tmp_path / "ch" / "s").mkdir(parents=True)
    (tmp_path / "ch" / "s" / "seed0-x.failure").write_text("{trunc")
    with pytest.raises(ValueError, match="corrupt failure note"):
        RunStore(tmp_path).failures("ch")
