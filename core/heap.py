"""Settling the heap once the app is built."""

import gc


def settle_heap() -> None:
    """Call once the app is built, before serving: the objects made so far (modules,
    the URL map, templates, the plugin manager) are moved out of the garbage collector's
    reach, so its full passes under load walk only what requests create."""
    gc.collect()
    gc.freeze()
