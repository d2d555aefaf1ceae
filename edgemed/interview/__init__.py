"""The interview as a state machine: what to ask next, given what is known."""
