"""The `newsetl` application: its command line composes the `etl` library and the `flows`."""
