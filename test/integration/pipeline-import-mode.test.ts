import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { MariaDBServer, compareDatabases, describeDiffs } from '../helpers/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createUnits } from '../../src/worker/pipeline.js';

/** `loaders.import-mode` in a task file reaches the load unit through the worker's pipeline. */
void test('task-file import-mode selects the load path (sql → INSERTs, logical → LOAD DATA)', async (t) => {
  const [src, tgt] = await Promise.all([MariaDBServer.start(), MariaDBServer.start()]);
  t.after(async () => {
    await Promise.all([src.stop(), tgt.stop()]);
  });
  await src.sql(`CREATE DATABASE im;
    CREATE TABLE im.t (id INT PRIMARY KEY, v VARCHAR(40), b BLOB);
    INSERT INTO im.t VALUES (1, 'a', X'00FF'), (2, NULL, NULL), (3, 'tab\\there', X'5C4E');`);
  const sourceYaml = `source-id: s1\nfrom: {host: 127.0.0.1, port: ${src.port}, user: root, password: ""}\n`;

  for (const [mode, expected] of [
    ['sql', 'sql'],
    ['logical', 'loaddata'],
  ] as const) {
    const name = `im_${mode}`;
    const taskYaml = `name: ${name}
task-mode: full
target-database: {host: 127.0.0.1, port: ${tgt.port}, user: root, password: ""}
loaders:
  l: {import-mode: ${mode}}
mysql-instances:
  - {source-id: s1, block-allow-list: ba, loader-config-name: l}
block-allow-list:
  ba: {do-dbs: [im]}
`;
    const units = createUnits({ taskName: name, sourceId: 's1', taskYaml, sourceYaml }, { logger: silentLogger, registry: new Registry(), workerName: 'w1' });
    const signal = AbortSignal.timeout(60_000);
    try {
      for (const u of units) {
        await u.init(signal);
        const r = await u.process(signal);
        assert.deepEqual(r.errors, [], `${u.type} unit errors`);
      }
      const load = units.find((u) => u.type === 'Load');
      assert.equal(load?.status()['importMode'], expected, `import-mode: ${mode}`);
      const diffs = await compareDatabases(src.connOpts(), tgt.connOpts(), 'im');
      assert.ok(diffs.length > 0 && diffs.every((d) => d.equal), describeDiffs(diffs));
    } finally {
      for (const u of units) await u.close();
    }
    await tgt.sql(`DROP DATABASE im; DROP DATABASE IF EXISTS dm_meta`);
  }
});
