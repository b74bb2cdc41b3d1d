"""symbl.emulator.engine"""
