"""The λ searches of Tables 1-2 (Optuna), and the retraining of the chosen trials.

As the authors (PAPERS.md §5): *pairwise* draws ``u_i ~ U(0, 1)`` with Optuna's
RandomSampler (15 trials), ``λ_i = -log u_i / Σ_j -log u_j``, β = 0.1; *all-to-all* draws
β log-uniform in [0.1, 0.9] and ``S·T`` uniforms with Optuna's TPE (20 trials) and turns
them into ``λ_ij`` with :func:`kdcore.losses.authors_lambda` (their index bug in faithful
mode). The authors chose the trial with the best *test* accuracy.

Ours, one search per (table, method, mode): every trial trains on the first
``n_train - val_size`` rows (its teacher too) and is measured at its last epoch on the
held-out ``val_size`` rows and on the test sets. The sampler is told the *validation*
accuracy, so no test information steers the search. From the same trials we report
(i) the trial with the best test accuracy (the authors' selection rule, optimistic by
construction) and (ii) the trial with the best validation accuracy (a clean choice).
Each chosen (λ, β) is then retrained from new seeds on all ``n_train`` rows, with the
teacher trained on all of them: those reruns are the numbers the verdicts use.

A search's summary is a run record holding every trial's (λ, β) and metrics; with it
present nothing is searched again (Optuna is not even imported), and an interrupted
search replays its finished trials from their records (the samplers are seeded).
"""

from __future__ import annotations

import torch

from ...losses import all_to_all_pairs, authors_lambda, neg_log_weights, pairwise_pairs
from .experiments import TABLES, student_run, vid
from .runners import CHAPTER, CONV_LAYERS, RESNET10_LAYERS, Lab

__all__ = ["SEARCHES", "Search", "search_name", "layer_sets", "run_search", "searches"]

SEARCHES = [("table1", "pairwise"), ("table1", "all-to-all"), ("table2", "all-to-all")]


def search_name(table: str, method: str, mode: str) -> str:
    return f"{TABLES[table][2]} {method} ({mode})"


def layer_sets(table: str, method: str) -> tuple[list[str], list[str]]:
    """(teacher layers, student layers) of a search. Pairwise: the three conv blocks of
    both nets (the authors' feature indices 0-2); all-to-all: 4 student layers (conv1-3,
    fc1) against the teacher's 4 (ConvTiny) or 9 (ResNet10: stem, each block's first conv
    and output; the logits unused)."""
    if method == "pairwise":
        return CONV_LAYERS[:3], CONV_LAYERS[:3]
    return (CONV_LAYERS if table == "table1" else RESNET10_LAYERS), CONV_LAYERS


def n_trials(lab: Lab, table: str, method: str, mode: str) -> int:
    c = lab.cfg
    if method == "pairwise":
        return c.pairwise_trials
    return c.a2a_trials_resnet10_corrected if (table, mode) == ("table2", "corrected") else c.a2a_trials


def _suggest(trial, lab: Lab, method: str, mode: str, t_layers: list[str], s_layers: list[str]):
    """(β, λ over the pairs, raw draws) of one Optuna trial, the authors' parametrisation."""
    if method == "pairwise":
        u = [trial.suggest_float(f"x_{i}", 0.0, 1.0) for i in range(len(s_layers))]
        return lab.cfg.pairwise_beta, neg_log_weights(torch.tensor(u)).tolist(), u
    lo, hi = lab.cfg.a2a_beta_range
    beta = trial.suggest_float("beta", lo, hi, log=True)
    u = [trial.suggest_float(f"x_{k}", 0.0, 1.0) for k in range(len(s_layers) * len(t_layers))]
    lam = authors_lambda(u, len(t_layers), len(s_layers), faithful=mode == "faithful")   # (S, T)
    # pairs run teacher-outer, student-inner (all_to_all_pairs): vector index j*S + i
    return beta, lam.t().flatten().tolist(), u


def _pairs(method: str, t_layers: list[str], s_layers: list[str]) -> list[tuple[str, str]]:
    return pairwise_pairs(t_layers, s_layers) if method == "pairwise" else all_to_all_pairs(t_layers, s_layers)


