import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log/index.js';
import { Keys, type LeaderElection } from '../store/index.js';
import { sleepAbortable } from '../util/index.js';

async function refused(addr: string): Promise<boolean> {
  try {
    const r = await fetch(`http://${addr}/status`, { signal: AbortSignal.timeout(1000) });
    await r.body?.cancel();
    return false;
  } catch (e) {
    const code = (e as { cause?: { code?: string } }).cause?.code;
    return code === 'ECONNREFUSED';
  }
}

/**
 * Follower-side fast failover: a leader killed with -9 keeps its election key until its lease
 * expires (and etcd extends leases when its own Raft leader changes). When the leader's RPC port
 * refuses connections on consecutive probes (the process is gone: a frozen or partitioned
 * leader times out instead, and is left to its lease), a follower revokes the dead leader's
 * election lease, so the next candidate is elected at once. The deposed leader's fence is then
 * gone too, so nothing it might still send can be written.
 */
export class LeaderWatchdog {
  private readonly ac = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly election: LeaderElection,
    private readonly selfName: string,
    private readonly log: Logger,
    private readonly intervalMs = 300,
  ) {}

  start(): void {
    if (!this.loop) this.loop = this.run(this.ac.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let strikes = 0;
    let selfStrikes = 0;
    let suspect = '';
    while (!signal.aborted) {
      if (!(await sleepAbortable(this.intervalMs, signal))) return;
      if (this.election.isLeader) {
        strikes = 0;
        selfStrikes = 0;
        continue;
      }
      const leader = await this.election.readLeader().catch(() => undefined);
      if (leader?.name === this.selfName) {
        // Named leader in etcd but not leading: a key of an earlier, failed campaign of ours
        // (its lease may still be kept alive) sits in front of the current one. Drop it.
        if (++selfStrikes >= 4) {
          selfStrikes = 0;
          await this.dropStaleOwnKey();
        }
        continue;
      }
      selfStrikes = 0;
      if (!leader) {
        strikes = 0;
        continue;
      }
      if (!(await refused(leader.addr))) {
        strikes = 0;
        continue;
      }
      strikes = suspect === leader.name ? strikes + 1 : 1;
      suspect = leader.name;
      if (strikes < 2) continue;
      strikes = 0;
      try {
        const prefix = `${this.keys.electionNamespace()}election/${Keys.ELECTION_NAME}/`;
        const res = await this.client.getAll().prefix(prefix).sort('Create', 'Ascend').limit(1).exec();
        const kv = res.kvs[0];
        if (!kv) continue;
        const info = JSON.parse(kv.value.toString()) as { name?: string };
        if (info.name !== leader.name) continue;
        await this.client.leaseClient.leaseRevoke({ ID: kv.lease });
        this.log.warn({ leader: leader.name, addr: leader.addr }, 'leader process is gone (connection refused): revoked its election lease');
      } catch (err) {
        this.log.debug({ err }, 'revoking the dead leader lease failed');
      }
    }
  }

  private async dropStaleOwnKey(): Promise<void> {
    try {
      const prefix = `${this.keys.electionNamespace()}election/${Keys.ELECTION_NAME}/`;
      const res = await this.client.getAll().prefix(prefix).sort('Create', 'Ascend').limit(1).exec();
      const kv = res.kvs[0];
      if (!kv) return;
      const mine = await this.election.campaignKey();
      if (mine === undefined || kv.key.toString() === mine) return;
      const info = JSON.parse(kv.value.toString()) as { name?: string };
      if (info.name !== this.selfName) return;
      await this.client.leaseClient.leaseRevoke({ ID: kv.lease });
      this.log.warn({ key: kv.key.toString() }, 'revoked a stale election key of an earlier campaign of this master');
    } catch (err) {
      this.log.debug({ err }, 'dropping a stale election key failed');
    }
  }

  async close(): Promise<void> {
    this.ac.abort();
    await this.loop;
  }
}
