"""The verified re-stamp (kdcore.results.restamp): it carries records over only when every
file their hash covers is the same as at the commit that computed them."""

from __future__ import annotations

import subprocess

import pytest

from kdcore.results.provenance import PACKAGE
from kdcore.results.restamp import RestampError, _hash_then, _tree, check

ROOT = PACKAGE.parent
CHAPTER = "sampled_vid"      # a study: its module and what it imports


def _head_is_clean() -> bool:
    out = subprocess.run(["git", "status", "--porcelain", "kdcore"], cwd=ROOT, capture_output=True, text=True)
    return out.returncode == 0 and not out.stdout.strip()


@pytest.fixture(scope="module")
def head_hash():
    if not _head_is_clean():
        pytest.skip("kdcore/ has uncommitted changes: HEAD is not the code on disk")
    return _hash_then(_tree("HEAD"), CHAPTER)


def test_unchanged_code_passes_and_lists_its_files(head_hash):
    files = check(CHAPTER, "HEAD", head_hash)
    assert "studies/sampled_vid.py" in files and "training/loop.py" in files


def test_a_record_not_current_at_that_commit_is_refused(head_hash):
    with pytest.raises(RestampError, match="is not the hash at"):
        check(CHAPTER, "HEAD", "0" * 16)


def test_statements_unchanged_elsewhere_pass_whatever_the_moved_map_says(head_hash):
    # A file that cannot be found at the mapped path is compared statement by statement with
    # everything the hash covered then: unchanged statements pass (refusals of changed ones
    # are tested on constructed trees in test_code_units.py).
    files = check(CHAPTER, "HEAD", head_hash, moved={"training/loop.py": "no/such/file.py"})
    assert "training/loop.py" in files
