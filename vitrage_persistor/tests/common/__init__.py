"""Test fixtures shared by the unit and functional tiers.

Nothing here is a test; a tier imports from here, never from the other
tier's modules.
"""
