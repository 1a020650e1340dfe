/** MasterService, cluster group: GetClusterInfo (the dashboard's one-call overview). */
import { Stage } from '../../gen/dm/common/v1/common_pb.js';
import { VERSION } from '../../util/index.js';
import type { HandlerEnv, MasterImpl } from './env.js';
import { masterMember, workerMember } from './member.js';

function stageEnum(s: string): Stage {
  return s === 'Running' ? Stage.RUNNING : s === 'Paused' ? Stage.PAUSED : Stage.UNSPECIFIED;
}

export function clusterHandlers(env: HandlerEnv): MasterImpl {
  const { core } = env;
  return {
    async getClusterInfo() {
      const view = await core.clusterView();
      const leader = await env.currentLeader();
      const stages = await core.taskStages();
      const masters = await core.masters();
      const relay = await core.relaySources();
      const sources = [];
      for (const s of [...view.sources].sort()) {
        let address = '';
        let flavor = '';
        let enableRelay = false;
        let enableGtid = false;
        try {
          const text = await core.sourceConfig(s);
          const host = /^\s*host:\s*["']?([^"'\s#]+)/m.exec(text)?.[1] ?? '';
          const port = /^\s*port:\s*(\d+)/m.exec(text)?.[1] ?? '';
          address = host ? `${host}:${port}` : '';
          flavor = /^\s*flavor:\s*["']?(\w+)/m.exec(text)?.[1] ?? '';
          enableRelay = relay.has(s);
          enableGtid = /^\s*enable-gtid:\s*true/m.test(text);
        } catch {
          /* removed meanwhile */
        }
        sources.push({ source: s, worker: view.boundBy.get(s) ?? '', enableRelay, enableGtid, flavor, address });
      }
      const tasks = [...stages.entries()].map(([name, m]) => ({
        name,
        sources: [...m.keys()].sort(),
        stages: Object.fromEntries([...m.entries()].map(([s, r]) => [s, stageEnum(r.stage)])),
      }));
      return {
        result: true,
        msg: '',
        clusterId: core.keys.prefix,
        version: VERSION,
        leader: { name: leader?.name ?? '', address: leader?.addr ?? '' },
        masters: masters.map((m) => masterMember(m, leader)),
        workers: [...view.workers.values()].map((w) => workerMember(w, relay)),
        sources,
        tasks,
      };
    },
  };
}
