"""The triage protocol: pure domain types, the deterministic engine and the protocol data files."""
