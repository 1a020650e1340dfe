/**
 * The one table of DM.ts error codes. Codes follow DM's numbering by class
 * (config 20xxx, binlog 22xxx/28xxx, dump 32xxx, load 34xxx, sync 36xxx, master 38xxx,
 * worker 40xxx, dmctl 42xxx, scheduler 46xxx, ...). A unit test keeps codes unique and
 * `npm run errors-doc` renders docs/errors.md from this table.
 *
 * `retryable` is the only place that decides whether an error auto-resumes; errors from
 * MySQL are classified by errno in src/sql/errno.ts into one of these codes.
 *
 * Each area keeps its codes in its own section below: add new codes to your area's section.
 */
export type ErrorClass =
  | 'database'
  | 'functional'
  | 'config'
  | 'binlog-op'
  | 'checkpoint'
  | 'task-check'
  | 'relay-event-lib'
  | 'relay-unit'
  | 'dump-unit'
  | 'load-unit'
  | 'sync-unit'
  | 'dm-master'
  | 'dm-worker'
  | 'dm-tracer'
  | 'schema-tracker'
  | 'scheduler'
  | 'dmctl'
  | 'not-set'
  | 'ha'
  | 'validator';
export type ErrorScope = 'upstream' | 'downstream' | 'internal' | 'not-set';
export type ErrorLevel = 'low' | 'medium' | 'high';

export interface CodeDef {
  code: number;
  class: ErrorClass;
  scope: ErrorScope;
  level: ErrorLevel;
  retryable: boolean;
  /** A short, user-facing description, used by docs/errors.md. */
  description: string;
  /** What the user can do about it. */
  workaround: string;
}

function def(
  code: number,
  cls: ErrorClass,
  scope: ErrorScope,
  description: string,
  workaround: string,
  opts: { retryable?: boolean; level?: ErrorLevel } = {},
): CodeDef {
  return {
    code,
    class: cls,
    scope,
    level: opts.level ?? 'high',
    retryable: opts.retryable ?? false,
    description,
    workaround,
  };
}

