"""symbl.emulator.stores"""
