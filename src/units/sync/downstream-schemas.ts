/**
 * Where the binlog reader's schema tracker starts when nothing recorded the table structures at
 * the start position (an incremental task's `meta` or `--start-time`, a checkpoint written
 * without them) and the source does not write `binlog_row_metadata=FULL`: as DM's schema
 * tracker does, from the DOWNSTREAM tables the upstream tables are routed to. They have the
 * structure of the start position when the target was in step with it; the source's current
 * information_schema does not when DDL ran on the source since.
 *
 * Per upstream table (selected by the block-allow list, listed from the source): the routed
 * target table's columns and keys, under the upstream name, without the route's extract-*
 * columns and without other target-only columns (names the source table does not have). An
 * upstream table whose target table does not exist keeps the source's current structure (rows of
 * it would fail on the target anyway, and a CREATE TABLE in the stream replaces it).
 *
 * Limitation: a column the source dropped after the start position is not in the source now, so
 * it is taken for a target-only column; the rows before the DROP then have one column more than
 * the tracked structure, which pauses the task with ErrBinlogSchemaTracker (never a wrong
 * decoding). `binlog_row_metadata=FULL` avoids all of this.
 */
import type { Pool } from 'mysql2/promise';
import type { Logger } from 'pino';
import { SchemaTracker, type Queryable } from '../../binlog/index.js';
import type { SyncFilters } from './filters.js';

/** SchemaTracker's export format (exportSchemas/importSchemas), as far as it is read here. */
interface Exported {
  version: number;
  dbCharsets: Record<string, string>;
  tables: ExportedTable[];
}
interface ExportedTable {
  schema: string;
  table: string;
  columns?: { name: string }[];
  indexes?: { name: string; columns: string[] }[];
  unknown?: true;
}

/** Tables per information_schema query on the target. */
const TARGET_BATCH = 500;

function key(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

export async function downstreamSchemas(
  source: Queryable,
  target: Pool,
  filters: Pick<SyncFilters, 'includeTable' | 'route'>,
  log: Logger,
): Promise<string> {
  const up = new SchemaTracker();
  await up.seedFromSource(source, (s, t) => filters.includeTable(s, t));
  const upExp = JSON.parse(up.exportSchemas()) as Exported;
  const routed = new Map<string, { schema: string; table: string }>();
  for (const t of upExp.tables) {
    const r = filters.route(t.schema, t.table);
    routed.set(key(r.schema, r.table), { schema: r.schema, table: r.table });
  }
  const down = new SchemaTracker();
  const targets = [...routed.values()];
  if (targets.length > 0) {
    const conn = await target.getConnection();
    try {
      for (let i = 0; i < targets.length; i += TARGET_BATCH)
        await down.seedFromSource(conn, undefined, targets.slice(i, i + TARGET_BATCH));
    } finally {
      conn.release();
    }
  }
  const downByName = new Map(
    (JSON.parse(down.exportSchemas()) as Exported).tables.map((t) => [key(t.schema, t.table), t]),
  );
  const fromSource: string[] = [];
  const tables = upExp.tables.map((t): ExportedTable => {
    const r = filters.route(t.schema, t.table);
    const d = downByName.get(key(r.schema, r.table));
    if (!d?.columns || !t.columns) {
      fromSource.push(`${t.schema}.${t.table}`);
      return t;
    }
    const extracted = new Set(r.extracted.map((x) => x.column.toLowerCase()));
    const upstreamNames = new Set(t.columns.map((c) => c.name.toLowerCase()));
    const keep = (n: string): boolean =>
      !extracted.has(n.toLowerCase()) && upstreamNames.has(n.toLowerCase());
    const dropped = d.columns.filter((c) => !keep(c.name)).map((c) => c.name);
    if (dropped.length > 0)
      log.info(
        { table: `${t.schema}.${t.table}`, target: `${r.schema}.${r.table}`, targetOnlyColumns: dropped },
        'downstream structure: target-only columns left out',
      );
    const indexes = (d.indexes ?? [])
      .map((ix) => ({ ...ix, columns: ix.columns.filter(keep) }))
      .filter((ix) => ix.columns.length > 0);
    return {
      ...d,
      schema: t.schema,
      table: t.table,
      columns: d.columns.filter((c) => keep(c.name)),
      indexes,
    };
  });
  if (fromSource.length > 0)
    log.warn(
      { tables: fromSource.slice(0, 20), count: fromSource.length },
      'no target table: structure taken from the source as it is now',
    );
  log.info({ tables: tables.length - fromSource.length }, 'schema tracker seeded from the downstream tables');
  return JSON.stringify({ ...upExp, tables });
}
