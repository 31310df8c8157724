"""Hand the 2012-regime teacher of :mod:`.hinton_teacher` to chapter 1, as a stored model.

Chapter 1 reads its 2012-regime teacher (:func:`kdcore.chapters.kd_overview.runners.hinton2012_teacher`)
and never trains it: a run of thousands of epochs belongs to the study, which is resumable.
Once the study's run (``eps0 = HINTON2012_EPS0``) stands at epoch ``HINTON2012_EPOCH``, this
command loads that checkpoint's weights into the chapter's model, lets the chapter measure
its test errors and store its record with the weights (safetensors, sha256 in the record),
and checks those errors against the study's own milestone record at the same epoch: two
independent evaluations of one set of weights must agree.

``python -m kdcore.studies.hinton_teacher_export``
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import torch

from ..chapters.kd_overview.config import KDOverviewConfig
from ..chapters.kd_overview.runners import HINTON2012_EPOCH, HINTON2012_EPS0, hinton2012_teacher, load_data
from ..models import MLP
from ..results import RunStore
from ..run.profile import load_profile
from .hinton_teacher import STUDY, StudyConfig, _folder, _load

__all__ = ["export"]


def export(store: RunStore | None = None) -> dict:
    """Write chapter 1's 2012-regime teacher from the study's checkpoint; returns its record."""
    study_cfg = replace(StudyConfig.paper(), eps0=HINTON2012_EPS0)
    store = store or RunStore(profile="paper")
    folder = _folder(store.root, study_cfg)
    model = MLP([784, *study_cfg.hidden, 10], dropout=study_cfg.dropout, input_dropout=study_cfg.input_dropout)
    state = _load(folder, study_cfg, model, [torch.zeros_like(w) for w in model.parameters()])
    if state is None or state["epoch"] != HINTON2012_EPOCH:
        at = "no checkpoint" if state is None else f"the checkpoint is at epoch {state['epoch']}"
        raise SystemExit(f"{folder}: {at}, not {HINTON2012_EPOCH}: run python -m kdcore.studies.hinton_teacher "
                         f"--profile paper --set eps0={HINTON2012_EPS0} --until {HINTON2012_EPOCH} first")
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    curve = {k: [c[k] for c in state["curve"]] for k in state["curve"][0]}

    def load_state(target: torch.nn.Module) -> dict:
        target.load_state_dict(weights)
        return curve

    cfg = load_profile("kd_overview", KDOverviewConfig, "paper")
    record = hinton2012_teacher(cfg, load_data(cfg), store, load_state).record
    milestone = [r for r in store.records(STUDY) if r["params"].get("at_epoch") == HINTON2012_EPOCH
                 and r["params"].get("eps0") == HINTON2012_EPS0 and r["profile"] == "paper"]
    ours = record["metrics"]["test_errors"]
    theirs = {r["metrics"]["test_errors"] for r in milestone}
    if theirs and theirs != {ours}:
        raise SystemExit(f"the chapter counts {ours} test errors, the study's milestone record {sorted(theirs)}: "
                         f"the two evaluations of one set of weights disagree")
    print(f"{record['setting']}: {ours} test errors (the study's milestone: {sorted(theirs) or 'none'}), "
          f"weights {record['weights']['file']} sha256 {record['weights']['sha256'][:12]}")
    return record


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    export()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
