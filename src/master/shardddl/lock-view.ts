/** What `shard-ddl-lock` shows of one lock (DM's pb.DDLLock), plus the keeper's own state. */
export interface LockView {
  /** ``<task>-`<schema>`.`<table>` `` */
  id: string;
  task: string;
  mode: 'pessimistic' | 'optimistic';
  /** Pessimistic: the source that runs the DDLs; optimistic: ''. */
  owner: string;
  /** Pessimistic: the lock's DDLs; optimistic: [] (as DM shows them), or the DDL shards wait for (non-strict rename). */
  ddls: string[];
  /**
   * Pessimistic: sources that reached the DDLs; optimistic: `source-`db`.`tbl`` of tables whose
   * structure equals the joined one, or, while shards wait for a rename, the tables that ran it
   * (`unsynced`: those that have not yet).
   */
  synced: string[];
  unsynced: string[];
  /**
   * `waiting`: not every source reached the DDLs; `executing`: the owner runs them; `skipping`:
   * the others skip them; `error`: mismatched DDLs (pessimistic) or a conflict (optimistic).
   */
  stage: 'waiting' | 'executing' | 'skipping' | 'error';
  /** Why the lock is in error (with DM's code), else ''. */
  error: string;
  /** Optimistic, while shards wait for a rename: what the unsynced shards must do (run it upstream, or unlock by hand). */
  message?: string;
}
