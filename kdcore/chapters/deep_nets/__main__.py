"""``python -m kdcore.chapters.deep_nets --profile paper --results DIR --workers N``: see :mod:`.script`."""

from .script import main

if __name__ == "__main__":
    raise SystemExit(main())
