"""Deep-nets chapter: config, the authors' Hinton loss, stored teachers reused, batch-statistics
teacher outputs, the λ search resumes from its records, the script's profiles."""

import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from kdcore.chapters import deep_nets as ch
from kdcore.chapters.deep_nets import runners, search
from kdcore.run.profile import load_profile
from kdcore.losses import HintonKD, authors_lambda, kd_loss_oleinik2023
from kdcore.results import RunStore

ROOT = Path(__file__).resolve().parents[2]



def load_config(profile: str, params=None):
    """The chapter's config at a profile (optionally from another parameters file)."""
    return load_profile("deep_nets", ch.DeepNetsConfig, profile, params)

def _need_cifar():
    from kdcore.data import data_root

    if not (data_root() / "cifar10" / "convnetjs_png" / "labels.txt").exists():
        pytest.skip("CIFAR-10 is not under KDCORE_DATA")  # CI copies shared/data there


@pytest.mark.parametrize("bad, name", [({"val_size": 128}, "val_size"), ({"modes": ["buggy"]}, "modes"),
                                       ({"a2a_beta_range": [0.9, 0.1]}, "a2a_beta_range"),
                                       ({"hinton_variants": ["kl"]}, "hinton_variants"),
                                       ({"resnet_widths": [8, 16]}, "resnet_widths"), ({"profile": "fast"}, "profile"),
                                       ({"tables": ["table3"]}, "tables"), ({"shuffle": 1}, "shuffle")])
def test_config_rejects_bad_parameters(bad, name):
    with pytest.raises(ValueError, match=name):
        ch.DeepNetsConfig(**bad)


def test_notebook_parameters_are_the_smoke_defaults_and_the_yaml_is_valid():
    import jupytext

    nb = jupytext.read(ROOT / "notebooks" / "deep_nets.py")
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    ns: dict = {}
    exec(cell.source, ns)
    assert ch.DeepNetsConfig.from_namespace(ns) == ch.DeepNetsConfig() == load_config("smoke")
    paper = load_config("paper")
    assert paper.n_train == 10112 and paper.n_train - paper.val_size == 70 * paper.batch_size
    assert yaml.safe_load((ROOT / "notebooks/params/deep_nets.yaml").read_text())["profile"] == "paper"


def test_table2_cpu_parameters_are_the_paper_profile_restricted_to_table2_faithful():
    """The side file that ran Table 2's CPU part must make the records the paper profile would:
    every value that can enter a record equals deep_nets.yaml; only what runs differs."""
    import dataclasses

    paper = dataclasses.asdict(load_config("paper"))
    side = dataclasses.asdict(load_config("paper", ROOT / "notebooks/params/deep_nets_table2_cpu.yaml"))
    differ = {k for k in paper if paper[k] != side[k]}
    assert differ <= {"tables", "modes", "hinton_sweep", "cost"}
    assert side["tables"] == ["table2"] and side["modes"] == ["faithful"]


def test_authors_hinton_loss_swaps_kl_has_no_t2_and_diverges_at_low_temperature():
    z, v, y = torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([[0.0, 3.0, 1.0]]), torch.tensor([1])
    t, beta = 2.0, 0.3
    p, q = torch.softmax(z / t, -1), torch.softmax(v / t, -1)
    swapped = (p * (p.log() - q.log())).sum()                # KL(student || teacher), no T^2
    out = kd_loss_oleinik2023(z, v, y, t, beta)
    assert out["soft"].item() == pytest.approx(beta * swapped.item(), rel=1e-5)
    assert out["hard"].item() == pytest.approx((1 - beta) * F.cross_entropy(z, y).item(), rel=1e-6)
    # a saturated student at T = 0.1: the authors' loss has a NaN gradient, Hinton's does not
    z = torch.tensor([[30.0, -30.0, 0.0]], requires_grad=True)
    sum(kd_loss_oleinik2023(z, v, y, 0.1, 0.5).values()).backward()
    assert not torch.isfinite(z.grad).all()
    z.grad = None
    obj = HintonKD(0.1, 0.5)
    sum(obj(lambda x: z, {"x": None, "y": y, "teacher_logits": v}).values()).backward()
    assert torch.isfinite(z.grad).all()


