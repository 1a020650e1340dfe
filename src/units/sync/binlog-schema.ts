/**
 * `dmctl binlog-schema list | update | delete` on one subtask (DM's OperateSchema): show, replace
 * or remove the structure the schema tracker holds for one upstream table.
 *
 * The sync unit decodes row images of a source without binlog_row_metadata=FULL with the tracked
 * structure, and takes key columns from it in all cases. That structure is persisted with the
 * sync checkpoint (src/units/sync/schema-store.ts) and imported when the sync unit resumes, so
 * `update` and `delete` rewrite the persisted snapshot while the subtask is Paused and the resumed
 * sync unit decodes with it. `list` shows the structure of the running sync unit's reader when
 * there is one (as of the last event it handed over), else the persisted one.
 *
 * The caller (the worker's subtask) checks the stage; this module only reads and writes.
 */
import { DMError } from '../../errors/index.js';
import { SchemaTracker } from '../../binlog/schema-tracker.js';
import { tableFromCreateOffThread } from '../../binlog/create-table-thread.js';
import type { Flavor } from '../../binlog/position.js';
import type { TableName } from '../../filter/index.js';
import type { SchemaStore, SchemaStoreConn } from './schema-store.js';

export type SchemaOpName = 'get' | 'set' | 'remove';

export interface SchemaOpRequest {
  op: SchemaOpName;
  /** Upstream database and table (before routing). */
  database: string;
  table: string;
  /** `set`: a CREATE TABLE statement (the table name in it is ignored). */
  schema?: string;
  /** `set`: take the structure from the upstream table. */
  fromSource?: boolean;
  /** `set`: take the structure from the target table the upstream table is routed to. */
  fromTarget?: boolean;
  /**
   * `set --sync` (dmctl's default, as DM's): send the new structure to the optimistic shard DDL
   * lock. Only meaningful for `shard-mode: optimistic` (DM ignores it otherwise); DM.ts does not
   * send it yet, so there it is refused (ErrMasterBinlogSchemaSyncUnsupported), see deferred-sync-unit.ts.
   */
  sync?: boolean;
}

/** A connection the operation opens and closes itself. */
export type OpenConn = () => Promise<SchemaStoreConn & { end(): Promise<void> }>;

export interface SchemaOpContext {
  store: SchemaStore;
  flavor?: Flavor;
  /** Opens a connection to the target (where the checkpoint is). */
  target: OpenConn;
  /** Opens a connection to the upstream (`--from-source`). */
  source: OpenConn;
  /** The target table an upstream table is routed to, and the extract columns routing adds there (`--from-target`). */
  route: (schema: string, table: string) => TableName;
  extractColumns: readonly string[];
  /** The running reader's snapshot (SchemaTracker.exportSchemas()), when the sync unit is running. */
  live?: () => string | undefined;
}

function parseSnapshot(json: string | undefined, flavor: Flavor | undefined): SchemaTracker {
  const t = new SchemaTracker(flavor ? { flavor } : {});
  if (json === undefined) return t;
  try {
    t.importSchemas(json);
  } catch (e) {
    throw new DMError('ErrSchemaTrackerCorrupt', 'the tracked structures stored with the checkpoint are not valid JSON', { cause: e });
  }
  return t;
}

function name(db: string, table: string): string {
  return `\`${db.replace(/`/g, '``')}\`.\`${table.replace(/`/g, '``')}\``;
}

async function withConn<T>(open: OpenConn, fn: (c: SchemaStoreConn) => Promise<T>): Promise<T> {
  const c = await open();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Read `db`.`table` from a database's information_schema into a fresh tracker (the reader's own
 * seeding path, so types and charsets are as exact as at a task start).
 */
