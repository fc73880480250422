"""Simulated devices (``ontrack simulate``): ``wearers`` for load and demos, random but
deterministic per seed; ``script`` for a scripted scenario that checks what a user sees.
"""
