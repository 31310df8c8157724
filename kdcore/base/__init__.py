"""The bottom layer, imported by everything and importing no other part of kdcore:
argument checks and the strict config decorator (:mod:`.checks`), and files written
atomically and read with clear errors (:mod:`.files`)."""