async function fetchTable(open: OpenConn, flavor: Flavor | undefined, db: string, table: string, where: string): Promise<SchemaTracker> {
  const t = new SchemaTracker(flavor ? { flavor } : {});
  let n: number;
  try {
    n = await withConn(open, (c) => t.seedFromSource(c as Parameters<SchemaTracker['seedFromSource']>[0], undefined, [{ schema: db, table }]));
  } catch (e) {
    throw new DMError('ErrSchemaTrackerFetchTable', `cannot read the structure of ${name(db, table)} from the ${where}`, { cause: e });
  }
  if (n === 0) throw new DMError('ErrSchemaTrackerFetchTable', `table ${name(db, table)} does not exist in the ${where}`);
  return t;
}

/**
 * Run one operation. Returns the reply message: the CREATE TABLE statement for `get`, '' otherwise.
 */
export async function operateTrackedSchema(ctx: SchemaOpContext, req: SchemaOpRequest): Promise<string> {
  const { database: db, table } = req;
  if (!db || !table) throw new DMError('ErrMasterInvalidRequest', 'binlog-schema needs a database and a table');
  if (req.op === 'get') {
    const live = ctx.live?.();
    const json = live ?? (await withConn(ctx.target, (c) => ctx.store.load(c))).json;
    const sql = parseSnapshot(json, ctx.flavor).createTableSQL(db, table);
    if (sql === undefined) throw new DMError('ErrSchemaTrackerTableNotTracked', `table ${name(db, table)} is not tracked`);
    if (sql === 'unknown') throw new DMError('ErrSchemaTrackerTableUnknown', `the structure of ${name(db, table)} is unknown: a DDL on it could not be tracked`);
    return sql;
  }
  if (req.op === 'set') {
    const given = [req.schema ? 1 : 0, req.fromSource ? 1 : 0, req.fromTarget ? 1 : 0].reduce((a, b) => a + b, 0);
    if (given !== 1) throw new DMError('ErrMasterInvalidRequest', 'binlog-schema update needs exactly one of: a schema file, --from-source, --from-target');
  }
  return withConn(ctx.target, async (conn) => {
    const stored = await ctx.store.load(conn);
    const tracker = parseSnapshot(stored.json, ctx.flavor);
    if (req.op === 'remove') {
      if (!tracker.dropTable(db, table)) throw new DMError('ErrSchemaTrackerTableNotTracked', `table ${name(db, table)} is not tracked`);
    } else if (req.fromSource) {
      const st = (await fetchTable(ctx.source, ctx.flavor, db, table, 'source')).tableState(db, table);
      if (st === undefined || st === 'unknown') throw new DMError('ErrSchemaTrackerFetchTable', `table ${name(db, table)} does not exist in the source`);
      tracker.putTableState(db, table, st);
    } else if (req.fromTarget) {
      const to = ctx.route(db, table);
      const st = (await fetchTable(ctx.target, ctx.flavor, to.schema, to.table, 'target')).tableState(to.schema, to.table);
      if (st === undefined || st === 'unknown') throw new DMError('ErrSchemaTrackerFetchTable', `table ${name(to.schema, to.table)} does not exist in the target`);
      tracker.putTableState(db, table, { json: withoutColumns(st.json, ctx.extractColumns) });
    } else {
      // parsed on a thread: loading the SQL parser must not block the worker's keepalive
      const st = await tableFromCreateOffThread({ ...(ctx.flavor ? { flavor: ctx.flavor } : {}), ...(stored.json !== undefined ? { snapshot: stored.json } : {}), schema: db, table, sql: req.schema ?? '' });
      tracker.putTableState(db, table, st);
    }
    await ctx.store.save(conn, tracker.exportSchemas());
    return '';
  });
}

/** Drop the columns routing adds in the target (extract-table/schema/source): upstream rows do not have them. */
function withoutColumns(json: string, drop: readonly string[]): string {
  if (drop.length === 0) return json;
  const lower = new Set(drop.map((c) => c.toLowerCase()));
  const st = JSON.parse(json) as { columns: { name: string }[]; indexes: { columns: string[] }[] };
  st.columns = st.columns.filter((c) => !lower.has(c.name.toLowerCase()));
  st.indexes = st.indexes.filter((i) => i.columns.every((c) => !lower.has(c.toLowerCase())));
  return JSON.stringify(st);
}
