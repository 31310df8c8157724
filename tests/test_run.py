"""The runner (kdcore.run): graph checks, the config as papermill builds it, and the two
backends giving the same records (Ray on a two-node local cluster), a killed worker rerun."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kdcore.run import GraphError, Job, order, select
from kdcore.run.backends import run_local
from kdcore.run.chapters import chapter_jobs, chapter_names, load_config, notebook_parameters
from kdcore.run.selftest import SelfTestConfig, die_once, write_value


def _job(key, needs=(), cost=1.0, part="p"):
    return Job(key, write_value, (key, 1.0), needs=tuple(needs), cost=cost, part=part)


def test_order_puts_needs_first_and_costly_ready_jobs_first():
    jobs = [_job("a"), _job("b", cost=5), _job("c", ["a", "b"]), _job("d", ["c"], cost=9)]
    keys = [j.key for j in order(jobs)]
    assert keys == ["b", "a", "c", "d"]


@pytest.mark.parametrize("jobs, message", [
    ([_job("a"), _job("a")], "two jobs have the key 'a'"),
    ([_job("a", ["zz"])], "needs ['zz']"),
    ([_job("a", ["b"]), _job("b", ["a"])], "cycle"),
])
def test_order_refuses_a_broken_graph_by_name(jobs, message):
    with pytest.raises(GraphError, match=message.replace("[", r"\[").replace("]", r"\]")):
        order(jobs)


def test_select_keeps_what_a_part_needs():
    jobs = [_job("t", part="teachers"), _job("s", ["t"], part="students"), _job("o", part="other")]
    assert [j.key for j in select(jobs, ["students"])] == ["t", "s"]
    with pytest.raises(GraphError, match="unknown part"):
        select(jobs, ["nope"])


def test_select_by_key_pattern_keeps_what_the_chosen_jobs_need():
    jobs = [_job("t", part="teachers"), _job("table/none/0", ["t"], part="students"),
            _job("table/none/1", ["t"], part="students"), _job("table/gradient/0", ["t"], part="students")]
    assert [j.key for j in select(jobs, None, ["table/none/*"])] == ["t", "table/none/0", "table/none/1"]
    assert [j.key for j in select(jobs, ["students"], ["*/gradient/*", "table/none/1"])] == \
        ["t", "table/none/1", "table/gradient/0"]
    with pytest.raises(GraphError, match=r"\['table/nope/\*'\] match no job of the parts \['students'\]"):
        select(jobs, ["students"], ["table/nope/*"])


def test_run_lists_the_selected_jobs_without_running_them(capsys):
    from kdcore.__main__ import main

    assert main(["run", "heterogeneous", "--profile", "paper", "--only", "cifar10_long",
                 "--keys", "cifar10_long/table/cifar10/none/*", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "heterogeneous: cifar10_long/teacher/cifar10  (part cifar10_long, cost 100)"
    assert len(lines) == 6 and all("/table/cifar10/none/" in x for x in lines[1:])
    with pytest.raises(SystemExit):
        main(["run", "all", "--keys", "x", "--list"])


def test_a_job_must_be_picklable_by_name():
    with pytest.raises(GraphError, match="module-level"):
        Job("x", lambda cfg, store: None)
    with pytest.raises(GraphError, match="threads"):
        Job("x", write_value, threads=0)


def test_configs_are_the_notebooks_parameters_then_the_yaml():
    """smoke = the parameters cell (as papermill runs it), not the config class's defaults."""
    cfg = load_config("anti_distillation", "smoke")
    assert cfg.fc_seeds == notebook_parameters("anti_distillation")["fc_seeds"] == 2
    assert load_config("anti_distillation", "paper").fc_seeds == 10
    with pytest.raises(ValueError, match="unknown parameters"):
        load_config("kd_overview", "smoke", {"tempreature": 3})


@pytest.mark.parametrize("chapter", chapter_names())
def test_every_chapter_has_a_valid_graph_at_both_profiles(chapter):
    for profile in ("smoke", "paper"):
        jobs = chapter_jobs(chapter, load_config(chapter, profile))
        assert jobs and len({j.key for j in jobs}) == len(jobs)


