/**
 * `config export` / `config import` (DM's dm/ctl/master/config.go): the sources and tasks of a
 * cluster to a directory and back, in DM's layout:
 *
 *     <dir>/sources/<source-id>.yaml   one source config each
 *     <dir>/tasks/<task-name>.yaml     one task config each, its mysql-instances limited to the
 *                                      sources the task runs on (as DM rebuilds it from subtasks)
 *     <dir>/relay_workers.json         `{"<source-id>": ["<worker>", ...]}`, the workers pulling a
 *                                      source's relay log (only when some do), as DM writes it
 *
 * Passwords stay encrypted: export asks the master for the stored texts (GetConfig with
 * `with_secrets`, admin only), whose passwords etcd holds as the cluster's ciphertext, never in
 * plain text; import sends them back as they are, and the master opens them with the same
 * cluster key (`secret-key-path`). Files are written 0600 in directories 0700.
 *
 * Import creates every source (operate-source create, one at a time) then starts every task
 * (start-task); a source or task that already exists (38003 / 38005) is left as it is, so an
 * import can be repeated. Like DM's, an imported task starts Running (a paused task is not
 * paused again) and relay workers are not restored: when relay_workers.json is there, the reply
 * lists them (`relayWorkers`) with DM's notice to run transfer-source / start-relay by hand. The
 * first other failure stops the import.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { CODES, DMError, isDMError } from '../../errors/index.js';
import type { CtlContext } from '../context.js';
import { MasterPb } from './shared.js';

export const DEFAULT_CONFIG_DIR = 'configs';
export const SOURCE_DIR = 'sources';
export const TASK_DIR = 'tasks';
export const RELAY_WORKERS_FILE = 'relay_workers.json';

/** The task text with its mysql-instances limited to `sources` (the sources it runs on). */
export function taskForSources(text: string, sources: readonly string[]): string {
  const doc = parseDocument(text);
  const inst = doc.get('mysql-instances');
  if (!isSeq(inst) || sources.length === 0) return text;
  const keep = new Set(sources);
  const items = inst.items.filter((it) => !isMap(it) || keep.has(String(it.get('source-id'))));
  if (items.length === inst.items.length) return text;
  inst.items = items;
  return doc.toString();
}

function writeSecret(file: string, text: string): void {
  writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode otherwise
}

function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export async function exportConfigs(ctx: CtlContext, dir: string): Promise<void> {
  const info = await ctx.call((c, co) => c.getClusterInfo({}, co));
  const relayWorkers: Record<string, string[]> = {};
  for (const w of info.workers) for (const s of w.relaySources) (relayWorkers[s] ??= []).push(w.name);
  for (const ws of Object.values(relayWorkers)) ws.sort();
  const sources: string[] = [];
  const tasks: string[] = [];
  const texts = new Map<string, string>();
  for (const s of info.sources) {
    const r = await ctx.call((c, co) => c.getConfig({ type: MasterPb.ConfigType.SOURCE, name: s.source, withSecrets: true }, co));
    texts.set(join(SOURCE_DIR, `${s.source}.yaml`), r.cfg);
    sources.push(s.source);
  }
  for (const t of info.tasks) {
    const r = await ctx.call((c, co) => c.getConfig({ type: MasterPb.ConfigType.TASK, name: t.name, withSecrets: true }, co));
    texts.set(join(TASK_DIR, `${t.name}.yaml`), taskForSources(r.cfg, t.sources));
    tasks.push(t.name);
  }
  try {
    mkdirPrivate(join(dir, SOURCE_DIR));
    mkdirPrivate(join(dir, TASK_DIR));
    for (const [rel, text] of texts) writeSecret(join(dir, rel), text);
    if (Object.keys(relayWorkers).length > 0) writeSecret(join(dir, RELAY_WORKERS_FILE), JSON.stringify(relayWorkers));
  } catch (cause) {
    throw new DMError('ErrCtlConfigExport', `cannot write the configs to directory \`${dir}\``, { cause });
  }
  ctx.reply({ result: true, msg: `export configs to directory \`${dir}\` succeed`, sources, tasks, relayWorkers });
}

/** The `.yaml`/`.yml` files of `dir` (sorted), or none when the directory does not exist. */
function yamlFiles(dir: string): { file: string; text: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f) && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => {
      try {
        return { file: join(dir, f), text: readFileSync(join(dir, f), 'utf8') };
      } catch (cause) {
        throw new DMError('ErrCtlFileRead', `cannot read ${join(dir, f)}`, { cause });
      }
    });
}

type Outcome = 'created' | 'exists';

async function importOne(file: string, existsCode: number, call: () => Promise<{ result: boolean; msg: string; sources: { result: boolean; msg: string; source: string }[] }>): Promise<Outcome> {
  let r;
  try {
    r = await call();
  } catch (e) {
    if (isDMError(e) && e.code === existsCode) return 'exists';
    throw new DMError('ErrCtlConfigImport', `cannot import ${file}: ${isDMError(e) ? e.toString() : String(e)}`, { cause: e });
  }
  if (!r.result) {
    const why = r.msg || r.sources.filter((s) => !s.result).map((s) => `${s.source}: ${s.msg}`).join('; ');
    throw new DMError('ErrCtlConfigImport', `cannot import ${file}: ${why}`);
  }
  return 'created';
}

export async function importConfigs(ctx: CtlContext, dir: string): Promise<void> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DMError('ErrCtlConfigDirNotFound', `config directory \`${dir}\` does not exist`);
  const sourceFiles = yamlFiles(join(dir, SOURCE_DIR));
  const taskFiles = yamlFiles(join(dir, TASK_DIR));
  const sources: { file: string; outcome: Outcome }[] = [];
  const tasks: { file: string; outcome: Outcome }[] = [];
  const relayFile = join(dir, RELAY_WORKERS_FILE);
  let relayWorkers: Record<string, unknown> | undefined;
  if (existsSync(relayFile)) {
    try {
      relayWorkers = JSON.parse(readFileSync(relayFile, 'utf8')) as Record<string, unknown>;
    } catch (cause) {
      throw new DMError('ErrCtlFileRead', `cannot read ${relayFile} (DM's relay_workers.json: {"<source-id>": ["<worker>"]})`, { cause });
    }
  }
  const relayNotice = relayWorkers
    ? {
        relayWorkers,
        notice: `The original relay workers have been exported to \`${relayFile}\`. Currently DM doesn't support recover relay workers. You may need to execute \`transfer-source\` and \`start-relay\` command manually.`,
      }
    : {};
  const progress = (): Record<string, unknown> => ({ sources, tasks, ...relayNotice });
  try {
    for (const f of sourceFiles) {
      const outcome = await importOne(f.file, CODES.ErrMasterSourceExists.code, () => ctx.call((c, co) => c.operateSource({ op: MasterPb.SourceOp.START, config: [f.text] }, co)));
      sources.push({ file: f.file, outcome });
    }
    for (const f of taskFiles) {
      const outcome = await importOne(f.file, CODES.ErrMasterTaskExists.code, () => ctx.call((c, co) => c.startTask({ task: f.text }, co)));
      tasks.push({ file: f.file, outcome });
    }
  } catch (e) {
    ctx.reply({ result: false, msg: isDMError(e) ? e.toString() : String(e), ...progress() });
    return;
  }
  ctx.reply({ result: true, msg: `import configs from directory \`${dir}\` succeed`, ...progress() });
}
