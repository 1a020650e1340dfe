import { writeFileSync } from 'node:fs';
import { MasterPb } from './shared.js';
import { action, usageError } from '../args.js';
import { registerCommand } from '../registry.js';
import { DMError } from '../../errors/index.js';
import { clusterYamlToToml } from '../../config/index.js';
import { DEFAULT_CONFIG_DIR, exportConfigs, importConfigs } from './config-dir.js';

const TYPES: Record<string, MasterPb.ConfigType> = {
  task: MasterPb.ConfigType.TASK,
  source: MasterPb.ConfigType.SOURCE,
  master: MasterPb.ConfigType.MASTER,
  worker: MasterPb.ConfigType.WORKER,
  'task-template': MasterPb.ConfigType.TASK_TEMPLATE,
};

/**
 * DM's `config`: `config task|source|master|worker|task-template <name> [-o file]` shows one
 * config; `config export|import [-d dir]` moves the cluster's sources and tasks to a directory
 * and back (config-dir.ts).
 */
registerCommand({
  name: 'config',
  summary: 'show a config (task, source, master, worker, task-template), or export/import the cluster\'s sources and tasks',
  aliases: ['get-config'],
  build(cmd, ctx) {
    cmd
      .argument('<type>', 'task | source | master | worker | task-template | export | import')
      .argument('[name]', 'task name, source id, master name, worker name or task template name')
      .option('-p, --path <file>', 'write the config to this file instead of printing it (master / worker: DM\'s TOML when it ends in .toml, else YAML); export / import: the directory')
      .option('-o, --output <file>', 'the same as --path (DM\'s get-config flag)')
      .option('-d, --dir <dir>', `export / import: the directory (default ./${DEFAULT_CONFIG_DIR})`)
      .action(
        action(ctx, async (type: string, name: string | undefined, opts: { path?: string; output?: string; dir?: string }) => {
          if (opts.path !== undefined && opts.output !== undefined && opts.path !== opts.output) {
            usageError(ctx, cmd, '--path (-p) and --output (-o) name different files; give one');
            return;
          }
          const path = opts.path ?? opts.output;
          const o = { ...(path !== undefined ? { path } : {}), ...(opts.dir !== undefined ? { dir: opts.dir } : {}) };
          if (type === 'export' || type === 'import') {
            if (name !== undefined) {
              usageError(ctx, cmd, `config ${type} takes no name; give the directory with -d`);
              return;
            }
            // DM: --path wins over --dir
            const dir = o.path ?? o.dir ?? DEFAULT_CONFIG_DIR;
            await (type === 'export' ? exportConfigs(ctx, dir) : importConfigs(ctx, dir));
            return;
          }
          const t = TYPES[type];
          if (t === undefined) {
            usageError(ctx, cmd, `invalid config type '${type}'; use task, source, master, worker, task-template, export or import`);
            return;
          }
          if (!name) {
            usageError(ctx, cmd, `config ${type} needs a name`);
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
