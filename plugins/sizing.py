"""Sizing a satellite from simulation (``orbitwin size``): being written (issue 11)."""
