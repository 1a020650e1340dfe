import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DMError } from '../../src/errors/index.js';
import { taskFacts } from '../../src/master/config-adapter.js';

// DM's sample with the keys DM.ts refuses as not supported yet (20601, test/unit/config.test.ts) turned off
const advanced = readFileSync(new URL('../fixtures/config/dm-task-advanced.yaml', import.meta.url), 'utf8')
  .replace('online-ddl: true', 'online-ddl: false')
  .replace('online-ddl-scheme: "gh-ost"', 'online-ddl-scheme: ""')
  .replace('enable-ansi-quotes: true', 'enable-ansi-quotes: false')
  .replace('multiple-rows: true', 'multiple-rows: false')
  .replace('mode: full', 'mode: none');

test("task names DM accepts (any characters) are accepted, except those DM.ts cannot keep in etcd keys", () => {
  const named = (n: string): string => advanced.replace(/^name: test$/m, `name: ${JSON.stringify(n)}`).replace(/^shard-mode:.*$/m, '');
  for (const n of ['orders sync #1', '订单迁移', 'a.b-c_d$e', 'T@x']) assert.equal(taskFacts(named(n)).name, n);
  for (const n of ['a/b', 'a\\b', 'a\tb']) {
    assert.throws(
      () => taskFacts(named(n)),
      (e: unknown) => e instanceof DMError && e.code === 20003 && e.message.includes("may not hold '/'"),
      n,
    );
  }
});
