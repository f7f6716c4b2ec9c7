import pytest


@pytest.fixture(autouse=True)
def _isolated(db_session):
    """Web tests always run inside the rolled-back test transaction."""
    yield