def test_hinton_draws_follow_the_authors_distributions():
    draws = ch.hinton_draws(200, 0)
    assert draws == ch.hinton_draws(200, 0) and len(draws) == 200
    assert all(0 <= b <= 1 and 0.1 <= t <= 10 for b, t in draws)
    assert 0.4 < sum(math.log10(t) > 0 for _, t in draws) / 200 < 0.6


def test_a2a_lambda_vector_follows_the_pair_order():
    class Trial:
        def suggest_float(self, name, lo, hi, log=False):
            return 0.5 if name == "beta" else (int(name[2:]) + 1) / 40

    lab = runners.Lab(ch.DeepNetsConfig())
    t_layers, s_layers = search.layer_sets("table2", "all-to-all")
    beta, lam, u = search._suggest(Trial(), lab, "all-to-all", "corrected", t_layers, s_layers)
    pairs = search._pairs("all-to-all", t_layers, s_layers)          # teacher outer, student inner
    mat = authors_lambda(u, 9, 4, faithful=False)
    for p, (t, s) in enumerate(pairs):
        assert lam[p] == pytest.approx(mat[s_layers.index(s), t_layers.index(t)].item())
    assert sum(lam) == pytest.approx(1.0, rel=1e-5) and beta == 0.5


@pytest.fixture()
def tiny_lab(tmp_path):
    _need_cifar()
    cfg = ch.DeepNetsConfig(n_train=64, val_size=32, batch_size=32, test_rows=40, resnet_widths=[2, 4, 8, 16],
                            tables=["table1"], pairwise_trials=2, rerun_seeds=[0])
    return runners.Lab(cfg, RunStore(tmp_path))


def test_stored_teacher_is_reused_by_a_new_lab(tiny_lab, monkeypatch):
    rec = tiny_lab.teacher("conv_tiny")
    assert tiny_lab.models.has(tiny_lab.teacher_config("conv_tiny"), f"{ch.CHAPTER}-conv_tiny")
    fresh = runners.Lab(tiny_lab.cfg, tiny_lab.store)

    def no_training(*a, **k):
        raise AssertionError("a stored teacher was trained again")
    monkeypatch.setattr(runners, "fit", no_training)
    model = fresh.teacher_model("conv_tiny")
    for k, v in tiny_lab.teacher_model("conv_tiny").state_dict().items():
        assert torch.equal(v, model.state_dict()[k])
    assert fresh.teacher("conv_tiny")["key"] == rec["key"]


def test_batch_statistics_outputs_are_the_train_mode_forward_per_batch(tiny_lab):
    split, teacher = tiny_lab.teacher_outputs("conv_tiny", "full", ["conv2", "fc1"], "batch")
    assert teacher is None
    model = tiny_lab.teacher_model("conv_tiny")
    assert not model.training
    m = copy.deepcopy(model).train()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        f = m.features(split.prepare(split.x[32:64]))
    torch.testing.assert_close(split.extras["teacher/fc1"][32:64], f["fc1"].to(torch.bfloat16))
    evals, _ = tiny_lab.teacher_outputs("conv_tiny", "full", ["fc1"], "eval")
    assert not torch.allclose(evals.extras["teacher/fc1"].float(), split.extras["teacher/fc1"].float())


def test_search_resumes_from_its_trial_records(tiny_lab, monkeypatch):
    calls = []
    real_fit = ch.experiments.fit

    def counting_fit(*a, **k):
        calls.append(k.get("desc"))
        return real_fit(*a, **k)
    monkeypatch.setattr(ch.experiments, "fit", counting_fit)
    first = ch.run_search(tiny_lab, "table1", "pairwise", "corrected")
    n_first = len(calls)
    assert n_first >= 3 and first[0]["metrics"]["trials"] == 2
    bigger = runners.Lab(ch.DeepNetsConfig(**{**tiny_lab.cfg.asdict(), "pairwise_trials": 3}), tiny_lab.store)
    second = ch.run_search(bigger, "table1", "pairwise", "corrected")
    trial_calls = [c for c in calls[n_first:] if ": trial" in c]
    assert trial_calls == ["T1 pairwise (corrected): trial seed 2"]            # trials 0-1 replayed from records
    assert [t["lam"] for t in second[0]["extra"]["trials"][:2]] == [t["lam"] for t in first[0]["extra"]["trials"]]
    calls.clear()
    ch.run_search(bigger, "table1", "pairwise", "corrected")
    assert calls == []                                                           # everything read back


