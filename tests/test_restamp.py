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
    assert "studies/sampled_vid.py" in files and "train.py" in files


def test_a_record_not_current_at_that_commit_is_refused(head_hash):
    with pytest.raises(RestampError, match="is not the hash at"):
        check(CHAPTER, "HEAD", "0" * 16)


def test_a_changed_or_new_file_is_refused_by_name(head_hash):
    with pytest.raises(RestampError, match="studies/sampled_vid.py changed since"):
        check(CHAPTER, "HEAD", head_hash, moved={"studies/sampled_vid.py": "studies/__init__.py"})
    with pytest.raises(RestampError, match="train.py is new since"):
        check(CHAPTER, "HEAD", head_hash, moved={"train.py": "no/such/file.py"})
