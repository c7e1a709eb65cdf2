"""The shipped mapping files, one per known real source (data: never in the repository)."""