VOLATILE = ("created", "seconds", "device", "git_commit")   # when, how long, where, from which checkout


def _timeless(history):
    """A history without its wall-clock timings (``epoch_seconds``)."""
    if not isinstance(history, dict):
        return history
    return {k: v for k, v in history.items() if not k.endswith("seconds")}


def _records(root: Path) -> dict[str, object]:
    out = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(root).as_posix()
        if p.suffix == ".json":
            rec = json.loads(p.read_text())
            out[rel] = {k: (_timeless(v) if k == "history" else v) for k, v in rec.items() if k not in VOLATILE}
        else:
            out[rel] = p.read_bytes()
    return out


@pytest.fixture(scope="module")
def cluster():
    """Two Ray nodes of one CPU each on this machine."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


def test_local_and_ray_write_identical_records(cluster, tmp_path, monkeypatch):
    """heterogeneous, smoke profile, the synthetic column's teacher and three of its runs (one
    needs the teacher's weights, shipped to its worker): bit for bit the same records (all
    but when/where/how long) from both backends."""
    from kdcore.run.backends import run_ray

    monkeypatch.setenv("KDCORE_OFFLINE", "1")
    cfg = load_config("heterogeneous", "smoke")
    keep = {"teacher/synthetic", "table/synthetic/none/0", "table/synthetic/proposed/0", "table/synthetic/random/1"}
    # One thread each: the same arithmetic on both sides, and no oversubscribed 1-CPU Ray node.
    jobs = [dataclasses.replace(j, threads=1) for j in chapter_jobs("heterogeneous", cfg) if j.key in keep]
    assert len(jobs) == 4 and jobs[0].key == "teacher/synthetic"
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert run_local(jobs, cfg, local).ok
    out = run_ray(jobs, cfg, remote, "heterogeneous")
    assert out.ok, out.failed
    a, b = _records(local), _records(remote)
    assert a.keys() == b.keys() and len(a) >= len(jobs)
    differ = [k for k in a if a[k] != b[k]]     # names only: a diff of megabytes of records is unreadable
    assert not differ, differ[:5]


def test_a_killed_ray_worker_loses_only_its_job(cluster, tmp_path):
    from kdcore.run.backends import run_ray

    marker = tmp_path / "died"
    jobs = order([Job("dies", die_once, (str(marker), "dies")), _job("a"), _job("b", ["dies"])])
    out = run_ray(jobs, SelfTestConfig(), tmp_path / "results", "selftest")
    assert marker.exists(), "the worker was never killed: the test tests nothing"
    assert out.ok and set(out.done) == {"dies", "a", "b"}
    names = sorted(json.loads(p.read_text())["setting"] for p in (tmp_path / "results").rglob("*.json"))
    assert names == ["a", "b", "dies"]


def test_local_backend_skips_what_needs_a_failed_job(tmp_path):
    jobs = order([Job("bad", write_value, ("bad", "not a number")), _job("after", ["bad"]), _job("free")])
    out = run_local(jobs, SelfTestConfig(), tmp_path)
    assert set(out.failed) == {"bad"} and out.skipped == ["after"] and "free" in out.done


def test_read_only_store_refuses_to_compute(tmp_path, monkeypatch):
    from kdcore.results import RunStore
    from kdcore.results.records import ReadOnlyError

    store = RunStore(tmp_path, profile="smoke")
    write_value(SelfTestConfig(), store, "kept", 1.0)
    monkeypatch.setenv("KDCORE_READ_ONLY", "1")
    write_value(SelfTestConfig(), store, "kept", 1.0)            # reading is fine
    with pytest.raises(ReadOnlyError, match="selftest: new seed 0 has no current record"):
        write_value(SelfTestConfig(), store, "new", 1.0)


def test_a_process_pool_refuses_jobs_whose_needs_are_missing(tmp_path):
    """Handed a list without a needed job, the pool says so instead of waiting forever."""
    with pytest.raises(GraphError, match="not in the list"):
        run_local([_job("orphan", ["absent"])], SelfTestConfig(), tmp_path, workers=2)
