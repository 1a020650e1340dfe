/**
 * Real etcd members (Debian's etcd-server 3.4) on free loopback ports: one member, or a
 * 3-member cluster formed with one --initial-cluster list. Members can be killed and restarted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';
import { freePort, makeTempDir, removeTempDir, requireBinary, trackChild, waitFor } from './services.js';

export interface EtcdMember {
  name: string;
  clientPort: number;
  peerPort: number;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child?: ChildProcess;
}

export class EtcdCluster {
  readonly dir: string;
  readonly members: EtcdMember[];

  private constructor(dir: string, members: EtcdMember[]) {
    this.dir = dir;
    this.members = members;
  }

  /** Client endpoints, e.g. ['http://127.0.0.1:23791', ...]. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(size = 1): Promise<EtcdCluster> {
    requireBinary('etcd');
    const dir = makeTempDir('etcd');
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const clientPort = await freePort();
      const peerPort = await freePort();
      members.push({
        name: `etcd-${i}`,
        clientPort,
        peerPort,
        clientUrl: `http://127.0.0.1:${clientPort}`,
        peerUrl: `http://127.0.0.1:${peerPort}`,
        dataDir: join(dir, `etcd-${i}`),
      });
    }
    const c = new EtcdCluster(dir, members);
    await Promise.all(members.map((m) => c.startMember(m)));
    return c;
  }

  private async startMember(m: EtcdMember): Promise<void> {
    const bin = requireBinary('etcd');
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const child = spawn(
      bin,
      [
        '--name',
        m.name,
        '--data-dir',
        m.dataDir,
        '--listen-client-urls',
        m.clientUrl,
        '--advertise-client-urls',
        m.clientUrl,
        '--listen-peer-urls',
        m.peerUrl,
        '--initial-advertise-peer-urls',
        m.peerUrl,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        `dmts-test-${process.pid}`,
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
      ],
      { stdio: 'ignore' },
    );
    m.child = child;
    trackChild(child);
    let exited = false;
    child.once('exit', () => (exited = true));
    await waitFor(
      `etcd member ${m.name}`,
      async () => {
        if (exited) throw new Error(`etcd ${m.name} exited early`);
        const r = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
        if (!r.ok) return false;
        const body = (await r.json()) as { health?: string };
        return body.health === 'true';
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  async killMember(i: number): Promise<void> {
    const m = this.members[i];
    const c = m?.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const ex = once(c, 'exit');
    c.kill('SIGKILL');
    await ex;
  }

  async restartMember(i: number): Promise<void> {
    const m = this.members[i];
    if (!m) throw new Error(`no member ${i}`);
    await this.killMember(i);
    await this.startMember(m);
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.killMember(i)));
    removeTempDir(this.dir);
  }
}
