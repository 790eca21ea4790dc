-- amdb tune: PostgreSQL 15.18 (Debian 15.18-0+deb12u1) (throwaway cluster) / pgbench:scale=50,clients=8,threads=2,seconds=6
-- Confirmed: TPS x1.701 (95% CI 1.467..1.950) over the baseline.
ALTER SYSTEM SET checkpoint_completion_target = '0.828';
ALTER SYSTEM SET checkpoint_timeout = '39s';
ALTER SYSTEM SET effective_cache_size = '126464kB';
-- UNSAFE: fsync off: a power loss or operating-system crash can corrupt the whole cluster beyond repair; only for data that can be recreated
ALTER SYSTEM SET fsync = 'off';
-- UNSAFE: full_page_writes off: a crash in the middle of a page write can leave torn pages that recovery cannot repair, silently corrupting tables and indexes
ALTER SYSTEM SET full_page_writes = 'off';
ALTER SYSTEM SET maintenance_work_mem = '48979kB';
-- UNSAFE: synchronous_commit off: a crash of the server or the machine loses the last transactions already reported as committed (up to about three times wal_writer_delay of them); the database itself stays consistent
ALTER SYSTEM SET synchronous_commit = 'off';
ALTER SYSTEM SET wal_writer_delay = '1ms';
ALTER SYSTEM SET work_mem = '68kB';
SELECT pg_reload_conf();
