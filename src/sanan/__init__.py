"""Sanan (三安): community governance for Chinese urban neighbourhoods."""

__version__ = "0.1.0"
