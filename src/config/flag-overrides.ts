/**
 * As in DM, every key of dm-master.yaml / dm-worker.yaml is also a command-line flag of the same
 * name. This turns the flags given on the command line into config overrides (flags win over
 * `--config FILE`), derived from the declared options so the two can never drift apart.
 * A few environment variables override the file too, below the flags (`configOverrides`).
 */
export interface FlagOption {
  /** `--master-addr` */
  long?: string;
  /** `masterAddr`: where the parser stores the value */
  attributeName(): string;
}

/** Flags that are not config keys. */
const NOT_CONFIG_KEYS = new Set(['config', 'version', 'help']);

export function flagOverrides(options: readonly FlagOption[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of options) {
    const key = o.long?.replace(/^--/, '');
    if (!key || NOT_CONFIG_KEYS.has(key)) continue;
    const v = values[o.attributeName()];
    if (typeof v !== 'string') continue;
    // `--keepalive-ttl 10` means seconds, as DM's flag; "10s" / "1m" stay durations
    out[key] = key === 'keepalive-ttl' && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
  }
  return out;
}

/** Environment variables that override a config key: flag > variable > file > default. */
const ENV_KEYS: Readonly<Record<string, string>> = {
  DM_LOG_LEVEL: 'log-level',
};

/** The config overrides given by the environment (empty variables count as unset). */
function envOverrides(env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

/** What the binaries lay over the config file: environment variables, then the flags given. */
export function configOverrides(options: readonly FlagOption[], values: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  return { ...envOverrides(env), ...flagOverrides(options, values) };
}
