"""symbl.emulator.http"""
