"""symbl._resources"""
