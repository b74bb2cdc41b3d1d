"""symbl._transport"""
