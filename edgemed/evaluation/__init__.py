"""Measuring edgemed end to end, behind ``edgemed eval``: vignettes -> understanding -> protocol.

This package runs the protocol on what understanding proposed (understanding itself never decides
a category), and compares the categories with a file's reference labels: :mod:`.vignettes` reads
the files, :mod:`.end_to_end` runs them (unassisted, oracle, combined, the nurse flow). The sign
model's own measure (``--signs``) stays with understanding: it decides no category.
"""
