"""The demo museum loaded by ``manage.py load_demo`` (data in ``museum.py``)."""
