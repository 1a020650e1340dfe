/** MasterService, config group: GetConfig (`dmctl config task|source|master|worker|task-template`, `config export`) and Encrypt. */
import { DMError } from '../../errors/index.js';
import { ConfigType } from '../../gen/dm/master/v1/master_pb.js';
import { maskSourcePassword, maskTaskPassword } from '../config-adapter.js';
import type { HandlerEnv, MasterImpl } from './env.js';

export function configHandlers(env: HandlerEnv): MasterImpl {
  const { core, d, masterClient, workerClient } = env;
  return {
    async getConfig(req) {
      switch (req.type) {
        // with_secrets (`config export`): the stored text, whose passwords etcd holds encrypted with
        // the cluster's key (never plain text); otherwise ****** as DM shows them
        case ConfigType.TASK: {
          const text = await core.taskConfig(req.name);
          return { result: true, msg: '', cfg: req.withSecrets ? text : maskTaskPassword(text) };
        }
        case ConfigType.SOURCE: {
          const text = await core.sourceConfig(req.name);
          return { result: true, msg: '', cfg: req.withSecrets ? text : maskSourcePassword(text) };
        }
        case ConfigType.TASK_TEMPLATE: {
          const text = await core.templates.get(req.name);
          return { result: true, msg: '', cfg: req.withSecrets ? text : maskTaskPassword(text) };
        }
        case ConfigType.MASTER: {
          if (req.name && req.name !== d.name) {
            const m = (await core.masters()).find((x) => x.info.name === req.name);
            if (!m) throw new DMError('ErrSchedulerMasterNotFound', `master ${req.name} not found`);
            return masterClient(m.info.addr).getConfig(req);
          }
          return { result: true, msg: '', cfg: d.configYaml() };
        }
        case ConfigType.WORKER: {
          const w = (await core.clusterView()).workers.get(req.name);
          if (!w || w.stage === 'offline') throw new DMError('ErrMasterWorkerNotFound', `worker ${req.name} not found or offline`);
          const r = await workerClient(w.addr).getWorkerCfg({});
          return { result: r.result, msg: r.msg, cfg: r.cfg };
        }
        default:
          throw new DMError('ErrMasterInvalidRequest', 'get-config needs a type: task, source, master, worker or task-template');
      }
    },

    async encrypt(req) {
      return { result: true, msg: '', ciphertext: core.encrypt(req.plaintext) };
    },
  };
}
