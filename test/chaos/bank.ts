/**
 * The chaos workload on one source, and the invariant the watcher checks on the target.
 *
 * Schema `chaos` on every source:
 *   accounts(id, balance, n)  — `ACCOUNTS` rows, `INITIAL` each: the total never changes;
 *   transfers(id, from_id, to_id, amount) — one row per transfer;
 *   side(id, v, c1.., i1..)   — grows columns and indexes by DDL while rows are inserted;
 *   bulk(id, pad)             — a bigger table, so that the full phase (Load) lasts a while.
 *
 * A transfer is ONE upstream transaction: debit one account (n + 1), credit another (n + 1),
 * insert the transfer row. So in every state a reader may legitimately see, for every account,
 * balance = INITIAL − Σ amount sent + Σ amount received and n = number of its transfers; seeing
 * anything else means part of a transaction is visible without the rest ("half a transaction").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql, { type Connection } from 'mysql2/promise';
import type { ConnOpts, MariaDBServer } from '../helpers/index.js';

export const SCHEMA = 'chaos';
export const ACCOUNTS = 100;
export const INITIAL = 1000;

/** Create the schema and its rows on a fresh source (bulk: rows of ~120 bytes for the Load window). */
export async function setupBank(src: MariaDBServer, bulkRows: number): Promise<void> {
  await src.sql(
    `CREATE DATABASE ${SCHEMA};
     CREATE TABLE ${SCHEMA}.accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, n INT NOT NULL DEFAULT 0);
     CREATE TABLE ${SCHEMA}.transfers (id BIGINT AUTO_INCREMENT PRIMARY KEY, from_id INT NOT NULL, to_id INT NOT NULL, amount INT NOT NULL, KEY (from_id), KEY (to_id));
     CREATE TABLE ${SCHEMA}.side (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64) NOT NULL);
     CREATE TABLE ${SCHEMA}.bulk (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR(120) NOT NULL, KEY (k));
     INSERT INTO ${SCHEMA}.accounts (id, balance) SELECT seq, ${INITIAL} FROM ${SCHEMA}.seq_1_to_${ACCOUNTS};
     INSERT INTO ${SCHEMA}.side (v) SELECT CONCAT('seed ', seq) FROM ${SCHEMA}.seq_1_to_100;`,
  );
  for (let from = 1; from <= bulkRows; from += 50_000) {
    const to = Math.min(bulkRows, from + 49_999);
    await src.sql(
      `INSERT INTO ${SCHEMA}.bulk SELECT seq, seq % 1000, RPAD(MD5(seq), 120, 'x') FROM ${SCHEMA}.seq_${from}_to_${to}`,
    );
  }
}

/** Counters of one source's workload. */
export interface WorkloadStats {
  transfers: number;
  sideRows: number;
  ddls: string[];
  /** Failed attempts (source restarting, deadlock, ...): each rolled back and retried. */
  errors: number;
}

/**
 * Runs on one source until stop(): `writers` transfer loops, one side-table inserter, and a DDL
 * loop (every `ddlEveryMs`: ADD COLUMN, then ADD INDEX on it, alternating; not before `ddlGate`). Every connection
 * reconnects when the source restarts; a failed transaction is rolled back, never half-committed.
 */
export class Workload {
  readonly stats: WorkloadStats = { transfers: 0, sideRows: 0, ddls: [], errors: 0 };
  private on = true;
  private readonly loops: Promise<void>[] = [];
  private readonly wake = new AbortController();

  constructor(
    private readonly conn: () => ConnOpts,
    private readonly opts: {
      writers: number;
      pauseMs: number;
      ddlEveryMs: number;
      seed: number;
      ddlGate?: () => boolean;
    },
  ) {}

  start(): void {
    for (let w = 0; w < this.opts.writers; w++) this.loops.push(this.transferLoop(w));
    this.loops.push(this.sideLoop());
    if (this.opts.ddlEveryMs > 0) this.loops.push(this.ddlLoop());
  }

  async stop(): Promise<WorkloadStats> {
    this.on = false;
    this.wake.abort();
    await Promise.all(this.loops);
    return this.stats;
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => undefined);
  }

  /** Run `fn` on a connection that is reopened after any error (after a rollback attempt). */
  private async withConn(fn: (c: Connection) => Promise<void>, pauseMs: number): Promise<void> {
    let c: Connection | undefined;
    while (this.on) {
      try {
        c ??= await mysql.createConnection({
          ...this.conn(),
          database: SCHEMA,
          multipleStatements: true,
          connectTimeout: 2000,
        });
        await fn(c);
        await this.pause(pauseMs);
      } catch {
        this.stats.errors++;
        if (c) {
          const dead = c;
          c = undefined;
          await dead.query('ROLLBACK').catch(() => undefined);
          dead.destroy();
        }
        await this.pause(200);
      }
    }
    await c?.end().catch(() => undefined);
  }

  private transferLoop(w: number): Promise<void> {
    let x = (this.opts.seed * 7919 + w * 104_729) >>> 0;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
      return (x >>> 8) % n;
    };
    return this.withConn(async (c) => {
      const a = 1 + rnd(ACCOUNTS);
      let b = 1 + rnd(ACCOUNTS - 1);
      if (b >= a) b++;
      const amount = 1 + rnd(100);
      // lower id first: two writers never deadlock on the pair
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const delta = (id: number): number => (id === a ? -amount : amount);
      await c.query(
        `START TRANSACTION;` +
          ` UPDATE accounts SET balance = balance + ${delta(lo)}, n = n + 1 WHERE id = ${lo};` +
          ` UPDATE accounts SET balance = balance + ${delta(hi)}, n = n + 1 WHERE id = ${hi};` +
          ` INSERT INTO transfers (from_id, to_id, amount) VALUES (${a}, ${b}, ${amount});` +
          ` COMMIT`,
      );
      this.stats.transfers++;
    }, this.opts.pauseMs);
  }

  private sideLoop(): Promise<void> {
    return this.withConn(
      async (c) => {
        await c.query(`INSERT INTO side (v) VALUES (CONCAT('row ', NOW(6))), (CONCAT('row ', NOW(6)))`);
        this.stats.sideRows += 2;
      },
      Math.max(20, this.opts.pauseMs * 4),
    );
  }

  private ddlLoop(): Promise<void> {
    let k = 0;
    let first = true;
    return this.withConn(async (c) => {
      if (first || (this.opts.ddlGate && !this.opts.ddlGate())) {
        // the first DDL one period after the start (and after the gate opens), not at once
        first = false;
        return;
      }
      const col = Math.floor(k / 2) + 1;
      const ddl =
        k % 2 === 0
          ? `ALTER TABLE side ADD COLUMN c${col} INT NOT NULL DEFAULT ${col}`
          : `ALTER TABLE side ADD INDEX i${col} (c${col})`;
      await c.query(ddl);
      this.stats.ddls.push(ddl);
      k++;
    }, this.opts.ddlEveryMs);
  }
}

