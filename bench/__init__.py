"""`make bench`: load a realistic dataset and measure PartnerHub's pages on it (see README.md)."""
