/**
 * shard-mode errors of the worker side, on real MariaDB and etcd (no lock keeper needed: each
 * error comes before or without an operation):
 * - 36101: two shards of one source reached different DDLs (pessimistic);
 * - 36103: RENAME TABLE of a shard table (both modes), and `binlog skip` gets past it;
 * - 36104: rows held back beyond the memory budget spill to disk, beyond the disk limit pause (pessimistic);
 * - DROP TABLE / TRUNCATE TABLE of a shard table are not applied to the merged table.
 */
import { test } from 'node:test';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { EtcdCluster, MariaDBServer } from '../helpers/index.js';
import { SyncUnit, type FailedEventDecision, type SyncConfig } from '../../src/units/sync/index.js';
import { createEtcdClient, Keys } from '../../src/store/index.js';
import { etcdShardDDLClient } from '../../src/worker/shardddl-client.js';
import { masterPos, syncConfig } from './sync-fixture.js';

void test('shard-mode errors: 36101, 36103 (+ binlog skip), 36104; DROP/TRUNCATE of a shard not applied', { timeout: 300_000 }, async (t) => {
  const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  const etcd = await EtcdCluster.start(1);
  const client = createEtcdClient({ endpoints: etcd.endpoints });
  const units: SyncUnit[] = [];
  t.after(async () => {
    for (const u of units) await u.close();
    client.close();
    await Promise.all([src.stop(), dst.stop(), etcd.stop()]);
  });
  let n = 0;
  /** A fresh pair of shards (own schemas and target) and a unit from before their creation. */
  const scenario = async (mode: 'pessimistic' | 'optimistic', maxHoldBytes: number, onFailed?: () => FailedEventDecision, memHoldBytes?: number) => {
    n++;
    const start = await masterPos(src);
    await src.sql(`CREATE DATABASE s${n}_a; CREATE TABLE s${n}_a.t (id INT PRIMARY KEY, v VARCHAR(100)); CREATE DATABASE s${n}_b; CREATE TABLE s${n}_b.t (id INT PRIMARY KEY, v VARCHAR(100))`);
    await src.sql(`INSERT INTO s${n}_a.t VALUES (1, 'a'); INSERT INTO s${n}_b.t VALUES (2, 'b')`);
    const cfg: SyncConfig = syncConfig(src, dst, {
      taskName: `t${n}`,
      start,
      baList: { doDbs: [`s${n}_*`] },
      routes: [
        { schemaPattern: `s${n}_*`, targetSchema: `m${n}` },
        { schemaPattern: `s${n}_*`, tablePattern: 't', targetSchema: `m${n}`, targetTable: 't' },
      ],
      shard: { mode, client: etcdShardDDLClient(client, new Keys(`/shard-e-${process.pid}/`)), maxHoldBytes, ...(memHoldBytes !== undefined ? { memHoldBytes } : {}) },
      ...(onFailed ? { onFailedEvent: () => Promise.resolve(onFailed()) } : {}),
    });
    const unit = new SyncUnit(cfg, { heartbeatMs: 200 });
    units.push(unit);
    const ac = new AbortController();
    await unit.init(ac.signal);
    const running = unit.process(ac.signal) as Promise<{ errors: { code: number; message: string }[] }>;
    return { unit, running, a: `s${n}_a.t`, b: `s${n}_b.t`, target: `m${n}.t` };
  };

  await t.test('36101: the shards of one source reached different DDLs', async () => {
    const s = await scenario('pessimistic', 1 << 20);
    await src.sql(`ALTER TABLE ${s.a} ADD COLUMN c INT; ALTER TABLE ${s.b} ADD COLUMN d INT`);
    const r = await s.running;
    assert.equal(r.errors[0]?.code, 36101, JSON.stringify(r.errors));
    assert.match(r.errors[0]?.message ?? '', /ADD COLUMN c INT.*ADD COLUMN d INT/);
  });

  await t.test('36104: rows held back beyond the memory budget and the disk limit pause the subtask', async () => {
    // 1 KB in memory, then the spill file: its 2,000-byte limit is hit by the 40 rows (~100 bytes each)
    const s = await scenario('pessimistic', 2_000, undefined, 1_000);
    await src.sql(`ALTER TABLE ${s.a} ADD COLUMN c INT`);
    for (let i = 0; i < 20; i++) await src.sql(`INSERT INTO ${s.a} VALUES (${100 + i}, REPEAT('x', 90), ${i}), (${200 + i}, REPEAT('y', 90), ${i})`);
    const r = await s.running;
    assert.equal(r.errors[0]?.code, 36104, JSON.stringify(r.errors));
    assert.match(r.errors[0]?.message ?? '', /s\d+_a\.t/);
    assert.match(r.errors[0]?.message ?? '', /bytes on disk in .*dmts-held-t\d+-.*\.spill.*: the spill file would exceed its limit of 2000 bytes/);
    assert.deepEqual(
      readdirSync(tmpdir()).filter((f) => f.startsWith(`dmts-held-t${n}-`)),
      [],
      'the spill file is removed when the subtask stops with the error',
    );
    // nothing held was applied
    const rows = await dst.sql(`SELECT COUNT(*) AS n FROM ${s.target}`);
    assert.equal(Number(rows[0]?.['n']), 2);
  });

  for (const mode of ['pessimistic', 'optimistic'] as const) {
    await t.test(`${mode}: RENAME TABLE of a shard is 36103; binlog skip gets past it; DROP/TRUNCATE not applied`, async () => {
      let skip = false;
      const s = await scenario(mode, 1 << 20, () => (skip ? { action: 'skip' } : { action: 'fail' }));
      await src.sql(`RENAME TABLE ${s.b} TO ${s.b.replace('.t', '.t_old')}`);
      const r = await s.running;
      assert.equal(r.errors[0]?.code, 36103, JSON.stringify(r.errors));
      skip = true;
      const ac = new AbortController();
      const again = s.unit.resume(ac.signal) as Promise<{ errors: unknown[] }>;
      await src.sql(`TRUNCATE TABLE ${s.a}; INSERT INTO ${s.a} VALUES (3, 'c'); DROP TABLE ${s.b.replace('.t', '.t_old')}`);
      const deadline = Date.now() + 60_000;
      let ids: number[] = [];
      while (Date.now() < deadline) {
        ids = ((await dst.sql(`SELECT id FROM ${s.target} ORDER BY id`)) as { id: number }[]).map((x) => x.id);
        if (ids.includes(3)) break;
        await new Promise((res) => setTimeout(res, 300));
      }
      // TRUNCATE of one shard did not empty the merged table; the renamed shard's table is still there on the target
      assert.deepEqual(ids, [1, 2, 3]);
      assert.equal(s.unit.status()['error'], undefined);
      s.unit.pause();
      assert.deepEqual((await again).errors, []);
    });
  }
});
