import type { Connection } from 'mysql2/promise';
import { DMError } from '../../errors/index.js';
import { classifyMySQLError, closeConnection as closeConn, errnoOf as mysqlErrno, connectSide as openConn, quoteTable } from '../../sql/index.js';
import { markIndexesDone, readPendingIndexes, type DeferredIndexes } from './meta-store.js';
import type { FullSession } from './full-session.js';

/**
 * Secondary indexes are built after the rows, not row by row. A table the load unit creates
 * gets its plain non-unique secondary keys (`KEY ...`) taken out of the upstream CREATE TABLE;
 * they are recorded in `<meta-schema>.<task>_load_index` first and added by one `ALTER TABLE ...
 * ADD KEY ...` per table once every chunk is loaded. InnoDB then builds each index by sorting
 * (one pass) instead of inserting every row into a second B-tree in random key order: measured
 * on the bench's shape, about a quarter less target CPU for the whole load.
 *
 * Kept in the CREATE TABLE (they decide what the load does): PRIMARY and UNIQUE keys (duplicate
 * detection, `on-duplicate`), FULLTEXT/SPATIAL keys (added later they would rebuild the table),
 * a key whose first column is the AUTO_INCREMENT column (InnoDB needs it at CREATE), and every key
 * of a table with FOREIGN KEY constraints. A definition this parser does not recognise line by
 * line is created unchanged. Tables that already existed in the target are never altered.
 */

/** A line of the table body that starts a definition (column, key, constraint, check, period). */
const DEFINITION = /^ {2}(?:`|[A-Z])/;
/** A plain secondary key: `  KEY \`name\` (\`col\`...)...` (MySQL and MariaDB print INDEX as KEY). */
const PLAIN_KEY = /^ {2}KEY `((?:[^`]|``)+)` \(`((?:[^`]|``)+)`/;
const AUTO_INCREMENT_COLUMN = /^ {2}`((?:[^`]|``)+)` .*\bAUTO_INCREMENT\b/;

export interface SplitTable {
  /** The CREATE TABLE without the deferred keys. */
  createSQL: string;
  /** `ADD KEY \`name\` (...)` clauses, in the upstream order. */
  clauses: string[];
}

/** Split a SHOW CREATE TABLE text into the table without its deferrable keys, and those keys. */
export function splitSecondaryKeys(createSQL: string): SplitTable {
  const unchanged = { createSQL, clauses: [] };
  const lines = createSQL.split('\n');
  const end = lines.findIndex((l, i) => i > 0 && l.startsWith(')'));
  if (end < 2 || !/\($/.test(lines[0] ?? '')) return unchanged;
  const body = lines.slice(1, end).map((l) => l.replace(/,$/, ''));
  if (!body.every((l) => DEFINITION.test(l))) return unchanged;
  if (body.some((l) => /^ {2}(?:CONSTRAINT `(?:[^`]|``)+` )?FOREIGN KEY /.test(l))) return unchanged;
  const autoInc = body.map((l) => AUTO_INCREMENT_COLUMN.exec(l)?.[1]).find((c) => c !== undefined);
  const keep: string[] = [];
  const clauses: string[] = [];
  for (const l of body) {
    const m = PLAIN_KEY.exec(l);
    if (m && m[2] !== autoInc) clauses.push(`ADD ${l.trim()}`);
    else keep.push(l);
  }
  if (clauses.length === 0) return unchanged;
  return { createSQL: [lines[0], keep.join(',\n'), ...lines.slice(end)].join('\n'), clauses };
}

/** The index name of an `ADD KEY \`name\` ...` clause. */
export function clauseIndexName(clause: string): string {
  const m = /^ADD KEY `((?:[^`]|``)+)`/.exec(clause);
  if (!m?.[1]) throw new DMError('ErrInternal', `not an ADD KEY clause: ${clause.slice(0, 80)}`);
  return m[1].replace(/``/g, '`');
}

async function indexNames(conn: Connection, schema: string, table: string): Promise<Set<string>> {
  const [rows] = await conn.query(
    'SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table],
  );
  return new Set((rows as { n: string }[]).map((r) => r.n.toLowerCase()));
}

/**
 * Add the recorded keys that the target table does not have yet (one ALTER TABLE for all of them,
 * so InnoDB reads the table once). Safe to repeat: after a crash mid-ALTER (atomic in InnoDB)
 * the keys are either all there or all missing; another loader adding the same key
 * concurrently (ER_DUP_KEYNAME) counts as done.
 */
export async function addMissingKeys(conn: Connection, d: DeferredIndexes): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const have = await indexNames(conn, d.schema, d.table);
    const missing = d.clauses.filter((c) => !have.has(clauseIndexName(c).toLowerCase()));
    if (missing.length === 0) return 0;
    try {
      await conn.query(`ALTER TABLE ${quoteTable(d.schema, d.table)} ${missing.join(', ')}`);
      return missing.length;
    } catch (e) {
      if (mysqlErrno(e) === 1061 && attempt < 2) continue;
      throw e;
    }
  }
}

/**
 * Add every pending deferred index of this source's target tables, `pool-size` tables at a time,
 * each on its own target connection; then mark the table done in the meta table. Progress shows
 * the tables being indexed.
 */
export async function addDeferredIndexes(s: FullSession, signal: AbortSignal): Promise<void> {
  const pending = await s.withMeta((c) => readPendingIndexes(c, s.meta, s.cfg.sourceId));
  if (pending.length === 0) return;
  s.progress.indexing(pending.length);
  const queue = [...pending];
  const worker = async (): Promise<void> => {
    let conn: Connection | undefined;
    try {
      for (let d = queue.shift(); d; d = queue.shift()) {
        signal.throwIfAborted();
        const name = `${d.schema}.${d.table}`;
        conn ??= await openConn(s.cfg.target, 'target');
        s.progress.indexStarted(name);
        const t0 = performance.now();
        try {
          const n = await addMissingKeys(conn, d);
          s.log.info(
            { table: name, keys: n, ms: Math.round(performance.now() - t0) },
            'added deferred secondary keys',
          );
        } catch (e) {
          queue.length = 0; // the other slots finish their table and stop
          s.progress.indexFinished(name, false);
          const c = conn;
          conn = undefined;
          await closeConn(c);
          const err = classifyMySQLError(
            e,
            'target',
            `add secondary keys to ${name} (ALTER TABLE ${quoteTable(d.schema, d.table)} ${d.clauses.join(', ')})`,
          );
          throw err.codeName === 'ErrLoadExecFailed'
            ? new DMError('ErrLoadAddIndex', err.message, { cause: e })
            : err;
        }
        await markIndexesDone(conn, s.meta, s.cfg.sourceId, d);
        s.progress.indexFinished(name, true);
      }
    } finally {
      await closeConn(conn);
    }
  };
  // every slot settles (no ALTER left running behind the unit's back), then the first error counts
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(s.cfg.loader.poolSize, pending.length) }, () => worker()),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
