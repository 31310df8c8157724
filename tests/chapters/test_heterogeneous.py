"""Heterogeneous chapter: config validation, the paper profile, data splits, job list, a
tiny end-to-end run of every kind of job, resumability."""

from pathlib import Path

import pytest
import torch
import yaml

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


def header_overrides(path: Path) -> dict:
    """The ``--set NAME=VALUE ...`` overrides a side parameters file's header names (YAML values)."""
    import re
    import shlex

    command = re.search(r"#\s+--set (.*)", path.read_text()).group(1)
    out = {}
    for item in shlex.split(command):
        name, _, value = item.partition("=")
        out[name] = yaml.safe_load(value)
    return out


def test_config_validation_names_the_parameter():
    from kdcore.chapters.heterogeneous import HeterogeneousConfig

    HeterogeneousConfig()
    for bad, name in [({"datasets": ["imagenet"]}, "datasets"), ({"runs": {"synthetic": 0}}, "runs"),
                      ({"hyper_method": "magic"}, "hyper_method"), ({"hyper_lr": -1.0}, "hyper_lr"),
                      ({"cross_methods": ["best"]}, "cross_methods"), ({"cross_beta": 0.0}, "cross_beta"),
                      ({"datasets": ["synthetic", "cifar10"]}, "runs"), ({"teacher": "vgg"}, "teacher")]:
        with pytest.raises(ValueError, match=name):
            HeterogeneousConfig(**bad)


def test_paper_profile_is_valid_and_covers_the_table():
    from kdcore.chapters.heterogeneous import DATASETS, METHODS, HeterogeneousConfig, jobs

    params = yaml.safe_load((ROOT / "notebooks" / "params" / "heterogeneous.yaml").read_text())
    assert HeterogeneousConfig(**params).profile == "paper"
    # The full profile: the file's values with the GPU-sized parts switched on, as its comment says.
    cfg = HeterogeneousConfig(**{**params, "datasets": list(DATASETS), "draft_sweep": True, "single_pair": True,
                                 "all_pairs": True})
    assert set(cfg.methods) == set(METHODS)
    assert cfg.runs["cifar10_reduced"] == 10 and cfg.epochs["cifar10_reduced"] == 50     # as the paper
    assert all(isinstance(x, float) for x in cfg.sweep_lambdas)
    todo = jobs(cfg)
    assert len(todo) == len(set(todo))
    assert sum(1 for j in todo if j[:3] == ("table", "cifar10_reduced", "hyperopt")) == 1


def test_cifar10_cpu_parameters_are_the_paper_profile_with_a_shorter_teacher():
    """The side file behind the full CIFAR-10 column: heterogeneous.yaml's values except what runs
    and the teacher's epochs, and its header's command (--set overrides) makes exactly it."""
    import dataclasses

    from kdcore.chapters.heterogeneous import HeterogeneousConfig
    from kdcore.chapters.heterogeneous.jobs import load_config
    from kdcore.run.profile import load_profile

    side_path = ROOT / "notebooks" / "params" / "heterogeneous_cifar10_cpu.yaml"
    paper = dataclasses.asdict(load_config("paper"))
    side = dataclasses.asdict(load_profile("heterogeneous", HeterogeneousConfig, "paper", params=side_path))
    assert {k for k in paper if paper[k] != side[k]} == {"datasets", "teacher_epochs", "draft_sweep", "single_pair",
                                                         "all_pairs"}
    assert side["datasets"] == ["cifar10"] and side["teacher_epochs"] < paper["teacher_epochs"]
    assert dataclasses.asdict(load_config("paper", header_overrides(side_path))) == side


def test_cifar10_long_parameters_are_the_paper_profile_at_the_papers_teacher_epochs():
    """The side file of the long column: heterogeneous.yaml's values except what runs and the
    column's runs and epochs; the paper's 15 teacher epochs, 100 student epochs, at least 5 runs;
    its header's command (--set overrides) makes exactly it; the runner lists it as its own part."""
    import dataclasses

    from kdcore.chapters.heterogeneous import HeterogeneousConfig, paper
    from kdcore.chapters.heterogeneous.graph import LONG_PARAMS, jobs
    from kdcore.chapters.heterogeneous.jobs import load_config
    from kdcore.run.profile import load_profile

    base = load_config("paper")
    long = load_profile("heterogeneous", HeterogeneousConfig, "paper", params=LONG_PARAMS)
    a, b = dataclasses.asdict(base), dataclasses.asdict(long)
    assert {k for k in a if a[k] != b[k]} == {"datasets", "runs", "epochs", "draft_sweep", "single_pair", "all_pairs"}
    assert long.datasets == ["cifar10"] and long.teacher_epochs == base.teacher_epochs == 15
    assert long.epochs["cifar10"] == paper.RUNS_EPOCHS_2022["cifar10"][1] and long.runs["cifar10"] >= 5
    assert {k: v for k, v in long.runs.items() if k != "cifar10"} == {k: v for k, v in base.runs.items() if k != "cifar10"}
    assert dataclasses.asdict(load_config("paper", header_overrides(LONG_PARAMS))) == b
    parts = [j for j in jobs(base) if j.part == "cifar10_long"]
    assert parts[0].key == "cifar10_long/teacher/cifar10" and all(j.needs == (parts[0].key,) for j in parts[1:])