export const CODES = {
  // ---- generic / database (10xxx) -------------------------------------------------------
  ErrDBDriverError: def(10001, 'database', 'not-set', 'database driver error', 'Check the database connection and the error message.'),
  ErrDBBadConn: def(10002, 'database', 'not-set', 'bad connection to the database', 'Check that the database is up and reachable; the operation is retried automatically.', { retryable: true }),
  ErrDBInvalidConn: def(10003, 'database', 'not-set', 'invalid connection', 'Check the connection settings (host, port, user, password).'),
  ErrDBUnExpect: def(10004, 'database', 'not-set', 'unexpected database error', 'Please check the error message and the database logs.'),
  ErrDBQueryFailed: def(10005, 'database', 'not-set', 'query failed', 'Check the SQL statement and the database logs.'),
  ErrDBExecuteFailed: def(10006, 'database', 'not-set', 'execute statement failed', 'Check the SQL statement and the database logs.'),
  ErrDBRetryableError: def(10007, 'database', 'not-set', 'retryable database error (deadlock, lock wait timeout, too many connections, read-only)', 'Usually transient; DM.ts retries with backoff. If it persists, check the target database.', { retryable: true }),
  ErrUpstreamUnreachable: def(10008, 'database', 'upstream', 'upstream database unreachable', 'Check that the source database is running and `from` in the source config (host, port, user, password) is correct.', { retryable: true }),
  ErrDownstreamUnreachable: def(10009, 'database', 'downstream', 'downstream database unreachable', 'Check that the target database is running and `target-database` in the task config is correct.', { retryable: true }),
  ErrDBAccessDenied: def(10010, 'database', 'not-set', 'access denied', 'Check the user name and password, and the privileges granted to the user.'),

  // ---- functional / internal (11xxx) ----------------------------------------------------
  ErrInternal: def(11001, 'functional', 'internal', 'internal error', 'This is a bug in DM.ts: please report it with the logs.'),
  ErrNotImplemented: def(11002, 'functional', 'internal', 'not implemented yet', 'This feature has not landed yet; see the README for what is supported.'),
  ErrCanceled: def(11003, 'functional', 'internal', 'operation canceled', 'The operation was canceled (shutdown or timeout); retry it.', { level: 'low' }),
  ErrTimeout: def(11004, 'functional', 'internal', 'operation timed out', 'Retry; if it keeps timing out, check the network and the load of the services involved.', { retryable: true }),
  ErrEncryptSecretKeyMissing: def(11101, 'functional', 'internal', 'secret key for password encryption missing or invalid', 'Set `secret-key-path` in dm-master.yaml to a file holding a 64-hex-digit (32-byte) key, or remove it to use the built-in key.'),
  ErrEncryptCiphertextInvalid: def(11102, 'functional', 'internal', 'text is not a valid DM.ts ciphertext', 'Give the password in plaintext or encrypt it with `dmctl encrypt <plaintext>` using the same secret key.'),
  ErrEncryptFailed: def(11103, 'functional', 'internal', 'encryption failed', 'Check the secret key file.'),

  // ---- config (20xxx) ---------------------------------------------------------------------
  ErrConfigYamlParse: def(20001, 'config', 'internal', 'config file is not valid YAML', 'Fix the YAML syntax at the line shown.'),
  ErrConfigUnknownKey: def(20002, 'config', 'internal', 'unknown configuration key', 'Remove the key or fix its spelling; the message lists the keys allowed here.'),
  ErrConfigInvalidValue: def(20003, 'config', 'internal', 'invalid configuration value', 'Fix the value; the message says what is allowed.'),
  ErrConfigMissingKey: def(20004, 'config', 'internal', 'required configuration key missing', 'Add the key named in the message.'),
  ErrConfigUndefinedRule: def(20005, 'config', 'internal', 'reference to an undefined rule name', 'Define the rule in the top-level block (routes, filters, block-allow-list, mydumpers, loaders, syncers, validators, expression-filter) or remove the reference.'),
  ErrConfigDuplicateSourceID: def(20006, 'config', 'internal', 'duplicate source-id', 'Each source-id may appear once in mysql-instances.'),
  ErrConfigFileRead: def(20007, 'config', 'internal', 'cannot read config file', 'Check the path and the file permissions.'),
  ErrConfigCrossField: def(20008, 'config', 'internal', 'inconsistent configuration', 'Fix the combination of keys named in the message.'),
  ErrConfigDecryptPassword: def(20009, 'config', 'internal', 'password cannot be decrypted', 'Give the password in plaintext or encrypt it with `dmctl encrypt` using this cluster\'s secret key.'),

  // ---- binlog / positions (22xxx) ------------------------------------------------------------
  ErrBinlogInvalidPosition: def(22001, 'binlog-op', 'internal', 'invalid binlog position', 'Give a position as `mysql-bin.000001:4`, a MySQL GTID set `uuid:1-10`, or a MariaDB GTID list `0-1-10`.'),
  ErrBinlogPurged: def(22002, 'binlog-op', 'upstream', 'the binlog position to start from has been purged upstream', 'Start the task again with a full migration (task-mode all), or enable relay so binlogs are kept locally.'),
  ErrBinlogReadFailed: def(22003, 'binlog-op', 'upstream', 'reading the binlog failed', 'Check the upstream connection; the reader reconnects automatically.', { retryable: true }),
  ErrBinlogRowMetadata: def(22004, 'binlog-op', 'upstream', 'binlog_row_metadata is not FULL and no schema is tracked for this table', 'Set `binlog_row_metadata=FULL` on the source (MariaDB >= 10.5, MySQL >= 8.0.1), or start from a position after the last DDL of the table.'),

  // ---- checkpoint (24xxx) -------------------------------------------------------------------------
  ErrCheckpointLoad: def(24001, 'checkpoint', 'downstream', 'loading checkpoints from the target failed', 'Check the target database and the meta-schema tables.', { retryable: true }),
  ErrCheckpointSave: def(24002, 'checkpoint', 'downstream', 'saving a checkpoint to the target failed', 'Check the target database.', { retryable: true }),

  // ---- task check / precheck (26xxx) ---------------------------------------------------------------
  ErrTaskCheckFailed: def(26001, 'task-check', 'internal', 'precheck failed', 'Fix the failing check items listed, or add them to `ignore-checking-items` in the task config.'),

  // ---- relay (28xxx / 30xxx) ---------------------------------------------------------------------------
  // (relay issue adds its codes here)

  // ---- dump unit (32xxx) --------------------------------------------------------------------------
  // (full-migration issue adds its codes here)

  // ---- load unit (34xxx) ------------------------------------------------------------------------------
  // (full-migration issue adds its codes here)

  // ---- sync unit (36xxx) ---------------------------------------------------------------------------------
  // (incremental issue adds its codes here)

  // ---- dm-master (38xxx) -----------------------------------------------------------------------------
  ErrMasterNotLeader: def(38001, 'dm-master', 'internal', 'this dm-master is not the leader', 'The request is forwarded to the leader automatically; if no leader exists, wait for the election or check the masters.', { retryable: true }),
  ErrMasterNoLeader: def(38002, 'dm-master', 'internal', 'no dm-master leader elected', 'Wait a few seconds for the election; check that a majority of masters (etcd members) is up.', { retryable: true }),

  // ---- dm-worker (40xxx) ---------------------------------------------------------------------------------
  // (control-plane issue adds its codes here)

  // ---- dmctl (42xxx) --------------------------------------------------------------------------------------
  // (dmctl issue adds its codes here)

  // ---- scheduler / ha (46xxx) ------------------------------------------------------------------------------
  // (control-plane issue adds its codes here)

  // ---- etcd / store (48xxx) ----------------------------------------------------------------------------------
  ErrEtcdUnavailable: def(48001, 'ha', 'internal', 'etcd is unavailable', 'Check that a majority of the etcd members (dm-masters) is up and reachable.', { retryable: true }),
} as const satisfies Record<string, CodeDef>;

export type ErrorCodeName = keyof typeof CODES;

export function codeByNumber(code: number): [ErrorCodeName, CodeDef] | undefined {
  for (const [name, d] of Object.entries(CODES)) if (d.code === code) return [name as ErrorCodeName, d];
  return undefined;
}
