/**
 * The factory the worker calls to build a subtask's full-phase units (Dump, Load) around one
 * shared FullSession. See docs/full-migration.md.
 */
import type { Registry } from 'prom-client';
import type { Logger } from '../../log/index.js';
import { silentLogger } from '../../log/index.js';
import type { Unit } from '../unit.js';
import { DumpUnit } from './dump-unit.js';
import { FullSession } from './full-session.js';
import { resolveFullConfig, type FullMigrationConfig } from './config.js';
import { LoadUnit } from './load-unit.js';

/**
 * The full-phase units of one subtask, sharing one in-process session:
 *   task-mode all/full → [Dump, Load] (Dump snapshots + plans, Load streams; Load's result detail
 *   carries { startPos, safeModeUntil? } for Sync); dump → [Dump] (files); load → [Load] (from files).
 */
export function createFullUnits(
  config: Parameters<typeof resolveFullConfig>[0] | Readonly<FullMigrationConfig>,
  deps: { log?: Logger; registry?: Registry; workerName?: string } = {},
): { session: FullSession; units: Unit[]; dump: DumpUnit; load: LoadUnit } {
  const cfg = resolveFullConfig(config);
  const log = (deps.log ?? silentLogger).child({ component: 'full', task: cfg.taskName, source: cfg.sourceId });
  const session = new FullSession(cfg, { log, registry: deps.registry, workerName: deps.workerName });
  const dump = new DumpUnit(session, { log });
  const load = new LoadUnit(session, { log });
  const units: Unit[] = cfg.taskMode === 'dump' ? [dump] : cfg.taskMode === 'load' ? [load] : [dump, load];
  return { session, units, dump, load };
}
