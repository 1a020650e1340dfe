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
  ErrDBAccessDenied: def(10010, 'database', 'not-set', 'access denied', 'Check the user name and password, and the privileges granted to the user. A server with `require_secure_transport=ON` (or a user created `REQUIRE SSL/X509`) also refuses plain connections this way: set `security` (`ssl-ca`, and `ssl-cert`/`ssl-key` for X509 users) in `from` or `target-database`.'),
  ErrDBDuplicateEntry: def(10011, 'database', 'downstream', 'duplicate entry for a primary or unique key', 'The target already holds a row with this key: check for writes to the target outside DM.ts, or use safe mode / `on-duplicate: replace`.'),
  ErrDBSchemaMismatch: def(10012, 'database', 'not-set', 'unknown database, table or column, or a column count mismatch', 'The target structure differs from what the statement expects: compare the source and target table structures.'),
  ErrDBSyntaxError: def(10013, 'database', 'not-set', 'SQL syntax or statement not supported by the database', 'The database rejected the statement: check its version and the statement in the message.'),
  ErrDBDataInvalid: def(10014, 'database', 'downstream', 'value rejected by the database (out of range, too long, bad encoding or date)', 'Make the target column types and sql_mode match the source (same charset, lengths and signedness).'),
  ErrDBConstraintViolation: def(10015, 'database', 'downstream', 'constraint violated (NOT NULL, foreign key or CHECK)', 'Check the target constraints; disable foreign key checks for migration or align the target structure with the source.'),
  ErrDBBinlogDisabled: def(10016, 'database', 'upstream', 'the binary log is not enabled on the server', 'Start the source with `log-bin`, `binlog_format=ROW` and `binlog_row_image=FULL`.'),
  ErrDBTLSHandshake: def(10017, 'database', 'not-set', 'the TLS handshake with the database failed', 'Check `security` in `from` / `target-database`: `ssl-ca` must be the CA that signed the server certificate, and the server must have TLS enabled (`have_ssl=YES`).'),

  // ---- sql toolbox and filters (101xx) --------------------------------------------------------
  ErrFilterInvalidRule: def(10101, 'config', 'internal', 'invalid block-allow-list, route, filter or expression-filter rule', 'Fix the rule named in the message (patterns use `*`, `?`, `[...]`, or `~regex`).'),
  ErrRouteConflict: def(10102, 'config', 'internal', 'two route rules have the same schema-pattern and table-pattern', 'Merge the two route rules or change one of their patterns.'),
  ErrRouteAmbiguous: def(10103, 'config', 'internal', 'a table matches more than one route rule of the same level', 'Make the route patterns disjoint so that each table matches at most one table-level and one schema-level rule.'),
  ErrEventFilterInvalidEvent: def(10104, 'config', 'internal', 'unknown event type in a binlog event filter rule', 'Use DM event names: all, all dml, all ddl, none, insert, update, delete, create table, alter table, drop table, ...'),
  ErrExprFilterInvalid: def(10105, 'config', 'internal', 'expression-filter expression cannot be parsed or refers to an unknown column', 'Write the expression as a SQL boolean expression over the table\'s columns, e.g. `c > 1 AND d IS NULL`.'),
  ErrExprFilterUnsupported: def(10106, 'config', 'internal', 'expression-filter uses a function or operator DM.ts does not evaluate', 'Use comparison, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL, arithmetic and the functions listed in docs/filters.md.'),
  ErrSQLUnsupportedDDL: def(10111, 'sync-unit', 'internal', 'DDL statement not supported', 'Skip the statement with `dmctl binlog skip` or run the equivalent DDL on the target by hand and skip it.'),
  ErrSQLParseDDL: def(10112, 'sync-unit', 'internal', 'DDL statement cannot be parsed', 'Check the statement; if the target accepts it, run it on the target by hand and skip it with `dmctl binlog skip`.'),
  ErrSQLBuildStatement: def(10113, 'functional', 'internal', 'cannot build a DML statement for the row', 'The row does not fit the table structure known to DM.ts (column count or key missing): check the table structure.'),

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
  ErrConfigGlobalConfigsUnused: def(20010, 'config', 'internal', 'a rule or unit config is defined at the top level of the task but no instance uses it', 'Reference it from a mysql-instances entry or delete it (DM refuses unused routes, filters, expression-filter, mydumpers, loaders, syncers and validators).'),
  ErrConfigTLSFile: def(20011, 'config', 'internal', 'a TLS file of a database connection cannot be read', 'Check `security.ssl-ca`, `ssl-cert` and `ssl-key` of `from` (source config) or `target-database` (task config): the files must exist on the host of the dm-master / dm-worker that connects, be readable, and be PEM encoded.'),
  ErrConfigExprFilterManyExpr: def(20701, 'config', 'internal', 'an expression-filter rule sets expressions for more than one kind of change (insert, update, delete)', 'Give each rule the expressions of one kind only (`insert-value-expr`, or `update-old-value-expr`/`update-new-value-expr`, or `delete-value-expr`); to filter several kinds, write several rules and list them all in `expression-filters`.'),
  ErrConfigTokenFile: def(20710, 'config', 'internal', 'the auth token file cannot be read or is invalid', 'Check `auth-token-file` (or `cluster-token-file`): the file must exist, be readable by the process, and hold `tokens:` entries with `name`, `role` (read or admin) and `sha256` (64 hex digits) — see docs/security.md.'),
  ErrConfigEtcdTLS: def(20711, 'config', 'internal', 'the etcd TLS or auth settings are incomplete or unreadable', 'Set `etcd-ssl-cert` and `etcd-ssl-key` together (with `etcd-ssl-ca`), make the files readable, and set `etcd-user` with `etcd-password`; see docs/security.md.'),
  ErrConfigNotSupported: def(20601, 'config', 'internal', 'a configuration key DM.ts does not implement yet is set', 'Remove the key named in the message or set it to its off value (docs/configuration.md, "Not supported yet", lists each key with its off value); DM.ts refuses it rather than ignore it.'),
  ErrConfigTaskNameTooLong: def(20602, 'config', 'internal', 'the task name is too long for its meta tables', 'Shorten the task `name`: `<name>_syncer_checkpoint` (the longest meta table name) must fit MySQL\'s 64-character limit, so the name may have at most 46 characters.'),
  ErrConfigFileFormat: def(20603, 'config', 'internal', 'the dm-master / dm-worker config file is neither a YAML map nor DM\'s TOML', 'Write the file as YAML (`name: "master1"`) or as DM\'s TOML (`name = "master1"`, in a file named *.toml) with the keys of docs/configuration.md, or pass the settings as flags.'),
  ErrConfigTomlParse: def(20801, 'config', 'internal', 'config file is not valid TOML', 'Fix the TOML syntax at the line shown (DM\'s dm-master.toml / dm-worker.toml format: `key = "value"`, `[table]`).'),

  // ---- binlog / positions (22xxx) ------------------------------------------------------------
  ErrBinlogInvalidPosition: def(22001, 'binlog-op', 'internal', 'invalid binlog position', 'Give a position as `mysql-bin.000001:4`, a MySQL GTID set `uuid:1-10`, or a MariaDB GTID list `0-1-10`.'),
  ErrBinlogPurged: def(22002, 'binlog-op', 'upstream', 'the binlog position to start from has been purged upstream', 'Start the task again with a full migration (task-mode all), or enable relay so binlogs are kept locally.'),
  ErrBinlogReadFailed: def(22003, 'binlog-op', 'upstream', 'reading the binlog failed', 'Check the upstream connection; the reader reconnects automatically.', { retryable: true }),
  ErrBinlogRowMetadata: def(22004, 'binlog-op', 'upstream', 'binlog_row_metadata is not FULL and no schema is tracked for this table', 'Set `binlog_row_metadata=FULL` on the source (MariaDB >= 10.5, MySQL >= 8.0.1), or start from a position after the last DDL of the table.'),
  ErrBinlogGtidFlavorMismatch: def(22005, 'binlog-op', 'internal', 'a MySQL GTID set and a MariaDB GTID list cannot be combined', 'Check that `flavor` in the source config matches the upstream server (mysql or mariadb) and that the GTID in the task meta or checkpoint belongs to it.'),
  ErrBinlogDecode: def(22006, 'binlog-op', 'upstream', 'a binlog event could not be decoded', 'Check the error message: compressed transactions (binlog_transaction_compression) and partial JSON updates are not supported; turn them off on the source and restart the task from a full migration.'),
  ErrBinlogFormatNotRow: def(22007, 'binlog-op', 'upstream', 'the source does not write row-based binlogs', 'Set `binlog_format=ROW` and `binlog_row_image=FULL` on the source (and restart the writers\' sessions), then start the task.'),
  ErrBinlogStartTime: def(22008, 'binlog-op', 'upstream', 'no binlog position found for the requested start time', 'Choose a start time covered by the binlog files the source still has (SHOW BINARY LOGS), or start from a position or GTID.'),
  ErrBinlogSchemaTracker: def(22009, 'schema-tracker', 'internal', 'the schema tracker could not apply a DDL statement', 'Set `binlog_row_metadata=FULL` on the source so decoding does not depend on tracked schemas, or start the task from a position after this DDL.'),
  ErrBinlogTableMapMismatch: def(22201, 'schema-tracker', 'internal', 'the structure tracked for a table does not match the column types of its binlog TABLE_MAP', 'Give DM.ts the structure the table had at that binlog position: `dmctl binlog-schema update <task> <db> <table> <create-table-file> -s <source>` (the message names them), then resume the task; or set `binlog_row_metadata=FULL` on the source. `binlog skip` does not help: the rows after it would still be decoded with the wrong structure.'),
  ErrBinlogTargetStructure: def(22202, 'schema-tracker', 'downstream', 'the structure of a table could not be re-read from the target after a DDL the schema tracker could not follow', 'Check that the DDL was applied to the target table (query-status shows the statement); or give the structure by hand: `dmctl binlog-schema update <task> <db> <table> <create-table-file> -s <source>`, then resume the task.'),

  // ---- checkpoint (24xxx) -------------------------------------------------------------------------
  ErrCheckpointLoad: def(24001, 'checkpoint', 'downstream', 'loading checkpoints from the target failed', 'Check the target database and the meta-schema tables.', { retryable: true }),
  ErrCheckpointSave: def(24002, 'checkpoint', 'downstream', 'saving a checkpoint to the target failed', 'Check the target database.', { retryable: true }),
  ErrCheckpointCorrupt: def(24003, 'checkpoint', 'downstream', 'the checkpoint stored in the target cannot be read', 'Inspect the `<meta-schema>.<task>_syncer_checkpoint` table; remove the row to start from the task meta position again.'),

  // ---- task check / precheck (26xxx) ---------------------------------------------------------------
  ErrTaskCheckSourceConn: def(26002, 'task-check', 'upstream', 'precheck cannot connect to the source database', 'Check `from` in the source config and that the source is up.'),
  ErrTaskCheckTargetConn: def(26003, 'task-check', 'downstream', 'precheck cannot connect to the target database', 'Check `target-database` in the task config and that the target is up.'),
  ErrTaskCheckInvalidItem: def(26004, 'task-check', 'internal', 'unknown item in ignore-checking-items', 'Use the item names listed in docs/dmctl.md (check-task), e.g. `replication_privilege`, `binlog_row_image`, `all`.'),
  ErrTaskCheckSyncConfig: def(26005, 'dm-master', 'internal', 'a pre-check item failed (check-task, start-task): DM\'s text, the report follows `detail:`; class dm-master as DM\'s master prints it', 'Fix the failing check items listed, or add them to `ignore-checking-items` in the task config.', { level: 'medium' }),

  // ---- relay (28xxx / 30xxx) ---------------------------------------------------------------------------
  // relay unit (30001-30049): the relay writer, purger and relay control (issue 14)
  ErrRelayWriteFile: def(30001, 'relay-unit', 'internal', 'writing a relay log file failed (disk full or I/O error); the relay is paused and retries by itself', 'Free space under the worker\'s `relay-dir` (purge-relay, or raise `purge.remain-space`) or fix the disk; the relay resumes by itself when a write succeeds again.', { retryable: true }),
  ErrRelayLayout: def(30002, 'relay-unit', 'internal', 'the relay directory does not have the expected layout (server-uuid.index, <uuid>.<n> sub-directories, relay.meta)', 'Inspect the worker\'s `relay-dir`; if it is damaged, stop-relay, move the directory away and start-relay again (the relay starts again from the upstream).'),
  ErrRelayEventMismatch: def(30003, 'relay-unit', 'upstream', 'an event from the upstream does not continue the relay file (hole or different bytes at the same position)', 'The upstream binlog changed under the relay (RESET MASTER, or another server with the same uuid). stop-relay, move the relay directory away and start-relay again.'),
  ErrRelayUpstreamSwitchNoGTID: def(30004, 'relay-unit', 'upstream', 'the upstream server changed but the source does not use GTID, so the relay cannot find where to continue', 'Set `enable-gtid: true` in the source config (the servers must use GTID), or point `from` back at the original server.'),
  ErrRelayBinlogPurged: def(30005, 'relay-unit', 'upstream', 'the binlog file the relay must continue from is no longer on the upstream', 'Start the relay from a file the upstream still has (`relay-binlog-name`/`relay-binlog-gtid`, after moving the old relay directory away), and run the tasks again from a full migration if they need the lost events.'),
  ErrRelayPurgeNeeded: def(30006, 'relay-unit', 'internal', 'purging these relay files is refused: a task still needs them (or one is the active file)', 'Purge only files before the earliest position the tasks still need (query-status shows each task\'s position), or use `purge-relay --inactive`.'),
  ErrRelayPurgeArgs: def(30007, 'relay-unit', 'internal', 'purge-relay needs exactly one of --filename, --inactive and --time (--filename with one source, --sub-dir only with --filename)', 'Give one of `--filename <file> [--sub-dir <dir>]` (one `-s` source), `--inactive` or `--time <time>`.'),
  ErrRelayFlavorUnsupported: def(30008, 'relay-unit', 'upstream', 'the relay log is supported for MariaDB sources only', 'Set `enable-relay: false` for MySQL sources (tasks then read the binlog from the source directly).'),
  ErrRelayNotRunning: def(30009, 'relay-unit', 'internal', 'the relay of this source is not running on this worker', 'start-relay -s <source> first (or set `enable-relay: true` in the source config).'),
  ErrRelayWorkerNotBound: def(30010, 'relay-unit', 'internal', 'the relay runs on the worker bound to the source; other workers cannot pull a relay for it', 'Name the bound worker (list-member --worker) or none in start-relay/stop-relay; use transfer-source to move the source and its relay.'),
  ErrRelayUpstream: def(30011, 'relay-unit', 'upstream', 'the relay lost or could not open its binlog connection to the upstream', 'Check the upstream; the relay reconnects by itself.', { retryable: true, level: 'medium' }),
  ErrRelayStartPosition: def(30012, 'relay-unit', 'upstream', 'the relay start position in the source config cannot be used', 'Fix `relay-binlog-name` (a file the upstream has, e.g. mysql-bin.000003) or `relay-binlog-gtid` (needs `enable-gtid: true`).'),
  ErrRelayTimeFormat: def(30013, 'relay-unit', 'internal', 'purge-relay --time is not a time', 'Give a time like `2026-12-07 12:00:00` (local time) or an RFC 3339 time.'),

  // ---- relay file reader (28001-28049, relay-event-lib): src/binlog/relay-*.ts -------------------------
  ErrRelayIndexRead: def(28001, 'relay-event-lib', 'internal', 'the relay index (server-uuid.index) or a relay.meta cannot be read', 'Check the worker\'s `relay-dir`: server-uuid.index must list one `<server-uuid>.<nnnnnn>` sub-directory per line, relay.meta must be DM\'s TOML. Restore them, or purge the relay and start it again from the position the tasks need.'),
  ErrRelayNoPosition: def(28002, 'relay-event-lib', 'internal', 'the relay log does not hold the binlog file to start from', 'The file was purged from the relay or the relay started after it. Start the relay from an earlier position (`relay-binlog-name` / `relay-binlog-gtid` in the source config) while the upstream still has that binlog, or restart the task with a full migration.'),
  ErrRelayNoGtidMatch: def(28003, 'relay-event-lib', 'internal', 'no relay file starts at or before the GTID set to start from', 'The transactions after that GTID set are not in the relay (purged, or the relay started later). Start the relay from an earlier GTID (`relay-binlog-gtid`), or restart the task with a full migration.'),
  ErrRelayFileCorrupt: def(28004, 'relay-event-lib', 'internal', 'a relay file is not a binlog file or has an invalid event', 'Check the file named in the message (disk errors, files written by something else). Purge the relay from that file on and let the relay writer fetch it again from the upstream.'),
  ErrRelayRead: def(28005, 'relay-event-lib', 'internal', 'reading a relay file failed', 'Check the disk and permissions of the worker\'s `relay-dir`; the task resumes automatically.', { retryable: true }),
  ErrRelayPosTooBig: def(28006, 'relay-event-lib', 'internal', 'the position to start from is beyond the end of its relay file', 'Start from a position the upstream wrote (a checkpoint, SHOW MASTER STATUS, SHOW BINLOG EVENTS); the relay file is the upstream\'s file byte for byte.'),
  ErrRelayDecodeSetup: def(28007, 'relay-event-lib', 'internal', 'the relay reader cannot drive the installed binlog decoder', 'Install the @vlasky/zongji version in package.json (npm ci); the relay reader uses its packet layer.'),

  // ---- dump unit (32xxx) --------------------------------------------------------------------------
  ErrDumpSnapshotFailed: def(32001, 'dump-unit', 'upstream', 'taking the consistent snapshot failed', 'Check the source connection and privileges; the dump is retried automatically if the cause is transient.', { retryable: true }),
  ErrDumpPrivilege: def(32002, 'dump-unit', 'upstream', 'the source user lacks a privilege the dump needs', 'GRANT the privilege named in the message to the source user, or choose another `consistency` in the task\'s `mydumpers` block (e.g. `lock` needs LOCK TABLES instead of RELOAD, `none` needs no lock).'),
  ErrDumpSourceRead: def(32003, 'dump-unit', 'upstream', 'reading rows from the source failed', 'Check the message (for example the `where` of the `mydumpers` block) and the source database.'),
  ErrDumpTableInfo: def(32004, 'dump-unit', 'upstream', 'reading table structure from the source failed', 'Check that the table exists and that the source user has SELECT on it.'),
  ErrDumpWriteFile: def(32005, 'dump-unit', 'internal', 'writing a dump file failed', 'Check that the loader `dir` is writable and the disk has space.'),
  ErrDumpInvalidConfig: def(32006, 'dump-unit', 'internal', 'invalid dump configuration', 'Fix the `mydumpers` block named in the message (consistency: auto|flush|lock|snapshot|none; threads >= 1; rows >= 0).'),

  // ---- load unit (34xxx) ------------------------------------------------------------------------------
  ErrLoadTargetUnreachable: def(34001, 'load-unit', 'downstream', 'the target database is unreachable', 'Check that the target database is running and `target-database` is correct; the load resumes from its checkpoint.', { retryable: true }),
  ErrLoadTableMismatch: def(34002, 'load-unit', 'downstream', 'an existing target table is incompatible with the source table', 'Fix the column named in the message: the target table needs every source column (same type) and every extract-* column; an extra target column needs to be nullable, have a DEFAULT, or be AUTO_INCREMENT or generated. Or drop the target table (the full phase creates it), or route the table elsewhere.'),
  ErrLoadExecFailed: def(34003, 'load-unit', 'downstream', 'writing rows to the target failed', 'Check the message and the target database; with `on-duplicate: error` a row already present in the target stops the load.'),
  ErrLoadCheckpoint: def(34004, 'load-unit', 'downstream', 'reading or writing the load checkpoint failed', 'Check the target meta-schema tables (`<meta-schema>.<task>_load_checkpoint`).', { retryable: true }),
  ErrLoadCreateTable: def(34005, 'load-unit', 'downstream', 'creating a target schema or table failed', 'Check the target user\'s CREATE privilege and the table definition in the message.'),
  ErrLoadDumpDir: def(34006, 'load-unit', 'internal', 'the dump directory is missing or malformed', 'Point the loader `dir` at a directory written by task-mode dump (with a `metadata` file), or run a full task instead.'),
  ErrLoadDuplicateEntry: def(34007, 'load-unit', 'downstream', 'a row already exists in the target (on-duplicate: error)', 'Remove the conflicting rows from the target, or set `on-duplicate: replace` / `ignore` in the loader config.'),
  ErrLoadAddIndex: def(34008, 'load-unit', 'downstream', 'adding the deferred secondary keys to a loaded target table failed', 'Check the message (often the target tmpdir is out of space for the index sort, or a lock wait timed out); resume-task adds the missing keys again, or run the ALTER TABLE in the message by hand and resume.'),
  ErrLoadTableChangedOnResume: def(34101, 'load-unit', 'downstream', 'a source table changed structure while the full phase was stopped, and its target table holds rows this copy did not write', 'The table is copied again only when its target table holds just this copy\'s rows. Drop the target table named in the message (the other writers must then write their rows again), then resume-task: it is re-created with the new structure and copied again.'),

  // ---- sync unit (36xxx) ---------------------------------------------------------------------------------
  // (incremental issue adds its codes here)
  ErrSyncDDLExecFailed: def(36001, 'sync-unit', 'downstream', 'the target rejected a DDL statement', 'Fix the target (or the DDL) and resume the task; the failing statement and binlog position are in the message. `dmctl binlog skip|replace` can skip or replace it.'),
  ErrSyncDMLExecFailed: def(36002, 'sync-unit', 'downstream', 'the target rejected a DML statement', 'Check that the target table structure matches the upstream one (columns, keys); fix it and resume the task.'),
  ErrSyncTargetRetryExhausted: def(36003, 'sync-unit', 'downstream', 'the target kept failing with a retryable error', 'Check that the target database is up and writable; the task resumes automatically from its checkpoint.', { retryable: true }),
  ErrSyncNoStartPosition: def(36004, 'sync-unit', 'internal', 'no position to start incremental replication from', 'Set `meta` (binlog-name/binlog-pos or binlog-gtid) for the source in the task config, or use task-mode all.'),
  ErrSyncEventFilterError: def(36005, 'sync-unit', 'upstream', 'a binlog event matched an event filter rule with action Error', 'Change the `filters` rule or the upstream statement, then resume the task.'),
  ErrSyncUnitState: def(36006, 'sync-unit', 'internal', 'sync unit used in the wrong state', 'Call init() before process(), and do not use the unit after close().'),
  ErrSyncReaderFailed: def(36007, 'sync-unit', 'upstream', 'the binlog stream ended with an error', 'See the cause; connection errors are retried automatically, a purged position needs a new full migration.', { retryable: true }),
  ErrSyncDMLDuplicateEntry: def(36701, 'sync-unit', 'downstream', 'a replicated INSERT (or key-changing UPDATE) hit a row only the target has: duplicate entry for a primary or unique key', 'The target holds a row the source does not have at this position (written to the target outside DM.ts, or left by an earlier run). Delete or fix that target row and `resume-task`; or, to overwrite it, set `safe-mode: true` in the task\'s syncer config and resume; or `dmctl binlog skip <task>` to skip the transaction named in the message.'),

  // ---- sync unit: shard DDL coordination, worker side (36101-36149) ------------------------------------
  ErrSyncShardDDLWrongSequence: def(36101, 'sync-unit', 'upstream', 'shard-mode pessimistic: the shard tables of one target table reached different DDLs', 'Every shard table routed to one target table must get the same DDLs in the same order. Run the missing DDLs on the shards that lack them (or `dmctl binlog skip|replace` the odd one), then resume the task; `dmctl shard-ddl-lock` shows what each shard reached.'),
  ErrSyncShardDDLConflict: def(36102, 'sync-unit', 'upstream', 'shard-mode optimistic: a shard DDL is incompatible with the merged table (conflict detected by the lock keeper)', 'Make the shards compatible again (e.g. run the same DDL on every shard), or resolve by hand: `dmctl shard-ddl-lock unlock <lock-id>`, `dmctl binlog-schema update` to correct the tracked structure, or `dmctl binlog skip|replace <task>` for this DDL; then resume the task. See docs/shard-merge.md.'),
  ErrSyncShardUnsupportedDDL: def(36103, 'sync-unit', 'upstream', 'a DDL that shard merge cannot coordinate (RENAME TABLE of a shard table)', 'Renaming a shard table is not supported with shard-mode (as in DM). Skip it with `dmctl binlog skip <task>` (and route the new name), or replace it with `dmctl binlog replace`, then resume.'),
  ErrSyncShardHoldTooLarge: def(36104, 'sync-unit', 'upstream', 'shard mode: no disk space left for the rows held back while waiting for the other shards to reach a DDL (pessimistic, or optimistic behind a column rename in non-strict mode)', 'The rows written to the shards that already reached the DDL are held back until every shard reached it: in memory up to 64 MiB, beyond in a spill file (in the dm-worker\'s temporary directory, TMPDIR) that may grow to 256 GiB while its file system keeps 1 GiB free. Free disk space there (or point TMPDIR of the dm-worker to a larger file system and restart it), run the DDL on the remaining shards (`dmctl shard-ddl-lock` lists them) or unlock the lock by hand, then resume the task: the held rows are read again from the binlog.'),
  ErrSyncShardCoordination: def(36105, 'sync-unit', 'internal', 'shard DDL coordination through etcd failed (info, operation or source tables)', 'Check that the dm-masters (etcd) are reachable from the dm-worker; the task resumes automatically.', { retryable: true }),
  ErrSyncShardTableList: def(36106, 'sync-unit', 'upstream', 'cannot list the shard tables of the source', 'Check that the source is reachable and that the task user may read information_schema; the task resumes automatically.', { retryable: true }),
  ErrSyncDDLSession: def(36401, 'sync-unit', 'downstream', "the target rejected the upstream session of a DDL (its sql_mode, time_zone or timestamp)", "A named time_zone needs the target's time zone tables (load them with mysql_tzinfo_to_sql); a sql_mode the target does not know needs a target of the same flavor and version. `dmctl binlog replace` runs replacement statements under DM.ts's own session."),

  // ---- sync unit: online DDL, gh-ost / pt-osc (36201-36249; docs/online-ddl.md) ----------------------------
  ErrSyncOnlineDDLMeta: def(36201, 'sync-unit', 'downstream', 'the online-DDL record of a shadow table in the target meta schema cannot be read', 'The `ddls` column of `<meta-schema>.<task>_onlineddl` is not the JSON DM.ts writes. Fix or delete that row (then apply the online change\'s ALTER to the target table by hand) and resume the task.'),
  ErrSyncOnlineDDLRenameToShadow: def(36202, 'sync-unit', 'upstream', 'an upstream table was renamed to a name the shadow-table-rules take for an online schema change\'s shadow table', 'Such a rename is not part of a gh-ost / pt-osc change. If your tool names its tables differently, set `shadow-table-rules` / `trash-table-rules` to match it; else `dmctl binlog skip` the statement (and apply its effect by hand) or `online-ddl: false`.'),
  ErrSyncOnlineDDLRenameShadow: def(36203, 'sync-unit', 'upstream', 'a shadow or trash table of an online schema change was renamed to another shadow table', 'Only the cut-over (shadow table renamed to the real table) and renames to trash tables are understood. Check `shadow-table-rules` / `trash-table-rules`; `dmctl binlog skip` the statement and apply its effect by hand.'),
  ErrSyncOnlineDDLNoRecord: def(36204, 'sync-unit', 'upstream', 'the cut-over of an online schema change came with no recorded ALTER for its shadow table', 'The change started before the task\'s start position (or its record was removed), so DM.ts does not know the ALTER. Apply the ALTER of the online change to the target table by hand, then `dmctl binlog skip <task>` the RENAME and resume.'),
  ErrSyncOnlineDDLRuleMismatch: def(36205, 'sync-unit', 'upstream', 'a RENAME swapping a table looks like an online schema change cut-over but only one side matches the shadow / trash table rules', 'Set `shadow-table-rules` and `trash-table-rules` so that both the shadow table and the trash table of your tool match (the message names the one that does not), then resume the task.'),
  ErrSyncOnlineDDLCombine: def(36206, 'sync-unit', 'upstream', 'an online schema change cut-over cannot be applied as one statement', 'DM.ts applies a cut-over as one DDL: several recorded ALTER TABLEs are joined into one, other mixes are refused. Apply the statements in the message to the target by hand, then `dmctl binlog skip <task>` the RENAME and resume.'),
  // ---- continuous validator (363xx, sync-unit class) --------------------------------------------------------
  ErrValidatorPersistData: def(36301, 'sync-unit', 'downstream', 'the continuous validator could not save its state in the target meta schema', 'Check that the target is up and the task user may write `<meta-schema>.<task>_validator_*`; the validator retries at its next save (every checkpoint flush and `meta-flush-interval`).', { retryable: true }),
  ErrValidatorLoadPersistedData: def(36302, 'sync-unit', 'downstream', 'the continuous validator could not read its saved state from the target meta schema', 'Check that the target is up and the `<meta-schema>.<task>_validator_*` tables are readable, then `dmctl validation start <task>` again.', { retryable: true }),
  ErrValidatorTooMuchPending: def(36303, 'sync-unit', 'internal', 'the continuous validator holds more unverified rows than max-pending-row-count or max-pending-row-size allow, and stopped', 'The target lags or differs a lot: check `dmctl validation show-error` and the target, raise `max-pending-row-count` / `max-pending-row-size` in the task\'s validator config, then `dmctl validation start <task>`.'),
  ErrValidatorNotFound: def(36304, 'sync-unit', 'internal', 'the task has no continuous validator on this source (no sync unit: task-mode full, dump or load; or the subtask is not running here)', 'Validation follows the sync unit: run it on a task with task-mode all, incremental or load&sync; check the task name with `dmctl query-status`.'),
  ErrValidatorStartTime: def(36305, 'sync-unit', 'internal', 'validation --start-time is not a time, or lies in the past', 'The validator checks the changes the sync unit applies while it runs; it cannot re-read changes already applied. Give a --start-time in the future (changes committed upstream at or after it are validated), or omit it; check the rows already applied with `dmctl check-data <task>`.'),
  ErrValidatorQuery: def(36306, 'sync-unit', 'downstream', 'the continuous validator could not read rows back from the target', 'Check that the target is up and the task user may SELECT the target tables; the validator retries the rows at the next validate-interval.', { retryable: true }),
  ErrValidatorBadRequest: def(36307, 'sync-unit', 'internal', 'a validation request has a bad argument (mode, error id, cut-over position)', 'Use `--mode full|fast`, an error id shown by `dmctl validation show-error`, or a cut-over position as `(mysql-bin.000001, 4)` / a GTID set.'),

  // ---- dm-master (38xxx) -----------------------------------------------------------------------------
  ErrMasterNotLeader: def(38001, 'dm-master', 'internal', 'this dm-master is not the leader', 'The request is forwarded to the leader automatically; if no leader exists, wait for the election or check the masters.', { retryable: true }),
  ErrMasterNoLeader: def(38002, 'dm-master', 'internal', 'no dm-master leader elected', 'Wait a few seconds for the election; check that a majority of masters (etcd members) is up.', { retryable: true }),
  ErrMasterSourceExists: def(38003, 'dm-master', 'internal', 'a source with this source-id already exists', 'Use `operate-source update` to change it, or choose another source-id.'),
  ErrMasterSourceNotFound: def(38004, 'dm-master', 'internal', 'source not found', 'Create the source first with `operate-source create source.yaml`; `operate-source show` lists the sources.'),
  ErrMasterTaskExists: def(38005, 'dm-master', 'internal', 'a task with this name already exists', 'Stop the task first (`stop-task`) or choose another task name.'),
  ErrMasterTaskNotFound: def(38006, 'dm-master', 'internal', 'task not found', 'Check the task name; `query-status` lists the tasks.'),
  ErrMasterWorkerNotFound: def(38007, 'dm-master', 'internal', 'dm-worker not found', 'Check the worker name; `list-member --worker` lists the workers.'),
  ErrMasterInvalidRequest: def(38008, 'dm-master', 'internal', 'invalid request', 'Fix the request arguments named in the message.'),
  ErrMasterSourceHasTasks: def(38009, 'dm-master', 'internal', 'the source still has tasks', 'Stop the tasks that use this source (`stop-task`) before stopping the source.'),
  ErrMasterForward: def(38010, 'dm-master', 'internal', 'forwarding the request to the leader failed', 'Retry; check that the leader dm-master is reachable from this master.', { retryable: true }),
  ErrMasterEtcdBinaryMissing: def(38011, 'dm-master', 'internal', 'the etcd binary is not installed', 'Install it with `apt-get install -y etcd-server`, or run an external etcd cluster and set `etcd-endpoints`.'),
  ErrMasterEtcdExited: def(38012, 'dm-master', 'internal', 'the embedded etcd member exited and could not be restarted', 'Check the etcd log under data-dir (etcd.log), the peer/client ports and the data dir, then restart dm-master.'),
  ErrMasterEtcdJoin: def(38013, 'dm-master', 'internal', 'joining the existing etcd cluster failed', 'Check `join` (addresses of running dm-masters) and that their etcd client port (master port + 10, or their etcd-client-addr) is reachable.'),
  ErrMasterConfig: def(38014, 'dm-master', 'internal', 'invalid dm-master configuration', 'Fix the flag or config key named in the message.'),
  ErrMasterEvicted: def(38015, 'dm-master', 'internal', 'this dm-master is evicted from leadership', 'Run `operate-leader cancel-evict` on this master to let it campaign again.', { level: 'low' }),
  ErrMasterWorkerUnreachable: def(38016, 'dm-master', 'internal', 'cannot reach the dm-worker for its status', 'Check that the dm-worker is running and its advertise-addr is reachable from the masters.', { retryable: true }),
  ErrMasterTaskRunning: def(38017, 'dm-master', 'internal', 'the task is running', 'Stop the task first (`stop-task`), then run `start-task --remove-meta` again.'),
  ErrMasterInvalidStartTime: def(38018, 'dm-master', 'internal', 'invalid --start-time', 'Give the time as "2006-01-02 15:04:05" (read in the source\'s time zone), or an ISO time with a zone such as 2006-01-02T15:04:05+08:00.'),
  // shard DDL lock keeper (src/master/shardddl/, shard-ddl-lock): 38101-38149
  ErrMasterLockNotFound: def(38101, 'dm-master', 'internal', 'no shard DDL lock with this ID', 'Check the lock ID with `shard-ddl-lock [task]` (quote it in a shell: it holds backticks); the lock may have been resolved meanwhile.'),
  ErrMasterOwnerNotWaiting: def(38102, 'dm-master', 'internal', 'the owner chosen for the shard DDL lock has not reached the lock\'s DDLs', 'Give as `--owner` a source listed under `synced` by `shard-ddl-lock`, or wait until the owner reaches the DDL.'),
  ErrMasterShardDDLMismatch: def(38103, 'dm-master', 'internal', 'sources of a pessimistic shard DDL lock reached different DDLs', 'Make every shard run the same DDL upstream; or unlock by hand: `shard-ddl-lock unlock <lock-id>` (the owner runs its DDLs, the others skip theirs), then fix the target with `binlog-schema update` / `binlog replace` as needed.'),
  ErrMasterShardDDLConflict: def(38104, 'dm-master', 'internal', 'the DDL of a shard conflicts with the joined structure of the other shards (optimistic shard mode)', 'Run the same change on every shard, or resolve it by hand: `shard-ddl-lock unlock <lock-id> -s <source> -d <db> -t <table> --action skip|exec`, `binlog skip` / `binlog replace`, or `binlog-schema update` then resume-task.'),
  ErrMasterOwnerExecDDL: def(38105, 'dm-master', 'internal', 'the owner of the shard DDL lock did not finish its operation in time', 'Check the owner\'s subtask with `query-status` (it may be paused on an error); run the unlock again, with `--force-remove` to drop the lock anyway.'),
  ErrMasterUnlockInvalid: def(38106, 'dm-master', 'internal', 'shard-ddl-lock unlock was given arguments that do not fit the lock', 'Pessimistic locks take `--owner`, `--force-remove`, `--action exec|skip`; optimistic locks need one `-s source` with `-d db -t table` of the upstream table whose DDL to exec or skip.'),
  ErrMasterKeeperNotStarted: def(38107, 'dm-master', 'internal', 'the shard DDL lock keeper of the leader is not running', 'Retry in a few seconds: the keeper starts with the leadership.', { retryable: true }),
  ErrMasterBinlogSchemaSyncUnsupported: def(38108, 'dm-master', 'internal', 'binlog-schema update --sync (dmctl\'s default: sending the new table structure to the optimistic shard DDL lock) is not supported yet', 'Run `binlog-schema update ... --sync=false`, then resolve the lock with `shard-ddl-lock unlock <lock-id> -s <source> -d <db> -t <table> --action exec|skip` (docs/shard-ddl-locks.md).'),
  ErrMasterBinlogOpNoError: def(38701, 'dm-master', 'internal', 'binlog skip/replace/inject/revert without -b, but the source has no error', 'Without `-b` an operation applies to the event the task is paused on: check `query-status <task>` for the error first. To prepare an operation for an event not reached yet, give its position with `-b file:pos` (the end position of the event\'s transaction, as the error message names it).'),
  ErrMasterSourceFlavorMismatch: def(38501, 'dm-master', 'upstream', 'the `flavor` of the source config does not match the source server', 'Set `flavor` to what the server is (`mariadb` for MariaDB, `mysql` for MySQL), or leave `flavor` out so it is detected.'),
  ErrMasterStartTimeZone: def(38502, 'dm-master', 'upstream', 'cannot read --start-time in the source\'s time zone', 'Make the source reachable (a wall-clock --start-time is read in the upstream\'s time zone), or give the time with its zone, e.g. 2006-01-02T15:04:05+08:00.'),
  // OpenAPI (/api/v1, `openapi: true`): 38951-38999
  ErrOpenAPIInvalidRequest: def(38951, 'dm-master', 'internal', 'the OpenAPI request is not valid', 'Fix the request body or parameters named in the message; the schemas are served at /api/v1/dm.json.'),
  ErrOpenAPIUnsupported: def(38952, 'dm-master', 'internal', 'this OpenAPI field or endpoint is not supported by DM.ts yet', 'Leave the field out (or at the value named in the message), or use dmctl for this operation; docs/openapi.md lists what the OpenAPI supports.'),
  ErrOpenAPINotFound: def(38953, 'dm-master', 'internal', 'no such OpenAPI endpoint', 'Check the method and path; GET /api/v1/dm.json lists the endpoints.'),
  ErrOpenAPIBodyTooLarge: def(38954, 'dm-master', 'internal', 'the OpenAPI request body is larger than the limit', 'Send a smaller body, or raise `rpc-max-request-bytes` of dm-master.'),

  // ---- dm-worker (40xxx) ---------------------------------------------------------------------------------
  ErrWorkerFenced: def(40001, 'dm-worker', 'internal', 'the dm-worker lost its etcd session and stopped all work (fencing)', 'Check the network between the dm-worker and the dm-masters; the worker re-registers and the scheduler rebinds its source automatically.', { retryable: true }),
  ErrWorkerRegister: def(40002, 'dm-worker', 'internal', 'the dm-worker could not register with any dm-master', 'Check `join` (dm-master addresses) and that the masters are running.', { retryable: true }),
  ErrWorkerNameConflict: def(40003, 'dm-worker', 'internal', 'a dm-worker with this name is registered with another address', 'Give each dm-worker a unique `name`, or `offline-member --worker` the old one first.'),
  ErrWorkerSubtaskNotFound: def(40004, 'dm-worker', 'internal', 'subtask not found on this dm-worker', 'Check the task name and the source bound to this worker (`query-status`).'),
  ErrWorkerConfig: def(40005, 'dm-worker', 'internal', 'invalid dm-worker configuration', 'Fix the flag or config key named in the message.'),
  ErrWorkerSubtaskConfig: def(40006, 'dm-worker', 'internal', 'the subtask config stored in etcd cannot be used', 'Stop the task and start it again with a valid task config.'),
  ErrWorkerSourceNotBound: def(40007, 'dm-worker', 'internal', 'a shard DDL record (info, source tables or `done`) was not written: this dm-worker is no longer bound to the source its subtask runs for', 'Nothing to do: the source was moved to another dm-worker (transfer-source, or a rebind after this worker lost its etcd lease), which runs the subtask from its checkpoint; this worker stops its copy. `list-member --worker` shows the bindings.'),
  ErrWorkerNotPausedStage: def(40301, 'dm-worker', 'internal', 'binlog-schema update/delete need the subtask to be Paused', 'Run `dmctl pause-task -s <source> <task>` first, then the binlog-schema command, then `dmctl resume-task -s <source> <task>`.'),
  ErrWorkerOperSyncUnitOnly: def(40302, 'dm-worker', 'internal', 'the subtask has no sync unit, so it tracks no table structures', 'binlog-schema applies only to tasks with `task-mode: all` or `incremental`.'),

  // ---- schema tracker, by hand (44xxx) ---------------------------------------------------------------------
  ErrSchemaTrackerNoCheckpoint: def(44301, 'schema-tracker', 'downstream', 'the sync unit has not written a checkpoint yet, so there are no tracked table structures to show or change', 'Wait until `query-status` shows the subtask in unit Sync with a checkpoint (the sync unit writes its first checkpoint when it starts), then pause the task and run the command again.'),
  ErrSchemaTrackerTableNotTracked: def(44302, 'schema-tracker', 'internal', 'the table is not tracked by the subtask', 'Give the upstream database and table names (before routing, same letter case); `binlog-schema update` adds a structure for a table that is not tracked.'),
  ErrSchemaTrackerTableUnknown: def(44303, 'schema-tracker', 'internal', 'the structure of the table is unknown: a DDL on it could not be tracked', 'Set the structure the table has at the checkpoint with `dmctl binlog-schema update -s <source> <task> <db> <table> <create-table.sql>` (or `--from-source` when the upstream table has not changed since), then resume the task.'),
  ErrSchemaTrackerInvalidCreateTable: def(44304, 'schema-tracker', 'internal', 'the given schema is not one CREATE TABLE statement with a column list that DM.ts can parse', 'Give a file holding one `CREATE TABLE` statement (as `SHOW CREATE TABLE` prints it) for the table.'),
  ErrSchemaTrackerFetchTable: def(44305, 'schema-tracker', 'not-set', 'cannot read the structure of the table from the source or target database', 'Check that the table exists in that database (for --from-target: the table the source table is routed to) and that the task\'s user may read information_schema.'),
  ErrSchemaTrackerCorrupt: def(44306, 'schema-tracker', 'downstream', 'the tracked structures stored with the checkpoint cannot be read', 'The `table_info` column of `<meta-schema>.<task>_syncer_checkpoint` was changed by hand or truncated: restore it, or stop the task with --remove-meta and start it again.'),

  // ---- dmctl (42xxx) --------------------------------------------------------------------------------------
  ErrCtlInvalidArgs: def(42001, 'dmctl', 'internal', 'invalid or missing command arguments', 'Run `dmctl <command> --help` for the usage of the command.'),
  ErrCtlMasterUnreachable: def(42002, 'dmctl', 'internal', 'no dm-master could be reached', 'Check `--master-addr` (comma-separated host:port list) and that at least one dm-master is running.', { retryable: true }),
  ErrCtlFileRead: def(42003, 'dmctl', 'internal', 'cannot read the file given to dmctl', 'Check the path and the file permissions.'),
  ErrCtlNotImplemented: def(42004, 'dmctl', 'internal', 'this dmctl command is not implemented yet', 'See docs/dmctl.md for the commands that are available.'),
  ErrCtlRpcFailed: def(42005, 'dmctl', 'internal', 'the request to dm-master failed', 'Check the dm-master logs; retry the command.'),
  // config export / import / task-template (42101-42149)
  ErrCtlConfigDirNotFound: def(42101, 'dmctl', 'internal', 'the directory given to `config import` does not exist', 'Give the directory `config export` wrote (`-d dir`; default ./configs), holding sources/*.yaml and tasks/*.yaml.'),
  ErrCtlConfigExport: def(42102, 'dmctl', 'internal', 'cannot write the exported configs to the directory', 'Check that the directory (`-d dir`) can be created and written by this user.'),
  ErrCtlConfigImport: def(42103, 'dmctl', 'internal', 'a source or task of the directory could not be imported', 'Fix the file named in the message (the cause follows it), then run `config import` again: what was already imported is kept and skipped.'),

  // ---- scheduler / ha (46xxx) ------------------------------------------------------------------------------
  ErrSchedulerMemberOnline: def(46001, 'scheduler', 'internal', 'the member is still running', 'Stop the dm-worker or dm-master process first; only a stopped member can be taken offline.'),
  ErrSchedulerWorkerNotFree: def(46002, 'scheduler', 'internal', 'the target dm-worker is not free', 'Choose a dm-worker that is online and has no source bound (`list-member --worker`).'),
  ErrSchedulerSourceNotBound: def(46003, 'scheduler', 'internal', 'the source is not bound to any dm-worker', 'Start a free dm-worker; the scheduler binds it automatically.'),
  ErrSchedulerMasterNotFound: def(46004, 'scheduler', 'internal', 'dm-master member not found', 'Check the name with `list-member --master`.'),

  // ---- rpc edge (49xxx) -------------------------------------------------------------------------------------
  ErrRpcUnavailable: def(49001, 'functional', 'internal', 'the dm-master or dm-worker called is unreachable or shutting down', 'Check that the process is running and the address is right; the call can be retried.', { retryable: true }),
  ErrRpcFailed: def(49002, 'functional', 'internal', 'the remote call failed', 'Check the message and the logs of the dm-master or dm-worker called.'),
  ErrRpcTLSConfig: def(49003, 'functional', 'internal', 'TLS files cannot be read', 'Check `ssl-ca`, `ssl-cert` and `ssl-key`: the files must exist and be PEM encoded.'),
  ErrRpcListen: def(49004, 'functional', 'internal', 'cannot listen on the RPC address', 'Check that the address is free (another process may use the port) and that the host is a local address.'),
  ErrRpcInvalidArgument: def(49005, 'functional', 'internal', 'the request was rejected as invalid by the remote side', 'Check the arguments of the command.'),
  ErrRpcUnauthenticated: def(49101, 'functional', 'internal', 'the call carries no valid credential (bearer token or client certificate)', 'Pass an admin or read token (`dmctl --token-file`, or `Authorization: Bearer <token>`) listed in the `auth-token-file` of the dm-master / dm-worker called, or a client certificate signed by its `ssl-ca` whose CN is in `cert-allowed-cn`.'),
  ErrRpcPermissionDenied: def(49102, 'functional', 'internal', 'the credential is valid but its role does not allow this call', 'A `read` token may only query (status, members, metrics); use a token with role `admin` for this command.'),
  ErrRpcCertNotAllowed: def(49103, 'functional', 'internal', 'the client certificate\'s common name is not in `cert-allowed-cn`', 'Use a client certificate whose CN is listed in `cert-allowed-cn` of the dm-master / dm-worker called, or add the CN to that list.'),
  ErrRpcRequestTooLarge: def(49104, 'functional', 'internal', 'the request is larger than the server accepts', 'Send a smaller request (a task file is rarely over a few hundred KiB) or raise `rpc-max-request-bytes` on the dm-master / dm-worker.'),

  // ---- etcd / store (48xxx) ----------------------------------------------------------------------------------
  ErrEtcdUnavailable: def(48001, 'ha', 'internal', 'etcd is unavailable', 'Check that a majority of the etcd members (dm-masters) is up and reachable.', { retryable: true }),
  ErrEtcdFenced: def(48002, 'ha', 'internal', 'write rejected: this dm-master is no longer the leader', 'The request is retried on the new leader; if it persists, check the election with `list-member --leader`.', { retryable: true }),
  ErrEtcdBadRecord: def(48003, 'ha', 'internal', 'a record stored in etcd cannot be decoded', 'The key named in the message holds a value DM.ts cannot read; fix or delete it with etcdctl.'),
  ErrEtcdTxnConflict: def(48004, 'ha', 'internal', 'the etcd transaction conflicted with a concurrent change', 'Retry the operation.', { retryable: true }),
  ErrEtcdAuthFailed: def(48005, 'ha', 'internal', 'etcd refused the configured etcd-user / etcd-password', 'Give every dm-master and dm-worker of the cluster the same `etcd-user` and `etcd-password` (the password may be `dmctl encrypt` text, decrypted with `secret-key-path`); to change the password, run `etcdctl user passwd` first; see docs/security.md.'),
} as const satisfies Record<string, CodeDef>;

export type ErrorCodeName = keyof typeof CODES;

export function codeByNumber(code: number): [ErrorCodeName, CodeDef] | undefined {
  for (const [name, d] of Object.entries(CODES)) if (d.code === code) return [name as ErrorCodeName, d];
  return undefined;
}