def test_random_trials_trained_apart_are_the_ones_the_search_asks_for(tiny_lab, monkeypatch):
    cfg = ch.DeepNetsConfig(**{**tiny_lab.cfg.asdict(), "a2a_trials": 3})
    lab = runners.Lab(cfg, tiny_lab.store)
    s = search.Search(lab, "table1", "all-to-all", "corrected")
    assert s.n_random == 3 and search.Search(lab, "table1", "pairwise", "faithful").n_random == 2
    apart = [s.random_trial(k) for k in (2, 0, 1)]          # any order, as parallel workers would
    calls = []
    real_fit = ch.experiments.fit
    monkeypatch.setattr(ch.experiments, "fit", lambda *a, **k: calls.append(k.get("desc")) or real_fit(*a, **k))
    summary = s.summary()
    assert calls == [] and {t["key"] for t in summary["extra"]["trials"]} == {r["key"] for r in apart}
    with pytest.raises(ValueError, match="depends on earlier"):
        search.Search(runners.Lab(ch.DeepNetsConfig(a2a_trials=12)), "table1", "all-to-all", "faithful").random_trial(10)


def test_the_graphs_plan_orders_work_by_what_it_needs():
    from kdcore.chapters.deep_nets.graph import plan

    paper = load_config("paper")      # every part switched on (the profile may switch some off)
    cfg = ch.DeepNetsConfig(**{**paper.asdict(), "tables": ["table1", "table2"], "cost": True})
    todo = plan(cfg)
    tasks = [t for t, _ in todo]
    assert len(tasks) == len(set(tasks))
    position = {t: i for i, t in enumerate(tasks)}
    for task, needs in todo:
        assert all(position[n] < position[task] for n in needs), task
    t2 = ("search", "table2", "all-to-all", "corrected")
    assert dict(todo)[t2] == [("trial", *t2[1:], str(k)) for k in range(10)]
    assert dict(todo)[("rerun", *t2[1:], "0")] == [t2]
    assert tasks[0] == ("trial", *t2[1:], "0")                     # the slowest chain starts first
    assert sum(t[0] == "sweep" for t in tasks) == 2 * 2 * cfg.hinton_runs
    # --only keeps whole dependency chains: every task of a part needs only tasks of that part
    from kdcore.chapters.deep_nets.graph import group

    for task, needs in todo:
        assert all(group(n) == group(task) for n in needs), task
    assert {group(t) for t in tasks} == {"hinton", "table1", "table2", "cost"}


def test_with_every_record_present_nothing_is_trained_or_loaded(tiny_lab):
    from kdcore.chapters.deep_nets.graph import jobs
    from kdcore.run import order
    from kdcore.run.backends import run_local

    cfg = ch.DeepNetsConfig(**{**tiny_lab.cfg.asdict(), "hinton_runs": 1, "a2a_trials": 1, "pairwise_trials": 1,
                               "cost_rows": 8, "hinton_variants": ["oleinik2023"]})
    root = str(tiny_lab.store.root)
    assert run_local(order(jobs(cfg)), cfg, root).ok                # what `python -m kdcore run` does
    n_records = len(tiny_lab.store.records(ch.CHAPTER))
    reader = runners.Lab(cfg, RunStore(root))          # a fresh process: the notebook re-executed
    ch.hinton_sweep(reader)
    ch.table_baselines(reader, "table1")
    ch.searches(reader)
    ch.feature_cost(reader, cfg.cost_rows)
    assert reader._teachers == {} and reader._data is None
    assert len(tiny_lab.store.records(ch.CHAPTER)) == n_records


