"""Fixtures of the repositories app's tests."""

import pytest

from repositories.logstore.tests import s3server


@pytest.fixture(scope="session")
def s3():
    """A real S3 server (moto's server mode) on 127.0.0.1 for the whole test run."""
    server = s3server.start()
    yield server
    server.server.stop()
