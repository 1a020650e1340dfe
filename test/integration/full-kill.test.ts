import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { MariaDBServer, compareTables, describeDiffs, trackChild } from '../helpers/index.js';

const RUNNER = fileURLToPath(new URL('./full-kill-runner.ts', import.meta.url));

/** Run the load in a child; when `killWhen` resolves true (polled every 40 ms), SIGKILL it after `extraMs`. */
function runChild(
  cfg: unknown,
  killWhen?: () => Promise<boolean>,
  extraMs = 0,
): Promise<{ killed: boolean; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, JSON.stringify(cfg)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  trackChild(child);
  let out = '';
  let exited = false;
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const ex = once(child, 'exit');
  void ex.then(() => (exited = true));
  const poll = async (): Promise<void> => {
    while (killWhen && !exited) {
      if (await killWhen().catch(() => false)) {
        await new Promise((r) => setTimeout(r, extraMs));
        child.kill('SIGKILL');
        return;
      }
      await new Promise((r) => setTimeout(r, 40));
    }
  };
  return Promise.all([ex, poll()]).then(([[, sig]]) => ({ killed: sig === 'SIGKILL', out }));
}

/**
 * `sql` with on-duplicate `error`: re-inserting a committed row would fail the load. `loaddata`
 * (rows straight from the source packets): the target tables are created beforehand without a
 * primary key, so a row loaded twice stays as an extra row and the compare sees it.
 */
for (const importMode of ['sql', 'loaddata'] as const)
  test(`full (${importMode}): kill -9 of the loading process at random points, then resume: no loss, no duplicate`, async (t) => {
    const [src, dst] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
    t.after(async () => {
      await Promise.all([src.stop(), dst.stop()]);
    });
    await src.sql('CREATE DATABASE k');
    for (let i = 1; i <= 3; i++) {
      await src.sql(
        `CREATE TABLE k.t${i} (id INT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY (k))`,
      );
      // t1, t2: dense ids (planned by key range, chunk-plan.ts planByRange); t3: ids 10 apart
      // (too sparse for ranges: planned by walking the key)
      await src.sql(
        `INSERT INTO k.t${i} SELECT seq * ${i === 3 ? 10 : 1}, seq * 7 % 1000, REPEAT(CHAR(65 + seq % 26), 120), MD5(seq) FROM mysql.seq_1_to_30000`,
      );
    }
    // no key: one chunk, where a duplicate would show as extra rows
    await src.sql('CREATE TABLE k.nokey (a INT, b VARCHAR(20))');
    await src.sql("INSERT INTO k.nokey SELECT seq % 100, 'same' FROM mysql.seq_1_to_5000");
    if (importMode === 'loaddata') {
      await dst.sql('CREATE DATABASE k');
      for (let i = 1; i <= 3; i++)
        await dst.sql(
          `CREATE TABLE k.t${i} (id INT NOT NULL, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY (id), KEY (k))`,
        );
    }
    const cfg = {
      taskName: 'kill',
      sourceId: 'src-1',
      taskMode: 'full',
      source: src.connOpts(),
      target: dst.connOpts(),
      baList: { doDbs: ['k'] },
      mydumper: { threads: 2, rows: 3000 },
      loader: { poolSize: 2, importMode, onDuplicate: importMode === 'sql' ? 'error' : 'replace' },
    };
    // 30000 rows / 3000 per chunk: t1, t2 by key range 1..30000 in 10 chunks; t3 by the walk,
    // 10 full chunks + the open-ended last one; + nokey
    const TOTAL_CHUNKS = 2 * 10 + 11 + 1;
    const doneChunks = async (): Promise<number> =>
      Number(
        (await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.kill_load_checkpoint WHERE status = 'done'"))[0]?.[
          'n'
        ] ?? 0,
      );
    let kills = 0;
    const seen: string[] = [];
    let reached = 0;
    let finished = false;
    for (let round = 0; round < 8 && kills < 6; round++) {
      // kill when 1-3 more chunks are done (round 0: while planning, before the plan exists), plus 0-100 ms
      const target = round === 0 ? -1 : reached + 1 + Math.floor(Math.random() * 3);
      const r = await runChild(
        cfg,
        async () => (target < 0 ? true : (await doneChunks()) >= target),
        Math.floor(Math.random() * 100),
      );
      if (!r.killed) {
        assert.match(r.out, /"ok":true/, `round ${round} finished without kill but not ok: ${r.out}`);
        finished = true;
        break;
      }
      kills++;
      reached = await doneChunks().catch(() => 0);
      seen.push(String(reached));
    }
    if (!finished && importMode === 'sql') {
      // the tables were created by the loader: kill once more after the last chunk, while the
      // deferred secondary keys are being added (or just before, or just after)
      const r = await runChild(
        cfg,
        async () => (await doneChunks()) >= TOTAL_CHUNKS,
        Math.floor(Math.random() * 60),
      );
      seen.push(r.killed ? 'all (index phase)' : 'finished');
      if (r.killed) kills++;
    }
    const final = await runChild(cfg);
    assert.match(final.out, /"ok":true/, final.out);
    const res = JSON.parse(final.out.split('\n').find((l) => l.startsWith('{')) ?? '{}') as {
      detail?: { startPos?: { file: string } };
    };
    assert.ok(res.detail?.startPos?.file, 'snapshot position handed over');
    for (const tb of ['t1', 't2', 't3', 'nokey']) {
      const d = await compareTables(src.connOpts(), dst.connOpts(), 'k', tb);
      assert.ok(d.equal, describeDiffs([d]));
    }
    const definition = async (s: MariaDBServer, tb: string): Promise<string> =>
      String((await s.sql(`SHOW CREATE TABLE k.${tb}`))[0]?.['Create Table']);
    if (importMode === 'sql')
      for (const tb of ['t1', 't2', 't3']) assert.equal(await definition(dst, tb), await definition(src, tb));
    t.diagnostic(`kills=${kills} done chunks after each kill: ${seen.join(',')} of ${TOTAL_CHUNKS}`);
    assert.ok(kills >= 5, `the load was killed at least 5 times (got ${kills})`);
    const cp = await dst.sql("SELECT COUNT(*) AS n FROM dm_meta.kill_load_checkpoint WHERE status = 'done'");
    assert.equal(Number(cp[0]?.['n']), TOTAL_CHUNKS);
  });