def test_resumable_teacher_writes_the_record_the_column_teacher_reads(tmp_path, monkeypatch):
    """resumable_teacher trains through per-epoch checkpoints and writes the record (same key, same
    weights) that runners.teacher writes; after it, runners.teacher trains nothing."""
    from kdcore.chapters.heterogeneous import HeterogeneousConfig
    from kdcore.chapters.heterogeneous.resumable import resumable_teacher
    from kdcore.chapters.heterogeneous.runners import teacher
    from kdcore.results import RunStore

    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path))
    cfg = HeterogeneousConfig(n_rows={"cifar10_reduced": 160}, test_rows=32, teacher_epochs=2, device="cpu")
    plain, resumed = RunStore(tmp_path / "plain"), RunStore(tmp_path / "resumed")
    try:
        a = teacher(cfg, plain, "cifar10_reduced")
    except Exception as err:  # CIFAR-10 is not on every machine
        if "CIFAR-10 not found" in str(err):
            pytest.skip("CIFAR-10 is not available")
        raise
    b = resumable_teacher(cfg, resumed, "cifar10_reduced")
    assert a.record["key"] == b.record["key"] and a.record["metrics"] == b.record["metrics"]
    for (k, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(x, y), k
    assert not list((tmp_path / "resumed" / "heterogeneous" / "teachers").glob("*.pt"))   # no copy left beside the record
    again = teacher(cfg, resumed, "cifar10_reduced")
    assert again.record["created"] == b.record["created"]                   # read, not retrained


def test_synthetic_data_is_the_authors_and_splits_are_disjoint():
    from kdcore.chapters.heterogeneous import xor_synthetic
    from kdcore.chapters.heterogeneous.data import _nine_to_one
    from kdcore.data import Split

    s = xor_synthetic()
    assert [len(s[k]) for k in ("teacher_train", "train", "val", "test")] == [200, 15, 15, 200]
    x = s["train"].x
    torch.testing.assert_close(x[:, 2], torch.sign(x[:, 0] * x[:, 1]))  # the authors' final run: sign(x1 x2)
    torch.testing.assert_close(xor_synthetic(feature="product")["train"].x[:, 2], x[:, 0] * x[:, 1])
    tx = s["train"].extras["teacher_x"]
    assert set(tx[:, 2].tolist()) <= {0.0, 1.0}                          # the teacher sees the indicator
    torch.testing.assert_close(xor_synthetic(feature="indicator")["train"].x, tx)
    with pytest.raises(ValueError, match="feature"):
        xor_synthetic(feature="cube")
    big = Split(torch.arange(12800).float(), torch.zeros(12800, dtype=torch.long))
    tr, va = _nine_to_one(big, 12800)
    assert (len(tr), len(va)) == (11520, 1280) and va.x[0].item() == 11520.0


def test_synthetic_columns_faithful_mixes_features_and_validates_on_test():
    """The authors' run behind the paper gave the naive and random rows the teacher's
    indicator feature and read the test rows at the upper level; the corrected column does
    neither."""
    from kdcore.chapters.heterogeneous import HeterogeneousConfig
    from kdcore.chapters.heterogeneous.runners import data

    cfg = HeterogeneousConfig(datasets=["synthetic", "synthetic_corrected"],
                              runs={"synthetic": 1, "synthetic_corrected": 1},
                              epochs={"synthetic": 10, "synthetic_corrected": 10})
    faithful_naive, faithful_none = data(cfg, "synthetic", "naive"), data(cfg, "synthetic", "none")
    assert set(faithful_naive.train.x[:, 2].tolist()) <= {0.0, 1.0}
    assert set(faithful_none.train.x[:, 2].tolist()) <= {-1.0, 1.0}
    assert faithful_none.val is faithful_none.test
    corrected = [data(cfg, "synthetic_corrected", m) for m in ("none", "naive", "gradient")]
    assert all(torch.equal(c.train.x, corrected[0].train.x) for c in corrected)
    assert len(corrected[0].val) == 15 and not torch.equal(corrected[0].val.x[:5], corrected[0].test.x[:5])


def test_random_starts_pair_runs_and_stay_in_range():
    from kdcore.chapters.heterogeneous import random_start

    starts = [random_start(r) for r in range(50)]
    assert starts[3] == random_start(3) and len(set(starts)) == 50
    assert all(0 < lam < 1 and 0.1 < t < 10 for lam, t in starts)


def test_every_job_kind_runs_and_resumes(tmp_path, monkeypatch):
    """A tiny profile: the synthetic table, one sweep point, the single pair, one all-pairs run."""
    from kdcore.chapters.heterogeneous import HeterogeneousConfig, jobs, run_job
    from kdcore.results import RunStore

    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path))
    cfg = HeterogeneousConfig(runs={"synthetic": 1}, epochs={"synthetic": 30}, methods=["naive", "gradient", "hyperopt"],
                              sweep_lambdas=[0.5], cross_methods=["tuned"], n_rows={"cifar10_reduced": 320},
                              test_rows=64, device="cpu")
    store = RunStore(tmp_path)
    try:
        todo = jobs(cfg)
        for job in todo:
            run_job(cfg, store, job)
    except Exception as err:  # CIFAR-10 is not on every machine
        if "CIFAR-10 not found" in str(err):
            pytest.skip("CIFAR-10 is not available")
        raise
    recs = store.records("heterogeneous")
    assert {r["setting"] for r in recs} >= {"synthetic: gradient", "synthetic: hyperopt",
                                            "all pairs ConvTiny -> ConvVeryTiny: tuned",
                                            "single pair bi-level, ConvTiny -> ConvVeryTiny (mu student->teacher)",
                                            "single pair bi-level, ConvTiny -> ConvVeryTiny (mu teacher->student)"}
    tuned = next(r for r in recs if r["setting"].endswith("tuned"))
    lam = torch.tensor(tuned["extra"]["trajectory"][-1]["lambda"])
    assert lam.shape == (4, 4) and abs(lam.sum().item() - 1) < 1e-5
    before = {r["key"]: r["created"] for r in recs}
    for job in todo:                                                    # resumable: nothing is redone
        run_job(cfg, store, job)
    assert {r["key"]: r["created"] for r in store.records("heterogeneous")} == before


