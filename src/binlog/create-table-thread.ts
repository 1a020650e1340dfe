/**
 * SchemaTracker.setTableFromCreate on a worker thread, for `dmctl binlog-schema update` with a
 * schema file. node-sql-parser takes ~30 MB and, on first use, loads synchronously for long enough
 * (0.5 s idle, seconds on a loaded host) to miss a dm-worker's etcd keepalive and fence the worker;
 * a thread loads it without blocking the worker's event loop, and frees it when done.
 *
 * This file is both the caller's side (tableFromCreateOffThread) and the thread's entry (the same
 * module, started with workerData.kind === KIND), so it resolves the same way from src/ under tsx
 * and from dist/.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CODES, DMError, type ErrorCodeName } from '../errors/index.js';
import type { Flavor } from './position.js';
import { SchemaTracker } from './schema-tracker.js';

const KIND = 'dm-create-table';

interface Input {
  kind: typeof KIND;
  flavor: Flavor | undefined;
  /** exportSchemas() of the tracker the table goes into (database charsets for the defaults). */
  snapshot: string | undefined;
  schema: string;
  table: string;
  sql: string;
}

type Output = { ok: true; json: string } | { ok: false; codeName: string; message: string; cause?: string };

function run(i: Input): Output {
  try {
    const t = new SchemaTracker(i.flavor ? { flavor: i.flavor } : {});
    if (i.snapshot !== undefined) t.importSchemas(i.snapshot);
    t.setTableFromCreate(i.schema, i.table, i.sql);
    const st = t.tableState(i.schema, i.table);
    if (st === undefined || st === 'unknown') return { ok: false, codeName: 'ErrSchemaTrackerInvalidCreateTable', message: 'the statement does not describe the table' };
    return { ok: true, json: st.json };
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : undefined;
    return { ok: false, codeName: e instanceof DMError ? e.codeName : 'ErrInternal', message: e instanceof Error ? e.message : String(e), ...(cause ? { cause } : {}) };
  }
}

if (!isMainThread && (workerData as Partial<Input> | null)?.kind === KIND) {
  parentPort?.postMessage(run(workerData as Input));
}

/**
 * How to start this module on a thread: the file itself when built (dist/*.js); from the sources
 * (*.ts under tsx, whose `--import` hooks do not reach worker threads on Node 20) through a
 * bootstrap that registers tsx's loader in the thread first.
 */
function threadEntry(): [string | URL, { eval?: boolean }] {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return [new URL(self), {}];
  const api = import.meta.resolve('tsx/esm/api');
  return [`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); });`, { eval: true }];
}

/**
 * The tracked state (for SchemaTracker.putTableState) of `schema`.`table` as a CREATE TABLE
 * statement describes it, parsed on a worker thread. Throws the DMError the parse gives
 * (ErrSchemaTrackerInvalidCreateTable for a statement that is not one usable CREATE TABLE).
 */
export async function tableFromCreateOffThread(opts: { flavor?: Flavor; snapshot?: string; schema: string; table: string; sql: string }): Promise<{ json: string }> {
  const input: Input = { kind: KIND, flavor: opts.flavor, snapshot: opts.snapshot, schema: opts.schema, table: opts.table, sql: opts.sql };
  const [entry, how] = threadEntry();
  const w = new Worker(entry, { ...how, workerData: input });
  const out = await new Promise<Output>((resolve, reject) => {
    w.once('message', (m: Output) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`schema parse thread exited with code ${code} before answering`)));
  }).finally(() => void w.terminate());
  if (out.ok) return { json: out.json };
  const codeName: ErrorCodeName = out.codeName in CODES ? (out.codeName as ErrorCodeName) : 'ErrInternal';
  throw new DMError(codeName, out.message, out.cause ? { cause: new Error(out.cause) } : undefined);
}
