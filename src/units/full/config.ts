import type { BAListRule, RouteRule } from '../../filter/types.js';
import { DMError } from '../../errors/index.js';
import type { ConnConfig } from '../../sql/index.js';
import { retryPolicy as policyOf, type RetryPolicy } from '../../util/index.js';
import {
  DEFAULT_CHUNK_ROWS,
  DEFAULT_CONSISTENCY,
  DEFAULT_LOADER_DIR,
  DEFAULT_CLEAN_DUMP_FILE,
  DEFAULT_LOADER_POOL_SIZE,
  DEFAULT_LOAD_RETRY_ATTEMPTS,
  DEFAULT_LOAD_RETRY_INITIAL_DELAY_MS,
  DEFAULT_LOAD_RETRY_MAX_DELAY_MS,
  DEFAULT_META_SCHEMA,
  DEFAULT_MYDUMPER_THREADS,
} from '../../config/index.js';

/** DM `consistency` modes of the `mydumpers` block. */
export type Consistency = 'auto' | 'flush' | 'lock' | 'snapshot' | 'none';
export type OnDuplicate = 'replace' | 'error' | 'ignore';
export type ImportMode = 'loaddata' | 'sql';
/** The values accepted for `importMode` (DM's `import-mode` values map to DM.ts's two paths). */
export type ImportModeInput = ImportMode | 'logical' | 'physical' | 'loader';
export const DEFAULT_IMPORT_MODE: ImportMode = 'loaddata';
export type FullTaskMode = 'all' | 'full' | 'dump' | 'load';

/** The task's `mydumpers` block (the keys DM.ts honours). */
export interface DumperConfig {
  /** Dump connections, each holding one consistent-snapshot transaction. DM default 4. */
  threads: number;
  /** Rows per chunk; 0 = DM.ts default (DEFAULT_CHUNK_ROWS), so that resume stays fine-grained. */
  rows: number;
  /** Extra WHERE applied to every migrated table (mydumper `--where`). */
  where: string;
  consistency: Consistency;
  /** `extra-args` -B (databases) and -T (tables) narrowing the dump's tables (src/config/extra-args.ts); absent = every table the block-allow list selects. */
  only?: { databases?: string[]; tables?: { schema?: string; table: string }[] };
  /** mydumper `extra-args` as written (informational: the worker already folded its flags into the fields above; src/config/extra-args.ts). */
  extraArgs: string;
}

/** The task's `loaders` block. */
export interface LoaderConfig {
  /** Parallel target connections. DM default 16. */
  poolSize: number;
  /** Dump files directory (task-mode dump writes it, task-mode load reads it). */
  dir: string;
  onDuplicate: OnDuplicate;
  /**
   * `loaddata` (default): each chunk is one `LOAD DATA LOCAL INFILE` fed from the source row stream;
   * `sql`: multi-row INSERT/REPLACE statements. DM's `import-mode` values `logical`, `physical` and
   * `loader` select the default (`loaddata`). `on-duplicate: error` always uses `sql` (LOAD DATA LOCAL
   * cannot stop at a duplicate), and a target with `local_infile=OFF` falls back to `sql`.
   */
  importMode: ImportMode;
  /**
   * DM `clean-dump-file`: once task-mode load has loaded every file (and added the deferred
   * indexes), remove the data files (`<db>.<tbl>.<n>.sql`) of the tables it loaded; `metadata` and
   * the schema files stay. Other task modes stream rows and write no files to clean.
   */
  cleanDumpFile: boolean;
  /** Retries of a chunk on retryable errors (target or source unreachable, deadlock) before failing. */
  retryAttempts: number;
  /** First backoff delay (ms); doubles each retry up to retryMaxDelayMs. */
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
}

/** Everything the dump and load units need, built by the worker from the resolved task config. Plain data. */
export interface FullMigrationConfig {
  taskName: string;
  sourceId: string;
  taskMode: FullTaskMode;
  source: ConnConfig;
  target: ConnConfig;
  metaSchema: string;
  caseSensitive: boolean;
  baList?: BAListRule;
  routes: readonly RouteRule[];
  /** DM `online-ddl`: the shadow / trash table rules (defaults filled in); their tables are never dumped. Absent = off. */
  onlineDDL?: { shadowTableRules: readonly string[]; trashTableRules: readonly string[] };
  mydumper: DumperConfig;
  loader: LoaderConfig;
}

/**
 * Validate and freeze. The worker gives a complete config (src/worker/pipeline.ts); what a direct
 * caller (a test) leaves out gets src/config's named defaults, the only defaults there are.
 */
