/**
 * One DM-style scenario: upstream MariaDB source(s), a target MariaDB, a DM cluster, and the
 * case's conf/ templates rendered with the ports (`${SOURCE1_PORT}`, `${SOURCE2_PORT}`, ...,
 * `${TARGET_PORT}`). Everything is torn down by t.after.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { MariaDBServer, makeTempDir, removeTempDir, type MariaDBOptions } from '../../helpers/index.js';
import { DMCluster } from '../../helpers/cluster.js';
import { renderConf } from './conf.js';

export interface Scenario {
  sources: MariaDBServer[];
  target: MariaDBServer;
  cluster: DMCluster;
  dir: string;
  vars: Record<string, number | string>;
  /** Render conf/<name> and return its path. */
  conf(name: string): string;
  /** Run data/<name> on a server. */
  loadData(server: MariaDBServer, name: string): Promise<void>;
  /** `dmctl operate-source create` for each conf/source<i>.yaml; asserts result true. */
  createSources(): Promise<void>;
}

export async function setupScenario(
  t: TestContext,
  caseDir: string,
  opts: {
    sources?: number;
    masters?: number;
    workers?: number;
    sourceOpts?: MariaDBOptions | MariaDBOptions[];
    /** Extra YAML lines for the dm-master / dm-worker config files. */
    masterConfig?: string[];
    workerConfig?: string[];
  } = {},
): Promise<Scenario> {
  const n = opts.sources ?? 1;
  const servers = await Promise.all([...Array.from({ length: n }, (_, i) => MariaDBServer.start((Array.isArray(opts.sourceOpts) ? opts.sourceOpts[i] : opts.sourceOpts) ?? {})), MariaDBServer.start()]);
  const target = servers.pop() as MariaDBServer;
  const dir = makeTempDir('scenario');
  const held: { cluster?: DMCluster } = {};
  t.after(async () => {
    await held.cluster?.close();
    await Promise.all([...servers, target].map((s) => s.stop()));
    removeTempDir(dir);
  });
  held.cluster = await DMCluster.start({
    masters: opts.masters ?? 1,
    workers: opts.workers ?? 1,
    ...(opts.masterConfig ? { masterConfig: opts.masterConfig } : {}),
    ...(opts.workerConfig ? { workerConfig: opts.workerConfig } : {}),
  });
  const vars: Record<string, number | string> = { TARGET_PORT: target.port };
  servers.forEach((s, i) => (vars[`SOURCE${i + 1}_PORT`] = s.port));
  const c = held.cluster;
  return {
    sources: servers,
    target,
    cluster: c,
    dir,
    vars,
    conf: (name) => renderConf(caseDir, name, dir, vars),
    loadData: async (server, name) => {
      await server.sql(readFileSync(join(caseDir, 'data', name), 'utf8'));
    },
    createSources: async () => {
      for (let i = 1; i <= n; i++) {
        const r = await c.ctl(['operate-source', 'create', renderConf(caseDir, `source${i}.yaml`, dir, vars)]);
        if (r.json['result'] !== true) throw new Error(`operate-source create source${i}.yaml failed: ${r.stdout}`);
      }
    },
  };
}
