"""Row (f) of ``make bench`` runs end to end at a tiny size and reports what it claims."""

from __future__ import annotations

import math

from kdcore.run.bench import HYPER_METHODS, bench_hyper


def test_bench_hyper_prints_times_flops_and_ratios(capsys):
    got = bench_hyper(bs=8, repeats=1, n_batches=2)
    ratios = got["ratios"]
    out = capsys.readouterr().out
    assert set(got["seconds"]) == set(got["flops"]) == set(HYPER_METHODS)
    assert got["flops"]["tangent"] < got["flops"]["mixed"] < got["flops"]["exact"]   # one tangent pass < two backward halves
    assert set(ratios) == {"exact", "finite_difference", "finite_difference_outputs"}
    assert all(math.isfinite(r) and r > 1 for r in ratios.values())   # an upper step is never free
    for label in ("tangent pass", "one-sided difference of the outputs", "mixed Jacobian", "forward-over-reverse",
                  "double backward", "(DARTS"):
        line = next(l for l in out.splitlines() if label in l)
        assert "ms" in line and "GFLOP" in line
