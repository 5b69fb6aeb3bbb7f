"""Storage drivers that Salvage ships itself (controllers of their own)."""
