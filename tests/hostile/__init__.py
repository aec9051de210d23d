"""Hostile-input and crash-consistency suites: mutated feeds, HTTP faults, the address
guard end to end, and SIGKILLed daemons. ``NEWS_MONITOR_FULL=1`` runs the large versions."""
