"""Offline bundles: build on a machine with internet, install on a clinic device without it.

Nothing is imported here on purpose: ``installer`` must run straight out of the wheel on a blank
device, with the standard library only, and must not pull in the builder's dependencies.
"""
