"""newsetl's reference tables and lexicons: data files shipped inside the package, compiled by `tools/` (sources
credited in this folder's README.md) and found through `etl.resources.REFERENCE_DIR`."""