def test_the_runner_validates_before_work(tmp_path, monkeypatch):
    """``python -m kdcore run heterogeneous --set ...``: a bad name or value stops it before any run."""
    from kdcore.__main__ import main

    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match="bogus"):
        main(["run", "heterogeneous", "--profile", "smoke", "--set", "bogus=1"])
    with pytest.raises(ValueError, match="cross_beta"):
        main(["run", "heterogeneous", "--profile", "smoke", "--set", "cross_beta=2.0"])
    assert not list(tmp_path.rglob("*.json"))                           # nothing ran


def test_hyperopt_replays_stored_trials_without_the_sampler(tmp_path, monkeypatch):
    """Reading an Optuna search back must not depend on TPE suggesting the same values again."""
    import optuna

    from kdcore.chapters.heterogeneous import HeterogeneousConfig, hyperopt_runs
    from kdcore.results import RunStore

    cfg = HeterogeneousConfig(datasets=["synthetic_corrected"], runs={"synthetic_corrected": 1},
                              epochs={"synthetic_corrected": 20}, hyperopt_startup=1)
    store = RunStore(tmp_path)
    first = hyperopt_runs(cfg, store, "synthetic_corrected")
    real = optuna.samplers.TPESampler

    class Shifted(real):                     # a sampler that would suggest other values
        def __init__(self, seed=None, **kw):
            super().__init__(seed=(seed or 0) + 7, **kw)

    monkeypatch.setattr(optuna.samplers, "TPESampler", Shifted)
    again = hyperopt_runs(cfg, store, "synthetic_corrected")
    assert [r["key"] for r in again] == [r["key"] for r in first]
    assert len(store.records("heterogeneous")) == 5 + 1 + 1             # 5 trials, the run, the teacher


def test_faithful_synthetic_hyperopt_is_one_search_per_run(tmp_path):
    """As the authors' synthetic run: each run searches PER_RUN_SEARCH trials on the test rows
    and is its best trial."""
    from kdcore.chapters.heterogeneous import HeterogeneousConfig, hyperopt_runs
    from kdcore.chapters.heterogeneous.table import PER_RUN_SEARCH
    from kdcore.results import RunStore

    cfg = HeterogeneousConfig(runs={"synthetic": 2}, epochs={"synthetic": 20}, hyperopt_startup=1)
    store = RunStore(tmp_path)
    runs = hyperopt_runs(cfg, store, "synthetic")
    k = PER_RUN_SEARCH["synthetic"]
    trials = [r for r in store.records("heterogeneous") if r["setting"] == "synthetic: hyperopt trial"]
    assert len(runs) == 2 and len(trials) == 2 * k
    for run in runs:
        mine = [t for t in trials if t["seed"] // 100 == run["seed"]]
        assert run["metrics"]["val_accuracy"] == max(t["metrics"]["val_accuracy"] for t in mine)
        assert run["params"]["validation"] == "test" and run["params"]["feature"] == "sign"
