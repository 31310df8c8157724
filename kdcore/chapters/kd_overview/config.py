"""Chapter 1's typed config: every papermill parameter, validated before any work."""

from __future__ import annotations

from dataclasses import field

from ...run.config import ConfigBase
from ...base.checks import config_dataclass, check_choice, check_each, check_int, check_profile, check_range

__all__ = ["KDOverviewConfig"]


@config_dataclass
class KDOverviewConfig(ConfigBase):
    """Parameters of chapter 1 (papermill parameter names equal these field names)."""

    profile: str = "smoke"                     # "smoke" (seconds) or "paper" (Hinton-scale MNIST)
    dataset: str = "mnist"                     # "mnist" or "fashion_mnist"
    n_train: int = 2000                        # training rows used (60000 = all of MNIST train)
    teacher_hidden: list[int] = field(default_factory=lambda: [1200, 1200])   # Hinton's teacher
    student_hidden: list[int] = field(default_factory=lambda: [800, 800])     # Hinton's student
    teacher_epochs: int = 2                    # Adam epochs for each teacher
    teacher_dropout: float = 0.5               # dropout on the teacher's hidden units (Hinton: yes)
    teacher_input_dropout: float = 0.2         # dropout on the teacher's inputs
    teacher_jitter: int = 2                    # teacher inputs shifted by up to this many pixels (Hinton: 2)
    teacher_max_norm: float = 0.0              # max-norm of each hidden unit's incoming weights (0: off)
    teacher_lr_decay: float = 1.0              # teacher lr multiplied by this after every epoch (1: constant)
    student_epochs: int = 2                    # Adam epochs for each student (alone and distilled alike)
    student_lr_decay: float = 1.0              # student lr multiplied by this after every epoch
    batch_size: int = 128                      # rows per step
    bf16: bool = False                         # bfloat16 autocast for training (2-3x faster on AVX-512 CPUs)
    lr: float = 1e-3                           # initial Adam learning rate (all runs)
    temperature: float = 20.0                  # the distillation temperature of the headline run
    alpha: float = 0.9                         # weight of the soft term; 1 - alpha on hard labels
    temperatures: list[float] = field(default_factory=lambda: [1.0, 20.0])   # the T sweep
    seeds: list[int] = field(default_factory=lambda: [0])                    # seeds of headline runs
    sweep_seeds: list[int] = field(default_factory=lambda: [0])              # seeds of the T sweep, ensemble, transfer set
    ensemble_size: int = 2                     # teachers averaged in the ensemble experiment
    omitted_class: int = 3                     # class removed from the transfer set
    bias_shifts: list[float] = field(default_factory=lambda: [0.0, 3.5])     # raises of the omitted class's bias (Hinton: 3.5)
    dark_knowledge_temperatures: list[float] = field(default_factory=lambda: [1.0, 5.0, 20.0])  # T of the shown soft targets
    obd_hidden: int = 16                       # hidden units of the MLP pruned by OBD (784-h-10)
    obd_epochs: int = 2                        # its training epochs
    obd_seeds: list[int] = field(default_factory=lambda: [0])                # seeds of the OBD experiment
    obd_hessian_rows: int = 200                # training rows the Hessian is computed on
    hutchinson_probes: int = 20                # Rademacher probes of the Hutchinson diagonal
    hutchinson_probes_more: int = 200          # the "more probes" fix for negative estimates
    prune_fractions: list[float] = field(default_factory=lambda: [0.0, 0.5, 0.9])  # fractions removed

    def __post_init__(self) -> None:
        check_profile(self.profile)
        check_choice("dataset", self.dataset, ("mnist", "fashion_mnist"))
        check_int("n_train", self.n_train, 100, 60000)
        check_each("teacher_hidden", self.teacher_hidden, check_int, 1)
        check_each("student_hidden", self.student_hidden, check_int, 1)
        check_int("teacher_epochs", self.teacher_epochs, 1)
        check_range("teacher_dropout", self.teacher_dropout, 0, 1, high_open=True)
        check_range("teacher_input_dropout", self.teacher_input_dropout, 0, 1, high_open=True)
        check_int("teacher_jitter", self.teacher_jitter, 0, 8)
        check_range("teacher_max_norm", self.teacher_max_norm, 0, 100)
        check_range("teacher_lr_decay", self.teacher_lr_decay, 0, 1, low_open=True)
        check_int("student_epochs", self.student_epochs, 1)
        check_range("student_lr_decay", self.student_lr_decay, 0, 1, low_open=True)
        check_int("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, 1, low_open=True)
        check_range("temperature", self.temperature, 0, 1000, low_open=True)
        check_range("alpha", self.alpha, 0, 1)
        check_each("temperatures", self.temperatures, check_range, 0, 1000, low_open=True)
        check_each("seeds", self.seeds, check_int, 0)
        check_each("sweep_seeds", self.sweep_seeds, check_int, 0)
        check_int("ensemble_size", self.ensemble_size, 1, 10)
        check_int("omitted_class", self.omitted_class, 0, 9)
        check_each("bias_shifts", self.bias_shifts, check_range, -50, 50)
        check_each("dark_knowledge_temperatures", self.dark_knowledge_temperatures, check_range, 0, 1000,
                   low_open=True)
        check_int("obd_hidden", self.obd_hidden, 1)
        check_int("obd_epochs", self.obd_epochs, 1)
        check_each("obd_seeds", self.obd_seeds, check_int, 0)
        check_int("obd_hessian_rows", self.obd_hessian_rows, 10, 60000)
        check_int("hutchinson_probes", self.hutchinson_probes, 1)
        check_int("hutchinson_probes_more", self.hutchinson_probes_more, 1)
        check_each("prune_fractions", self.prune_fractions, check_range, 0, 1)

    def required_data(self) -> tuple[str, ...]:
        return (self.dataset,)
