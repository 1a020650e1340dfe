/**
 * Real dm-master / dm-worker processes for the HA tests and the failover benchmark:
 * `node --import tsx src/bin/dm-*.ts` in their own process groups (kill -9 of a master also
 * kills its embedded etcd child, as a machine crash would), logs under a temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { freePort, makeTempDir, removeTempDir, waitFor } from '../helpers/index.js';
import { createMasterClient, fromConnectError } from '../../src/rpc/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const groups = new Set<number>();
process.on('exit', () => {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** The DM error code an RPC call failed with (0 when it succeeded). */
export async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    return fromConnectError(e).code;
  }
  return 0;
}

export interface Proc {
  name: string;
  args: string[];
  child?: ChildProcess;
  log: string;
  bin: 'dm-master' | 'dm-worker';
}

export interface MasterSpec {
  name: string;
  port: number;
  peerPort: number;
  etcdPort: number;
  dataDir: string;
}

export class HACluster {
  readonly dir: string;
  readonly masters: (MasterSpec & Proc)[] = [];
  readonly workers: (Proc & { port: number })[] = [];

  constructor(prefix = 'ha') {
    this.dir = makeTempDir(prefix);
  }

  /** Reserve ports and start `n` masters with one initial-cluster. */
  async startMasters(n: number, keepaliveTtl = 3): Promise<void> {
    const specs: MasterSpec[] = [];
    for (let i = 0; i < n; i++) {
      specs.push({ name: `m${i + 1}`, port: await freePort(), peerPort: await freePort(), etcdPort: await freePort(), dataDir: join(this.dir, `m${i + 1}`) });
    }
    const initial = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
    for (const s of specs) {
      const args = [
        '--name', s.name,
        '--master-addr', `127.0.0.1:${s.port}`,
        '--peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--etcd-client-urls', `http://127.0.0.1:${s.etcdPort}`,
        '--initial-cluster', initial,
        '--data-dir', s.dataDir,
        '--keepalive-ttl', String(keepaliveTtl),
        '--log-level', 'info',
      ];
      this.masters.push({ ...s, args, log: join(this.dir, `${s.name}.log`), bin: 'dm-master' });
    }
    for (const m of this.masters) this.spawn(m);
    await this.waitLeader();
    await this.waitAllUp();
  }

