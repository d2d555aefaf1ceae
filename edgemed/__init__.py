"""edgemed: an offline triage assistant for clinics with no internet and no doctor on site."""

__version__ = "0.1.0"
