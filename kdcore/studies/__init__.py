"""Measurements that are not a paper's chapter but decide how a chapter may run (each writes
run records under ``results/<study>/``, hashed over every kdcore module outside the chapters).

- :mod:`.sampled_vid`: does the cheap all-to-all VID objective (pairs at the smaller
  resolution, k sampled pairs per step) train students as well as the exact full sum?
"""
