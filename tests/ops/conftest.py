"""The end-to-end sandbox fixtures, shared with the operator-command tests as they are."""

from tests.e2e.conftest import make_sandbox, sandbox  # noqa: F401
