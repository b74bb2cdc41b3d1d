"""symbl._cli"""
