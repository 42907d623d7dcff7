"""Worked examples for implementers: how to put a SIM-management system that is *not* carriersim under the
conformance harness. ``tinycmp`` is a small vendor-style service and the adapter that makes it a ``Target``."""
