"""The encrypted encounter log: SQLCipher, key wrapping, audit chain, backup and export."""
