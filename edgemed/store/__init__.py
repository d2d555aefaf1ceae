"""The encrypted encounter log: SQLCipher, key wrapping, audit chain, backup and export.

Layers, top to bottom (import-linter contract ``store-layers``): backup (write and restore,
above the store they take or make) > store (the ``Store`` interface) > audit, exports, outputs,
attempts, passphrase > encounters, database, keyring > search, paths, records > errors.
"""

from edgemed.store.attempts import AttemptPolicy
from edgemed.store.audit import AuditProblem, AuditReport
from edgemed.store.backup import restore_backup, write_backup
from edgemed.store.errors import (
    BadBackup,
    CorruptLog,
    DiskError,
    DiskFull,
    LogBusy,
    LogExists,
    LogLocked,
    LogMissing,
    LogReadOnly,
    OutputRefused,
    PlaintextRefused,
    StoreError,
    UnknownEncounter,
    UnknownUser,
    UnlockDelayed,
    WeakPassphrase,
    WrongPassphrase,
)
from edgemed.store.keyring import Argon2Params
from edgemed.store.paths import permission_problems
from edgemed.store.records import EncounterRecord, Findings, SaveReceipt, StoredEncounter
from edgemed.store.store import Store

__all__ = [
    "Argon2Params",
    "AttemptPolicy",
    "AuditProblem",
    "AuditReport",
    "BadBackup",
    "CorruptLog",
    "DiskError",
    "DiskFull",
    "EncounterRecord",
    "Findings",
    "LogBusy",
    "LogExists",
    "LogLocked",
    "LogMissing",
    "LogReadOnly",
    "OutputRefused",
    "PlaintextRefused",
    "SaveReceipt",
    "Store",
    "StoreError",
    "StoredEncounter",
    "UnknownEncounter",
    "UnknownUser",
    "UnlockDelayed",
    "WeakPassphrase",
    "WrongPassphrase",
    "permission_problems",
    "restore_backup",
    "write_backup",
]
