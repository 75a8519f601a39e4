"""The cyclic garbage collector around start-up.

Start-up imports build a few hundred thousand long-lived objects (SQLAlchemy's and botocore's
models, click, rich). Collecting while they are built frees nothing, and every full collection
afterwards walks them all again: in a 5,000-object copy that was 0.4 s of CPU, a sixth of the
run. So the console entry point pauses the collector (:func:`pause`), and :func:`settle`, called
once a command has loaded what it works with (when it opens the database), moves everything
alive into the permanent generation (``gc.freeze``) and resumes collecting for the work itself.
A command that never settles is a short one; it ends with the collector paused.
"""

from __future__ import annotations

import gc


def pause() -> None:
    """Stop cyclic collection while the program loads (the console entry point calls this)."""
    gc.disable()


def settle() -> None:
    """Freeze what is alive now and collect again; a no-op unless :func:`pause` ran (tests
    that call the CLI in-process keep their interpreter's collector as it was)."""
    if gc.isenabled():
        return
    gc.freeze()
    gc.enable()