export function resolveFullConfig(
  c: Partial<Omit<FullMigrationConfig, 'mydumper' | 'loader'>> &
    Pick<FullMigrationConfig, 'taskName' | 'sourceId' | 'source' | 'target'> & {
      mydumper?: Partial<DumperConfig>;
      loader?: Partial<Omit<LoaderConfig, 'importMode'>> & { importMode?: ImportModeInput | string };
    },
): Readonly<FullMigrationConfig> {
  const md: DumperConfig = {
    threads: c.mydumper?.threads ?? DEFAULT_MYDUMPER_THREADS,
    rows: c.mydumper?.rows ?? 0,
    where: c.mydumper?.where ?? '',
    consistency: c.mydumper?.consistency ?? DEFAULT_CONSISTENCY,
    extraArgs: c.mydumper?.extraArgs ?? '',
    ...(c.mydumper?.only ? { only: c.mydumper.only } : {}),
  };
  const ld: LoaderConfig = {
    poolSize: c.loader?.poolSize ?? DEFAULT_LOADER_POOL_SIZE,
    dir: c.loader?.dir ?? DEFAULT_LOADER_DIR,
    onDuplicate: c.loader?.onDuplicate ?? 'replace',
    importMode: resolveImportMode(c.loader?.importMode),
    cleanDumpFile: c.loader?.cleanDumpFile ?? DEFAULT_CLEAN_DUMP_FILE,
    retryAttempts: c.loader?.retryAttempts ?? DEFAULT_LOAD_RETRY_ATTEMPTS,
    retryInitialDelayMs: c.loader?.retryInitialDelayMs ?? DEFAULT_LOAD_RETRY_INITIAL_DELAY_MS,
    retryMaxDelayMs: c.loader?.retryMaxDelayMs ?? DEFAULT_LOAD_RETRY_MAX_DELAY_MS,
  };
  if (!['auto', 'flush', 'lock', 'snapshot', 'none'].includes(md.consistency))
    throw new DMError('ErrDumpInvalidConfig', `mydumpers.consistency: '${md.consistency}' is not one of auto, flush, lock, snapshot, none`);
  if (!Number.isInteger(md.threads) || md.threads < 1) throw new DMError('ErrDumpInvalidConfig', `mydumpers.threads must be >= 1, got ${md.threads}`);
  if (!Number.isInteger(md.rows) || md.rows < 0) throw new DMError('ErrDumpInvalidConfig', `mydumpers.rows must be >= 0, got ${md.rows}`);
  if (!Number.isInteger(ld.poolSize) || ld.poolSize < 1) throw new DMError('ErrDumpInvalidConfig', `loaders.pool-size must be >= 1, got ${ld.poolSize}`);
  if (!['replace', 'error', 'ignore'].includes(ld.onDuplicate))
    throw new DMError('ErrDumpInvalidConfig', `loaders.on-duplicate: '${ld.onDuplicate}' is not one of replace, error, ignore`);
  if (!/^[A-Za-z0-9_-]+$/.test(c.taskName)) throw new DMError('ErrDumpInvalidConfig', `task name '${c.taskName}' must match [A-Za-z0-9_-]+`);
  const cfg: FullMigrationConfig = {
    taskName: c.taskName,
    sourceId: c.sourceId,
    taskMode: c.taskMode ?? 'full',
    source: c.source,
    target: c.target,
    metaSchema: c.metaSchema ?? DEFAULT_META_SCHEMA,
    caseSensitive: c.caseSensitive ?? false,
    ...(c.baList ? { baList: c.baList } : {}),
    routes: c.routes ?? [],
    ...(c.onlineDDL ? { onlineDDL: c.onlineDDL } : {}),
    mydumper: Object.freeze(md),
    loader: Object.freeze(ld),
  };
  return Object.freeze(cfg);
}

function resolveImportMode(m: string | undefined): ImportMode {
  if (m === undefined) return DEFAULT_IMPORT_MODE;
  if (m === 'sql') return 'sql';
  if (m === 'loaddata' || m === 'logical' || m === 'physical' || m === 'loader') return 'loaddata';
  throw new DMError('ErrDumpInvalidConfig', `loaders.import-mode: '${m}' is not one of loaddata, sql (or DM's logical, physical, loader)`);
}

export function chunkRows(cfg: Pick<FullMigrationConfig, 'mydumper'>): number {
  return cfg.mydumper.rows > 0 ? cfg.mydumper.rows : DEFAULT_CHUNK_ROWS;
}

/**
 * The full phase's retry policy (src/util's module): DMErrors the code table marks retryable
 * (never by message text), `retryAttempts` times, backoff from `retryInitialDelayMs` to `retryMaxDelayMs`.
 */
export function retryPolicy(loader: Pick<LoaderConfig, 'retryAttempts' | 'retryInitialDelayMs' | 'retryMaxDelayMs'>): RetryPolicy {
  return policyOf({
    when: (e) => e instanceof DMError && e.retryable,
    maxAttempts: loader.retryAttempts,
    backoff: { initialDelayMs: loader.retryInitialDelayMs, maxDelayMs: loader.retryMaxDelayMs },
  });
}
