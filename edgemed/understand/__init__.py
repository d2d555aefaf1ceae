"""Free text in any shipped locale -> proposed findings for the nurse to confirm."""
