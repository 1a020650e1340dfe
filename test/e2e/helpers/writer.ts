import { setTimeout as sleep } from 'node:timers/promises';
import type { MariaDBServer } from '../../helpers/index.js';

/** Keeps inserting and updating `ha.t`-style rows (id, v, n) until stopped; returns the writes done. */
export function rowWriter(src: MariaDBServer, db: string, table: string, firstId: number): { stop: () => Promise<number> } {
  let on = true;
  let n = 0;
  const done = (async () => {
    const c = await src.connect(db);
    try {
      for (let i = 0; on; i++) {
        await c.query(`INSERT INTO ${table} (id, v, n) VALUES (?, ?, ?)`, [firstId + i, `live ${i}`, i]);
        await c.query(`UPDATE ${table} SET n = n + 1 WHERE id = ?`, [1 + (i % 100)]);
        n += 2;
        await sleep(50);
      }
    } finally {
      await c.end();
    }
  })();
  return {
    stop: async () => {
      on = false;
      await done;
      return n;
    },
  };
}
