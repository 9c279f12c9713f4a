"""The JSON Schemas of the live-run messages, one per kind (`{kind}.v1.json`); a package so that they ship."""
