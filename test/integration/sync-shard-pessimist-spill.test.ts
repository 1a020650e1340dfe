/**
 * shard-mode pessimistic with held rows spilled to disk, on real MariaDB and etcd (the lock keeper
 * played by the test, shard-fake-leader.ts), with a 16 KiB memory budget (ShardConfig.memHoldBytes):
 *
 * - shard_1 reaches a DDL and stays blocked while thousands of rows (inserts, updates, deletes, in
 *   many transactions, with BIGINT UNSIGNED keys beyond 2^63, binary with 0x00/0xff, DECIMAL, JSON,
 *   DATETIME(6), BIT, DOUBLE, utf8mb4 text) are written to it; shard_2's rows go on meanwhile;
 * - the rows beyond the budget are in a spill file (mode 0600) in the configured directory;
 * - the unit is stopped mid-lock: the spill file is removed; a file as a killed worker would have
 *   left it (same subtask, a pid that is not running) is put there; more rows are written; the
 *   unit restarts from its checkpoint (before shard_1's DDL): it re-reads the held rows from the
 *   binlog into a NEW spill file and removes the left-over one;
 * - shard_2 reaches the DDL: the lock resolves and the target ends equal to the union of the shards
 *   (every column, binary compared as hex); no spill file is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdCluster, MariaDBServer, waitFor } from '../helpers/index.js';
import { SyncUnit, type SyncConfig } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys } from '../../src/store/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';
import { masterPos, syncConfig } from './sync-fixture.js';
import { fakePessimisticLeader } from './shard-fake-leader.js';

const ROUTES = [
  { schemaPattern: 'shard_*', targetSchema: 'merged' },
  { schemaPattern: 'shard_*', tablePattern: 't', targetSchema: 'merged', targetTable: 't' },
];

const TABLE =
  '(id BIGINT UNSIGNED PRIMARY KEY, v INT, b VARBINARY(40), d DECIMAL(30,10), j JSON, dt DATETIME(6), bits BIT(12), f DOUBLE, s VARCHAR(60) CHARACTER SET utf8mb4, bl BLOB)';
/** Every column, binary ones as hex: compared as text on both sides. */
const COLS =
  'CAST(id AS CHAR) AS id, v, HEX(b) AS b, CAST(d AS CHAR) AS d, CAST(j AS CHAR) AS j, CAST(dt AS CHAR) AS dt, HEX(bits) AS bits, CAST(f AS CHAR) AS f, s, HEX(bl) AS bl';

/** `n` rows of shard `k` starting at `from`: keys beyond 2^63 for shard 1, every value type. */
/** Rows in key order (the keys are text: BIGINT UNSIGNED beyond 2^53). */
function byId(rs: Record<string, unknown>[]): Record<string, unknown>[] {
  return rs.sort((a, b) => (BigInt(String(a['id'])) < BigInt(String(b['id'])) ? -1 : 1));
}

function rows(k: number, from: number, n: number): string {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) {
    const id = k === 1 ? `${10000000000000000000n + BigInt(i)}` : `${i}`;
    const b = `UNHEX('00FF${(i % 256).toString(16).padStart(2, '0')}00FF0000')`;
    const d = `${i % 2 ? '-' : ''}${i}.${String(i).padStart(10, '0')}`;
    const j = `'{"i": ${i}, "big": 18446744073709551615, "s": "\\\\u00e9${i}", "a": [null, true, 1.5]}'`;
    const dt = `'2024-02-29 23:59:${String(i % 60).padStart(2, '0')}.${String(i % 1000000).padStart(6, '0')}'`;
    const bits = `b'${(i % 4096).toString(2)}'`;
    const f = i % 7 === 0 ? '-0.0' : `${i}.25e-3`;
    const s = `'row ${i} ✓ 😀 ${'x'.repeat(i % 20)}'`;
    const bl = i % 5 === 0 ? 'NULL' : `REPEAT(UNHEX('00FF7F80'), ${(i % 50) + 1})`;
    out.push(`(${id}, ${i}, ${b}, ${d}, ${j}, ${dt}, ${bits}, ${f}, ${s}, ${bl})`);
  }
  return out.join(', ');
}

