"""symbl._models"""
