"""The museum site: catalogue, render jobs, visitor pages, speech API and operations.

``models``, ``services`` (every state change) and ``forms`` are the catalogue's core; ``render``,
``visitor``, ``api``, ``ops`` and ``admin`` are rooms by concern, each saying in its docstring
what it may import (tests/test_architecture.py checks it). See the README's architecture section.
"""