/** One observation of the invariant on a target schema that broke it. */
export interface Violation {
  at: number;
  schema: string;
  what: string;
}

/**
 * Read accounts and transfers of `schema` in one consistent snapshot and return what is wrong
 * ('' when the invariant holds; undefined when the tables are not there yet).
 */
export async function checkInvariant(c: Connection, schema: string): Promise<string | undefined> {
  const db = mysql.escapeId(schema);
  await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  try {
    const [acc] = await c.query(`SELECT id, balance, n FROM ${db}.accounts`);
    const [out] = await c.query(
      `SELECT from_id AS id, COUNT(*) AS c, SUM(amount) AS s FROM ${db}.transfers GROUP BY from_id`,
    );
    const [inc] = await c.query(
      `SELECT to_id AS id, COUNT(*) AS c, SUM(amount) AS s FROM ${db}.transfers GROUP BY to_id`,
    );
    const expect = new Map<number, { balance: number; n: number }>();
    for (let id = 1; id <= ACCOUNTS; id++) expect.set(id, { balance: INITIAL, n: 0 });
    for (const r of out as { id: number; c: number | string; s: number | string }[]) {
      const e = expect.get(Number(r.id));
      if (e) {
        e.balance -= Number(r.s);
        e.n += Number(r.c);
      }
    }
    for (const r of inc as { id: number; c: number | string; s: number | string }[]) {
      const e = expect.get(Number(r.id));
      if (e) {
        e.balance += Number(r.s);
        e.n += Number(r.c);
      }
    }
    const rows = acc as { id: number; balance: number | string; n: number | string }[];
    const problems: string[] = [];
    let total = 0;
    for (const r of rows) total += Number(r.balance);
    if (rows.length !== ACCOUNTS) problems.push(`${rows.length} accounts, expected ${ACCOUNTS}`);
    if (total !== ACCOUNTS * INITIAL) problems.push(`total balance ${total}, expected ${ACCOUNTS * INITIAL}`);
    let bad = 0;
    for (const r of rows) {
      const e = expect.get(Number(r.id));
      if (!e || (e.balance === Number(r.balance) && e.n === Number(r.n))) continue;
      if (bad++ < 3)
        problems.push(
          `account ${r.id}: balance ${r.balance} n ${r.n}, transfer rows say balance ${e.balance} n ${e.n}`,
        );
    }
    if (bad > 3) problems.push(`... ${bad} accounts disagree with the transfer rows`);
    return problems.join('; ');
  } catch (e) {
    // 1146: table not there yet (before the load created it)
    if ((e as { errno?: number }).errno === 1146 || (e as { errno?: number }).errno === 1049)
      return undefined;
    throw e;
  } finally {
    await c.query('COMMIT').catch(() => undefined);
  }
}

/**
 * Polls the invariant of the given target schemas every `intervalMs` until stop(); a schema is
 * checked only while `enabled(schema)` (its source has finished the full phase: a half-loaded
 * table is not a consistent state, in DM either). Target outages are skipped, not violations.
 */
export class Watcher {
  polls = 0;
  readonly violations: Violation[] = [];
  private on = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly target: () => ConnOpts,
    private readonly schemas: string[],
    private readonly enabled: (schema: string) => boolean,
    private readonly intervalMs: number,
    private readonly t0: number,
  ) {}

  start(): void {
    this.loop = (async () => {
      let c: Connection | undefined;
      while (this.on) {
        try {
          c ??= await mysql.createConnection({ ...this.target(), connectTimeout: 2000 });
          for (const s of this.schemas) {
            if (!this.enabled(s)) continue;
            const what = await checkInvariant(c, s);
            if (what === undefined) continue;
            this.polls++;
            if (what) this.violations.push({ at: (Date.now() - this.t0) / 1000, schema: s, what });
          }
        } catch {
          c?.destroy();
          c = undefined;
        }
        await sleep(this.intervalMs);
      }
      await c?.end().catch(() => undefined);
    })();
  }

  async stop(): Promise<void> {
    this.on = false;
    await this.loop;
  }
}
