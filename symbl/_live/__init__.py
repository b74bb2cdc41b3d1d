"""symbl._live"""
