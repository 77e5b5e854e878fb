"""Face-swap providers: the seam the workflow uses, and one adapter per provider service."""
