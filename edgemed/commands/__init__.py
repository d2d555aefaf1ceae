"""The ``edgemed`` subcommands, one module each, loaded lazily by :mod:`edgemed.cli`."""