class Search:
    """One λ search: its names, pair set, sampler and the units of work it consists of."""

    TPE_STARTUP = 10   # Optuna's TPESampler draws its first 10 trials at random (n_startup_trials)

    def __init__(self, lab: Lab, table: str, method: str, mode: str) -> None:
        self.lab, self.table, self.method, self.mode = lab, table, method, mode
        self.teacher, self.student, _ = TABLES[table]
        self.t_layers, self.s_layers = layer_sets(table, method)
        self.pairs = _pairs(method, self.t_layers, self.s_layers)
        self.scale = 1.0 if method == "pairwise" else 1.0 / len(self.s_layers)
        self.name, self.n = search_name(table, method, mode), n_trials(lab, table, method, mode)

    @property
    def n_random(self) -> int:
        """Leading trials whose (λ, β) do not depend on earlier results: they can train in parallel."""
        return self.n if self.method == "pairwise" else min(self.n, self.TPE_STARTUP)

    def params(self) -> dict:
        c = self.lab.cfg
        return {"table": self.table, "method": self.method, "mode": self.mode, "trials": self.n,
                "search_seed": c.search_seed, "sampler": "random" if self.method == "pairwise" else "tpe",
                "told": "val_accuracy", "pairs": self.pairs, "teacher": self.lab.teacher_key(self.teacher, "part"),
                "epochs": c.epochs, "beta": c.pairwise_beta if self.method == "pairwise" else c.a2a_beta_range}

    def study(self):
        import warnings

        with warnings.catch_warnings():      # optuna imports tqdm.auto, which warns in notebooks without widgets
            warnings.simplefilter("ignore")
            import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        seed = self.lab.cfg.search_seed
        sampler = (optuna.samplers.RandomSampler(seed=seed) if self.method == "pairwise"
                   else optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.TPE_STARTUP))
        return optuna.create_study(direction="maximize", sampler=sampler)

    def trial(self, k: int, beta: float, lam: list[float]) -> dict:
        """Train (or read) trial ``k`` on the carved rows."""
        return student_run(self.lab, f"{self.name}: trial", k, self.student,
                           vid(self.lab, self.teacher, self.student, self.pairs, lam, beta, self.mode, self.scale,
                               kind="part"), kind="part")

    def random_trial(self, k: int) -> dict:
        """Trial ``k < n_random`` on its own: its (λ, β) are replayed from the seeded sampler
        with placeholder results, which random draws do not read (so the search, replaying
        with the real results, asks for the same run and finds its record)."""
        if k >= self.n_random:
            raise ValueError(f"trial {k} of {self.name} depends on earlier results (first {self.n_random} do not)")
        study = self.study()
        for _ in range(k):
            t = study.ask()
            _suggest(t, self.lab, self.method, self.mode, self.t_layers, self.s_layers)
            study.tell(t, 0.0)
        beta, lam, _ = _suggest(study.ask(), self.lab, self.method, self.mode, self.t_layers, self.s_layers)
        return self.trial(k, beta, lam)

    def summary(self) -> dict:
        """The search's record: every trial's (λ, β, metrics) and the trials chosen on test and
        on validation. Runs the search (resuming from trial records) if it is missing."""
        def search() -> dict:
            self.lab.teacher(self.teacher, "part")
            study, trials = self.study(), []
            for k in range(self.n):
                trial = study.ask()
                beta, lam, u = _suggest(trial, self.lab, self.method, self.mode, self.t_layers, self.s_layers)
                rec = self.trial(k, beta, lam)
                study.tell(trial, rec["metrics"]["val_accuracy"])
                trials.append({"number": k, "seed": k, "beta": beta, "lam": lam, "u": u, "key": rec["key"],
                               **rec["metrics"]})
            on_test = max(trials, key=lambda t: t["accuracy"])
            on_val = max(trials, key=lambda t: t["val_accuracy"])
            return {"metrics": {"accuracy_best_trial_on_test": on_test["accuracy"],
                                "accuracy_chosen_on_val": on_val["accuracy"], "trials": len(trials)},
                    "extra": {"trials": trials, "chosen": {"test": on_test["number"], "val": on_val["number"]},
                              "teacher_layers": self.t_layers, "student_layers": self.s_layers}}

        return self.lab.store.run(CHAPTER, f"{self.name}: search", 0, self.params(), self.lab.cfg.profile, search)

    def reruns(self, seed: int) -> list[dict]:
        """The trials chosen on test and on validation, retrained on all rows from ``seed``.
        When both choices give the same run (same λ and β, or λ unused), it trains once and
        the second record is a copy (``extra["copy_of"]``)."""
        summary = self.summary()
        trials, out, done = summary["extra"]["trials"], [], {}
        for protocol in ("test", "val"):
            chosen = trials[summary["extra"]["chosen"][protocol]]
            method = vid(self.lab, self.teacher, self.student, self.pairs, chosen["lam"], chosen["beta"], self.mode,
                         self.scale)
            setting, twin = f"{self.name}, chosen on {protocol}", done.get(repr(method.params))
            if twin is not None:
                rec = self.lab.store.run(CHAPTER, setting, seed, twin["params"], self.lab.cfg.profile, lambda: {
                    "metrics": twin["metrics"], "history": twin["history"],
                    "extra": {**twin["extra"], "copy_of": twin["key"]}})
            else:
                rec = student_run(self.lab, setting, seed, self.student, method)
            done.setdefault(repr(method.params), rec)
            out.append(rec)
        return out


def run_search(lab: Lab, table: str, method: str, mode: str) -> list[dict]:
    """Search, then retrain the trials chosen on test and on validation. Returns the
    summary record followed by the rerun records."""
    s = Search(lab, table, method, mode)
    return [s.summary()] + [r for seed in lab.cfg.rerun_seeds for r in s.reruns(seed)]


def searches(lab: Lab) -> list[dict]:
    """Every search of the configured tables and modes, with its reruns."""
    out = []
    for table, method in SEARCHES:
        if table in lab.cfg.tables:
            for mode in lab.cfg.modes:
                out += run_search(lab, table, method, mode)
    return out