  /** Every running master answers RPCs. */
  async waitAllUp(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'all masters up',
      async () => {
        for (const [i, m] of this.masters.entries()) {
          if (!this.alive(m)) continue;
          await this.client(i).listMember({ leader: true }, { timeoutMs: 2000 });
        }
        return true;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }

  /** Start one more master that joins the running cluster through `--join`. */
  async joinMaster(name: string, keepaliveTtl = 3): Promise<MasterSpec & Proc> {
    const s: MasterSpec = { name, port: await freePort(), peerPort: await freePort(), etcdPort: await freePort(), dataDir: join(this.dir, name) };
    const joinList = this.masters.filter((m) => this.alive(m)).map((m) => `http://127.0.0.1:${m.etcdPort}`).join(',');
    const m = {
      ...s,
      bin: 'dm-master' as const,
      log: join(this.dir, `${name}.log`),
      args: [
        '--name', name,
        '--master-addr', `127.0.0.1:${s.port}`,
        '--peer-urls', `http://127.0.0.1:${s.peerPort}`,
        '--etcd-client-urls', `http://127.0.0.1:${s.etcdPort}`,
        '--join', joinList,
        '--data-dir', s.dataDir,
        '--keepalive-ttl', String(keepaliveTtl),
      ],
    };
    this.masters.push(m);
    this.spawn(m);
    await this.waitAllUp();
    if (!this.alive(m)) throw new Error(`${name} exited while joining; see ${m.log}`);
    return m;
  }

  masterAddrs(): string[] {
    return this.masters.map((m) => `127.0.0.1:${m.port}`);
  }

  async startWorker(name: string, keepaliveTtl = 3): Promise<Proc & { port: number }> {
    const port = await freePort();
    const w = {
      name,
      port,
      bin: 'dm-worker' as const,
      log: join(this.dir, `${name}.log`),
      args: ['--name', name, '--worker-addr', `127.0.0.1:${port}`, '--join', this.masterAddrs().join(','), '--keepalive-ttl', String(keepaliveTtl), '--relay-dir', join(this.dir, `${name}-relay`)],
    };
    this.workers.push(w);
    this.spawn(w);
    return w;
  }

  spawn(p: Proc): void {
    const fd = openSync(p.log, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'bin', `${p.bin}.ts`), ...p.args], {
      cwd: ROOT,
      stdio: ['ignore', fd, fd],
      detached: true,
      // the binaries' logs go to files shown when a test fails: keep them at info (the test
      // runner sets DM_LOG_LEVEL=warn for in-process loggers); DM_CHILD_LOG_LEVEL overrides
      env: { ...process.env, DM_LOG_LEVEL: process.env['DM_CHILD_LOG_LEVEL'] ?? 'info' },
    });
    closeSync(fd);
    p.child = child;
    if (child.pid !== undefined) groups.add(child.pid);
    child.once('exit', () => {
      if (child.pid !== undefined) groups.delete(child.pid);
    });
  }

  alive(p: Proc): boolean {
    return !!p.child && p.child.exitCode === null && p.child.signalCode === null;
  }

  /** kill -9 the whole process group (a master with its etcd child). */
  async kill9(p: Proc): Promise<void> {
    const c = p.child;
    if (!c || !this.alive(p) || c.pid === undefined) return;
    const ex = once(c, 'exit');
    process.kill(-c.pid, 'SIGKILL');
    await ex;
  }

  /** SIGTERM and wait (graceful stop). */
  async stop(p: Proc): Promise<void> {
    const c = p.child;
    if (!c || !this.alive(p) || c.pid === undefined) return;
    const ex = once(c, 'exit');
    c.kill('SIGTERM');
    const t = setTimeout(() => {
      try {
        process.kill(-(c.pid ?? 0), 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 15_000);
    await ex;
    clearTimeout(t);
    // The embedded etcd child must be gone with its master.
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }

  client(i: number) {
    const m = this.masters[i];
    if (!m) throw new Error(`no master ${i}`);
    return createMasterClient(`127.0.0.1:${m.port}`);
  }

  /** Index of the current leader, as a live master reports it. */
  async waitLeader(timeoutMs = 60_000, except?: number): Promise<number> {
    return waitFor(
      'a dm-master leader',
      async () => {
        for (const [i, m] of this.masters.entries()) {
          if (!this.alive(m) || i === except) continue;
          try {
            const r = await this.client(i).listMember({ leader: true }, { timeoutMs: 2000 });
            const idx = this.masters.findIndex((x) => x.name === r.leader?.name);
            if (idx >= 0 && idx !== except && this.alive(this.masters[idx]!)) return idx + 1;
          } catch {
            /* not up */
          }
        }
        return false;
      },
      { timeoutMs, intervalMs: 200 },
    ).then((x) => x - 1);
  }

  logs(): string {
    return [...this.masters, ...this.workers].map((p) => `--- ${p.name}\n${safeRead(p.log).split('\n').slice(-15).join('\n')}`).join('\n');
  }

  async close(): Promise<void> {
    await Promise.all([...this.workers, ...this.masters].map((p) => this.kill9(p)));
    if (process.env['DM_KEEP_LOGS']) process.stderr.write(`logs kept in ${this.dir}\n`);
    else removeTempDir(this.dir);
  }
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export function sourceYaml(id: string, port: number, host = '127.0.0.1'): string {
  return `source-id: ${id}\nfrom:\n  host: ${host}\n  port: ${port}\n  user: root\n  password: ""\n`;
}

/** An incremental task from `meta` (binlog file + pos) into the target, replicating schema `db`. */
export function taskYaml(name: string, sources: string[], targetPort: number, meta?: { file: string; pos: number }, db = 'ha_test'): string {
  return [
    `name: ${name}`,
    `task-mode: ${meta ? 'incremental' : 'all'}`,
    'block-allow-list:',
    '  ba:',
    `    do-dbs: ["${db}"]`,
    'target-database:',
    '  host: 127.0.0.1',
    `  port: ${targetPort}`,
    '  user: root',
    '  password: ""',
    'mysql-instances:',
    ...sources.flatMap((s) => [
      `  - source-id: ${s}`,
      '    block-allow-list: ba',
      ...(meta ? ['    meta:', `      binlog-name: ${meta.file}`, `      binlog-pos: ${meta.pos}`] : []),
    ]),
    '',
  ].join('\n');
}
