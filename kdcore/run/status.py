"""How much of a chapter is done: records current, stale, missing and failed, and the time left.

- *current* / *stale*: the chapter's records of the profile, by their code hash
  (:func:`kdcore.results.is_current`);
- *failed*: failure notes (a run that stopped with a non-finite loss); a note written by
  older code counts as stale too, since the run would then be tried again;
- *missing*: records the chapter's last executed notebook (``book/papers/<chapter>.ipynb``,
  paper profile) read and that are gone: what ``make reproduce`` will recompute;
- *time left*: for a stale record, the seconds it took; for a missing one, the median of its
  setting's other records (else of the chapter's). Measured on whatever machine ran them.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ChapterStatus", "chapter_status", "format_table"]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ChapterStatus:
    chapter: str
    profile: str
    current: int
    stale: int
    missing: int
    failed: int
    seconds_left: float
    unknown_time: int          # missing records with no measured time to estimate from

    def row(self) -> dict:
        left = f"{self.seconds_left / 60:.0f} min" + (f" + {self.unknown_time} unmeasured" if self.unknown_time else "")
        return {"chapter": self.chapter, "profile": self.profile, "current": self.current, "stale": self.stale,
                "missing": self.missing, "failed": self.failed, "time left": left}


def _expected(chapter: str) -> list[str]:
    path = ROOT / "book" / "papers" / f"{chapter}.ipynb"
    if not path.exists():
        return []
    try:
        meta = json.loads(path.read_text()).get("metadata", {}).get("kdcore", {})
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    return list(meta.get("records", []))


def chapter_status(chapter: str, profile: str = "paper", root: Path | None = None) -> ChapterStatus:
    """The counts of :mod:`this module <kdcore.run.status>`'s docstring for one chapter."""
    from ..results import RunStore
    from ..results.records import is_current, read_record

    store = RunStore(root, profile=profile)
    base = store.root / chapter
    recs = {}
    for p in sorted(base.rglob("*.json")) if base.is_dir() else []:
        if "models" in p.relative_to(base).parts or ".cache" in p.parts:
            continue
        rec = read_record(p)
        if rec["profile"] == profile:
            recs[p.relative_to(store.root).as_posix()] = rec
    stale = [r for r in recs.values() if not is_current(r)]
    per_setting: dict[str, list[float]] = {}
    for rel, rec in recs.items():
        per_setting.setdefault(rel.rsplit("/", 1)[0], []).append(float(rec.get("seconds", 0.0)))
    every = [s for v in per_setting.values() for s in v]
    missing = [r for r in (_expected(chapter) if profile == "paper" else []) if r.startswith(f"{chapter}/")
               and not (store.root / r).exists()]
    left, unknown = sum(float(r.get("seconds", 0.0)) for r in stale), 0
    for rel in missing:
        times = per_setting.get(rel.rsplit("/", 1)[0]) or every
        if times:
            left += statistics.median(times)
        else:
            unknown += 1
    from ..results.provenance import code_hash

    notes = [n for n in store.failures(chapter) if n.get("profile") == profile]
    stale_notes = sum(n["code_hash"] != code_hash(chapter) for n in notes)   # such a run would be retried
    return ChapterStatus(chapter, profile, len(recs) - len(stale), len(stale) + stale_notes, len(missing),
                         len(notes), left, unknown)


def format_table(rows: list[ChapterStatus]) -> str:
    import pandas as pd

    return pd.DataFrame([r.row() for r in rows]).to_string(index=False)
