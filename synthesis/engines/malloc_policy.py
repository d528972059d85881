"""Large blocks of native memory go back to the operating system when freed (glibc only).

glibc serves a request from its heap unless it is at least M_MMAP_THRESHOLD, and by default it
raises that threshold (up to 32 MB) each time a mapped block is freed. In a synthesis worker that
happens within the first render, after which the vocoder's arena blocks, the acoustic model's
tensors and numpy's multi-MB temporaries all land in the heap, where freed memory stays resident:
a 3000-character render kept ~100 MB it no longer used into the finishing steps. A fixed
threshold keeps blocks of MAP_THRESHOLD_BYTES and more mapped on their own, so freeing one
returns it at once; smaller blocks are served as before.

Set once per process when an engine loads. A MALLOC_MMAP_THRESHOLD_ in the environment (read by
glibc at start-up) is the operator's choice and is left alone; elsewhere than glibc this does
nothing.

Imports: ctypes only.
"""
from __future__ import annotations

import ctypes
import os

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
# Measured on a 3000-character render (after the vocoder arena's release): 1 MB returned as
# much as 256 KB, 4 MB left ~10 MB more resident; numpy's per-chunk temporaries are 1-16 MB,
# so their fresh pages cost little next to the work done on them.
MAP_THRESHOLD_BYTES = 1 << 20
ENV = "MALLOC_MMAP_THRESHOLD_"


def return_large_blocks_to_os() -> bool:
    """Fix glibc's mmap threshold at MAP_THRESHOLD_BYTES; True when it was set here."""
    if ENV in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (or no symbol table to look in)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MAP_THRESHOLD_BYTES) == 1
