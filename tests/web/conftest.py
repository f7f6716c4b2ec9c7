import pytest


@pytest.fixture(autouse=True)
def _isolated(db_session):
    """Web tests always run inside the rolled-back test transaction."""
    yield


@pytest.fixture
def published_results(app, db_session):
    """The preliminary's results published and its advancement list drawn up: the ids of the
    version, its re-check round and the list, for the endpoints that name them."""
    from app.extensions import db
    from app.services import accounts, rechecks, results
    from tests.results_setup import recheck_and_publish
    from tests.whatif_setup import build_ladder

    with app.app_context():
        organiser = accounts.get_by_username("organiser")
        version = results.create_version(build_ladder().stage, actor=organiser)
        recheck_and_publish(version, organiser)
        listing = results.generate_list(version, actor=organiser)
        round_id = rechecks.rounds(version)[0].id
        db.session.commit()
        return {"version_id": str(version.id), "list_id": str(listing.id),
                "round_id": str(round_id)}
