"""The authors' numbers as data.

- Gorpinich, Bakhteev & Strijov (2022), Automation and Remote Control 83(10), the results
  table (accuracy, mean over 10 runs and max), as collected in ``shared/PAPERS.md`` section 4.
- The heterogeneous-distillation repository (Intelligent-Systems-Phystech/HeteroLayerDistillation,
  logs/): the fixed-lambda sweep ResNet18 -> ConvVeryTiny and the single-pair bi-level run.

Setting names equal the chapter's run-record settings, so the paper-vs-ours table joins them.
"""

from ...results.paper import PaperNumber

_T22 = "Gorpinich et al. 2022, AiT 83(10), results table (via PAPERS.md §4)"
_HET = "HeteroLayerDistillation logs (via PAPERS.md §4)"
_COLS = ("synthetic", "Fashion-MNIST", "CIFAR-10 reduced", "CIFAR-10")
# method: (mean, max) per column, in _COLS order; None where the paper gives no number.
_TABLE_2022 = {
    "none": ((0.63, 0.63), (0.87, 0.88), (0.55, 0.56), (0.65, 0.66)),
    "naive": ((0.63, 0.63), (0.87, 0.88), (0.55, 0.56), (0.66, 0.67)),
    "random": ((0.64, 0.72), (0.79, 0.88), (0.54, 0.57), (0.64, 0.67)),
    "gradient": ((0.77, 0.78), (0.88, 0.89), (0.57, 0.61), (0.70, 0.72)),
    "hyperopt": ((0.77, 0.78), (0.87, 0.88), (0.55, 0.58), (0.65, 0.69)),
    "proposed": ((0.76, 0.78), (0.88, 0.89), (0.57, None), (0.70, 0.72)),
}

NUMBERS = [PaperNumber("heterogeneous", f"{col}: {method}", "accuracy", vals[i][0], None, _T22,
                       "mean over 10 runs; runs and epochs of ours: see the profile")
           for method, vals in _TABLE_2022.items() for i, col in enumerate(_COLS)]

# The table's "max" column: the best of the 10 runs (not a per-run metric, so kept apart).
MAX_2022 = {(f"{col}: {method}"): vals[i][1] for method, vals in _TABLE_2022.items()
            for i, col in enumerate(_COLS) if vals[i][1] is not None}

# Fixed-lambda sweep, ResNet18 -> ConvVeryTiny, Adam, 25 epochs: (last epoch, best epoch).
SWEEP = {1e-7: (0.544, 0.562), 1e-6: (0.550, 0.551), 1e-5: (0.552, 0.575), 1e-4: (0.568, 0.573),
         1e-3: (0.551, 0.567), 1e-2: (0.558, 0.566), 0.1: (0.545, 0.554), 0.5: (0.204, None)}
NUMBERS += [PaperNumber("heterogeneous", f"sweep ResNet18 -> ConvVeryTiny: lambda={lam:g}", "accuracy", last,
                        None, _HET, "last epoch, one run") for lam, (last, _) in SWEEP.items()]
NUMBERS += [PaperNumber("heterogeneous", "single pair bi-level, ConvTiny -> ConvVeryTiny (mu teacher->student)",
                        "accuracy", 0.5773, None, _HET, "one run"),
            PaperNumber("heterogeneous", "single pair bi-level, ConvTiny -> ConvVeryTiny (mu student->teacher)",
                        "accuracy", 0.5899, None, _HET, "one run")]
