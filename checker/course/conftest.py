"""Fixtures shared by the hidden tests: the learner's module, imported once per check."""

from __future__ import annotations

import pytest

from checker.child import testkit
from checker.child.learner_import import LearnerImportError, import_learner


@pytest.fixture(scope="session")
def learner():
    try:
        return import_learner(testkit.root())
    except LearnerImportError as exc:
        pytest.fail(str(exc), pytrace=False)
