"""Minimal reproducers (issue 9, item 2): shrink a problem row's image to the smallest one that still
shows it with the real parser (`shrink`, pure; `check`, the builds and reads), then write a folder a
maintainer can file upstream (`folder`)."""
