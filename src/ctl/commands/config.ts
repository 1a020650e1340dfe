import { writeFileSync } from 'node:fs';
import { MasterPb } from './shared.js';
import { action, usageError } from '../args.js';
import { registerCommand } from '../registry.js';
import { DMError } from '../../errors/index.js';
import { clusterYamlToToml } from '../../config/index.js';

const TYPES: Record<string, MasterPb.ConfigType> = {
  task: MasterPb.ConfigType.TASK,
  source: MasterPb.ConfigType.SOURCE,
  master: MasterPb.ConfigType.MASTER,
  worker: MasterPb.ConfigType.WORKER,
};

registerCommand({
  name: 'config',
  summary: 'show the config of a task, source, master or worker',
  aliases: ['get-config'],
  build(cmd, ctx) {
    cmd
      .argument('<type>', 'task | source | master | worker')
      .argument('<name>', 'task name, source id, master name or worker name')
      .option('-o, --path <file>', 'write the config to this file instead of printing it (master / worker: DM\'s TOML when it ends in .toml, else YAML)')
      .action(
        action(ctx, async (type: string, name: string, o: { path?: string }) => {
          const t = TYPES[type];
          if (t === undefined) {
            usageError(ctx, cmd, `invalid config type '${type}'; use task, source, master or worker`);
            return;
          }
          const resp = await ctx.call((c, co) => c.getConfig({ type: t, name }, co));
          if (resp.result && o.path) {
            try {
              const asToml = (type === 'master' || type === 'worker') && o.path.toLowerCase().endsWith('.toml');
              writeFileSync(o.path, asToml ? clusterYamlToToml(resp.cfg) : resp.cfg);
            } catch (e) {
              throw new DMError('ErrCtlFileRead', `cannot write ${o.path}`, { cause: e });
            }
            ctx.reply({ result: true, msg: `config written to ${o.path}` });
            return;
          }
          ctx.reply({ result: resp.result, msg: resp.msg, cfg: resp.cfg });
        }),
      );
  },
});
