from parley_common.migrations import run_migrations

run_migrations()