void test(
  'pessimistic: rows held beyond the memory budget spill to disk; restart mid-lock re-reads them; target = union',
  { timeout: 500_000 },
  async (t) => {
    const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
    const etcd = await EtcdCluster.start(1);
    const client = createEtcdClient({ endpoints: etcd.endpoints });
    const keys = new Keys(`/shard-spill-${process.pid}/`);
    const holdDir = mkdtempSync(join(tmpdir(), 'shard-spill-test-'));
    const leaderAc = new AbortController();
    const leader = fakePessimisticLeader(client, keys, 'test', ['mysql-01'], leaderAc.signal);
    const units: { unit: SyncUnit; running: Promise<unknown> }[] = [];
    t.after(async () => {
      leaderAc.abort();
      await leader.done.catch(() => undefined);
      for (const u of units) await u.unit.close();
      client.close();
      await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
      rmSync(holdDir, { recursive: true, force: true });
    });
    const start = await masterPos(src);
    await src.sql(
      `CREATE DATABASE shard_1; CREATE TABLE shard_1.t ${TABLE}; CREATE DATABASE shard_2; CREATE TABLE shard_2.t ${TABLE}`,
    );
    await src.sql(
      `INSERT INTO shard_1.t VALUES ${rows(1, 0, 20)}; INSERT INTO shard_2.t VALUES ${rows(2, 0, 20)}`,
    );

    const cfg: SyncConfig = syncConfig(src, dst, {
      start,
      baList: { doDbs: ['shard_*'] },
      routes: ROUTES,
      shard: {
        mode: 'pessimistic',
        client: etcdShardDDLClient(client, keys),
        maxHoldBytes: 1 << 30,
        memHoldBytes: 16 * 1024,
        holdDir,
      },
    });
    const startUnit = async (): Promise<SyncUnit> => {
      const unit = new SyncUnit(cfg, { heartbeatMs: 200 });
      await unit.init(new AbortController().signal);
      units.push({ unit, running: unit.process(new AbortController().signal) });
      return unit;
    };
    const noErrors = (): void => {
      for (const u of units) {
        const st = u.unit.status();
        if (st['error'] !== undefined && st['stage'] !== 'Closed')
          throw new Error(`sync unit stopped: ${JSON.stringify(st['error'])}`);
      }
    };
    const count = async (where = ''): Promise<number> =>
      Number(
        (
          (await dst.sql(`SELECT COUNT(*) AS n FROM merged.t ${where}`).catch(() => [{ n: -1 }])) as {
            n: unknown;
          }[]
        )[0]?.n,
      );
    const spills = (): string[] => readdirSync(holdDir).filter((n) => n.endsWith('.spill'));
    let unit = await startUnit();
    await waitFor('initial rows', async () => (noErrors(), (await count()) === 40), { timeoutMs: 90_000 });

    // shard_1 reaches the DDL; thousands of rows follow in many transactions, shard_2 goes on
    await src.sql('ALTER TABLE shard_1.t ADD COLUMN c INT');
    for (let k = 0; k < 20; k++) {
      await src.sql(
        `INSERT INTO shard_1.t (id, v, b, d, j, dt, bits, f, s, bl) VALUES ${rows(1, 1000 + k * 100, 100)}`,
      );
      await src.sql(`INSERT INTO shard_2.t VALUES ${rows(2, 1000 + k * 10, 10)}`);
    }
    await src.sql(
      `UPDATE shard_1.t SET v = v + 1, b = UNHEX('FF00FF00'), c = 7 WHERE id % 3 = 0; DELETE FROM shard_1.t WHERE id % 11 = 0`,
    );
    await src.sql(`INSERT INTO shard_2.t VALUES ${rows(2, 5000, 1)}`); // marker: shard_2's last row
    await waitFor(
      'shard_2 rows applied, shard_1 rows held',
      async () => (noErrors(), (await count('WHERE id = 5000')) === 1),
      { timeoutMs: 120_000 },
    );
    assert.equal(
      await count('WHERE id >= 10000000000000000000'),
      20,
      "shard_1's rows after its DDL are held back",
    );
    const st = unit.status();
    assert.ok(Number(st['heldEvents']) >= 21, `held events ${String(st['heldEvents'])}`);
    assert.ok(Number(st['heldOnDiskBytes']) > 100_000, `rows on disk ${String(st['heldOnDiskBytes'])}`);
    const [first] = spills();
    assert.ok(first, 'a spill file in the hold directory');
    assert.equal(statSync(join(holdDir, first)).mode & 0o777, 0o600);
    assert.match(first, /^dmts-held-test-mysql%2d01-\d+-[0-9a-f]+\.spill$/);

    // stop mid-lock: the spill file goes; leave one as a killed worker would have (another pid, not running)
    const leftover = first.replace(/-\d+-([0-9a-f]+)\.spill$/, '-999999999-$1.spill');
    copyFileSync(join(holdDir, first), join(holdDir, `${leftover}.tmp`));
    unit.pause();
    assert.deepEqual(((await units.at(-1)!.running) as { errors: unknown[] }).errors, []);
    await unit.close();
    assert.deepEqual(spills(), [], 'the spill file is removed when the unit stops');
    copyFileSync(join(holdDir, `${leftover}.tmp`), join(holdDir, leftover));
    rmSync(join(holdDir, `${leftover}.tmp`));
    // more rows while stopped
    await src.sql(
      `INSERT INTO shard_1.t (id, v, b, d, j, dt, bits, f, s, bl) VALUES ${rows(1, 4000, 500)}; INSERT INTO shard_2.t VALUES ${rows(2, 5001, 1)}`,
    );
    unit = await startUnit();
    await waitFor(
      'restarted unit caught up (held rows re-read)',
      async () => (noErrors(), (await count('WHERE id = 5001')) === 1),
      { timeoutMs: 120_000 },
    );
    assert.equal(await count('WHERE id >= 10000000000000000000'), 20, 'still held after the restart');
    const now = spills();
    assert.ok(!now.includes(leftover), `the left-over spill file is removed: ${now.join(', ')}`);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], first, 'a new spill file, not the one of the stopped run');
    assert.ok(Number(unit.status()['heldOnDiskBytes']) > 100_000);

    // shard_2 reaches the DDL: the lock resolves, the held rows land
    await src.sql(
      `ALTER TABLE shard_2.t ADD COLUMN c INT; INSERT INTO shard_2.t VALUES ${rows(2, 6000, 1).replace(/\)$/, ', 1)')}`,
    );
    const union = async (): Promise<string> => {
      const all: Record<string, unknown>[] = [];
      for (const n of [1, 2]) all.push(...(await src.sql(`SELECT ${COLS}, c FROM shard_${n}.t`)));
      return JSON.stringify(byId(all));
    };
    let last = '';
    await waitFor(
      'target equals the union of the shards',
      async () => {
        noErrors();
        if (leader.rounds.length < 1) return false;
        last = JSON.stringify(byId(await dst.sql(`SELECT ${COLS}, c FROM merged.t`).catch(() => [])));
        return last === (await union());
      },
      { timeoutMs: 180_000 },
    ).catch(async (e: unknown) => {
      const want = JSON.parse(await union()) as unknown[];
      const got = JSON.parse(last || '[]') as unknown[];
      const diff = want.flatMap((r, k) => (JSON.stringify(r) !== JSON.stringify(got[k]) ? [k] : []));
      const at = (k: number | undefined): string =>
        k === undefined ? '' : `target ${JSON.stringify(got[k])} vs shards ${JSON.stringify(want[k])}`;
      throw new Error(
        `${(e as Error).message}: ${got.length} rows vs ${want.length}, ${diff.length} differ; first ${at(diff[0])}; last ${at(diff.at(-1))}; status ${JSON.stringify(unit.status())}`,
      );
    });
    const total = Number(
      (
        (await src.sql(
          'SELECT (SELECT COUNT(*) FROM shard_1.t) + (SELECT COUNT(*) FROM shard_2.t) AS n',
        )) as { n: unknown }[]
      )[0]?.n,
    );
    assert.ok(total > 2400, `rows compared: ${total}`);
    assert.equal(leader.rounds.length, 1);
    assert.deepEqual(leader.rounds[0]!.ddls, ['ALTER TABLE `merged`.`t` ADD COLUMN c INT']);
    await waitFor(
      'nothing held, no spill file',
      async () => Number(unit.status()['heldEvents']) === 0 && spills().length === 0,
      { timeoutMs: 30_000 },
    );
  },
);
