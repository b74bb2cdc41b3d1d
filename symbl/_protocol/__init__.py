"""symbl._protocol"""
