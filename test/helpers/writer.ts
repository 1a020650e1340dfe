/**
 * Upstream write streams for tests that change things while a task replicates: a loop of
 * statements on one connection until `stop()`, which returns how many statements ran.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from 'mysql2/promise';
import type { MariaDBServer } from './mariadb.js';

export interface Writer {
  /** Stop after the current step; resolves to the statements run (rejects with the loop's error). */
  stop: () => Promise<number>;
  /** Resolves when the loop ended by itself (`limit` steps) or was stopped; the statements run. */
  done: Promise<number>;
}

/**
 * Run `step(conn, i)` for i = 0, 1, ... on one connection to `db` (each step returns the number of
 * statements it ran), `pauseMs` apart, until stopped or `limit` steps have run.
 */
export function loopWriter(src: MariaDBServer, db: string, step: (c: Connection, i: number) => Promise<number>, opts: { pauseMs?: number; limit?: number } = {}): Writer {
  let on = true;
  let n = 0;
  const done = (async () => {
    const c = await src.connect(db);
    try {
      for (let i = 0; on && i < (opts.limit ?? Infinity); i++) {
        n += await step(c, i);
        await sleep(opts.pauseMs ?? 50);
      }
    } finally {
      await c.end();
    }
    return n;
  })();
  return {
    stop: async () => {
      on = false;
      return done;
    },
    done,
  };
}

/** Keeps inserting and updating `ha.t`-style rows (id, v, n) until stopped; returns the writes done. */
export function rowWriter(src: MariaDBServer, db: string, table: string, firstId: number): Writer {
  return loopWriter(src, db, async (c, i) => {
    await c.query(`INSERT INTO ${table} (id, v, n) VALUES (?, ?, ?)`, [firstId + i, `live ${i}`, i]);
    await c.query(`UPDATE ${table} SET n = n + 1 WHERE id = ?`, [1 + (i % 100)]);
    return 2;
  });
}