def test_batch_stats_accuracy_mixes_classes_in_each_batch():
    """A class-sorted test set (the JPEG copy's layout) batched in stored order would give
    BatchNorm one class per batch; the shuffled batches the authors' loader made do not."""
    from kdcore.data import Split

    class OneFeature(torch.nn.Module):                # BatchNorm on x = label, logits (-z, z)
        def __init__(self):
            super().__init__()
            self.bn = torch.nn.BatchNorm1d(1)             # weight 1, bias 0 at init

        def forward(self, x):
            z = self.bn(x.view(len(x), 1))
            return torch.cat([-z, z], 1)

    y = torch.arange(2).repeat_interleave(128)       # 128 zeros, then 128 ones
    split = Split(y.float().view(-1, 1), y)
    # in stored order each batch has zero variance, z = 0 and every prediction is class 0: 0.5
    assert runners.batch_stats_accuracy(OneFeature(), split, batch_size=128) == 1.0


def test_every_claim_names_settings_that_the_runners_write():
    """A claim whose setting is misspelt would only ever say "no runs": check the names
    against the ones table_baselines and the searches give their records."""
    from kdcore.chapters.deep_nets.experiments import TABLES, VARIANT_LABEL
    from kdcore.chapters.deep_nets.runners import NAMES

    written = set()
    for table, (teacher, student, tag) in TABLES.items():
        written.add(f"{tag} {NAMES[student]} alone")
        written |= {f"{tag} {NAMES[student]} Hinton ← {NAMES[teacher]} ({label})" for label in VARIANT_LABEL.values()}
        written |= {f"{search.search_name(table, m, mode)}, chosen on val" for t, m in search.SEARCHES if t == table
                    for mode in runners.MODES}
    claims = ch.paper.claims()
    assert claims and all(c.setting in written and c.baseline in written for c in claims)
    # a VID row is measured against the Hinton row of its own code
    for c in claims:
        if "VID (corrected) beats Hinton" in c.text:
            assert c.baseline.endswith("(corrected loss)")
        if "VID (faithful) beats Hinton" in c.text:
            assert c.baseline.endswith("(authors' loss)")


def test_sampled_search_runs_the_corrected_search_with_the_pooled_sampled_objective(tmp_path):
    from kdcore.chapters.deep_nets.graph import SAMPLED_PART, jobs
    from kdcore.chapters.deep_nets.sampled import SampledSearch, run_sampled_search, vid_sampled
    from kdcore.losses.cross_layer_sampled import SampledCrossLayerVID
    from kdcore.results import RunStore

    cfg = runners.DeepNetsConfig(a2a_trials_resnet10_corrected=2, epochs=1)
    lab = runners.Lab(cfg, RunStore(tmp_path, profile="smoke"))
    s = SampledSearch(lab)
    assert s.n == 2 and len(s.pairs) == 36 and "k = 4 of 36 sampled" in s.name
    out = run_sampled_search(lab)
    summary, reruns = out[0], out[1:]
    assert summary["metrics"]["trials"] == 2 and len(reruns) == 2 * len(cfg.rerun_seeds)
    trial = next(r for r in RunStore(tmp_path).records("deep_nets") if r["setting"].endswith("sampled): trial"))
    assert trial["params"]["objective"] == "pooled, sampled" and trial["params"]["k"] == 4
    assert trial["params"]["train_rows"] == cfg.n_train - cfg.val_size       # trials on the carved rows
    method = vid_sampled(lab, "resnet10", "conv_tiny", s.pairs, [1 / 36] * 36, 0.5, 4, seed=0)
    assert isinstance(method.objective(None), SampledCrossLayerVID)
    # the runner lists the part whenever Table 2 is configured, and only then
    assert {j.part for j in jobs(cfg)} >= {SAMPLED_PART}
    assert SAMPLED_PART not in {j.part for j in jobs(runners.DeepNetsConfig(tables=["table1"]))}
