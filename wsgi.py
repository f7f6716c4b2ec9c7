"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
import gc

from app import create_app

app = create_app()
# The app's long-lived objects (models, tables, templates, translations: some 200,000) move out
# of the garbage collector's reach: a full collection then scans only what requests create,
# instead of pausing a worker for 100 ms or more in the middle of a venue's autosaves.
gc.freeze()
