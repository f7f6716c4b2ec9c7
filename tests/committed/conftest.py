"""Tests of the app on its own engine, every request committed as in production (no outer
test transaction): each module builds a database of its own."""
