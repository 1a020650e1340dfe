/**
 * `mydumpers.<name>.extra-args`: the dumpling/mydumper flags DM passes through. DM.ts has no
 * external dumper, so it understands the flags that map onto its own dump settings and refuses
 * every other flag (at task check, ErrConfigNotSupported), never accepting one it would ignore.
 *
 * Understood (dumpling's spelling; `--flag value` and `--flag=value`):
 *   --where <cond>                     the dump's WHERE (as `mydumpers.where`)
 *   -r, --rows <n>                     rows per chunk (as `mydumpers.rows`)
 *   -t, --threads <n>                  dump connections (as `mydumpers.threads`)
 *   --consistency auto|flush|lock|snapshot|none
 *   -B, --database <db>[,<db>...]      dump only these databases (within the block-allow list)
 *   -T, --tables-list <db.tbl>[,...]   dump only these tables (an unqualified name is looked up
 *                                      in the -B databases, as mydumper did)
 * -B and -T narrow only the full phase's table selection (as in DM, where they reach only the
 * dumper); the sync phase follows the block-allow list.
 * As in DM (dumpling parses extra-args after the task's own keys), a flag here wins over the key.
 */

export const DUMP_CONSISTENCIES = ['auto', 'flush', 'lock', 'snapshot', 'none'] as const;
export type DumpConsistency = (typeof DUMP_CONSISTENCIES)[number];

export interface DumpExtraArgs {
  databases?: string[];
  tables?: { schema?: string; table: string }[];
  where?: string;
  rows?: number;
  threads?: number;
  consistency?: DumpConsistency;
}

export interface ParsedExtraArgs {
  args: DumpExtraArgs;
  /** One line per flag or value DM.ts cannot honour. */
  problems: string[];
}

export const UNDERSTOOD_EXTRA_ARGS = '--where, -r/--rows, -t/--threads, --consistency, -B/--database, -T/--tables-list';

/** Split a command-line string as a POSIX shell would for plain words and '…' / "…" quoting. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`);
  if (inWord) out.push(cur);
  return out;
}

const FLAGS: Record<string, 'where' | 'rows' | 'threads' | 'consistency' | 'databases' | 'tables'> = {
  '-B': 'databases',
  '--database': 'databases',
  '-T': 'tables',
  '--tables-list': 'tables',
  '--where': 'where',
  '-r': 'rows',
  '--rows': 'rows',
  '-t': 'threads',
  '--threads': 'threads',
  '--consistency': 'consistency',
};

/** Parse `extra-args`; problems name each flag DM.ts would have to ignore. */
export function parseExtraArgs(text: string): ParsedExtraArgs {
  const args: DumpExtraArgs = {};
  const problems: string[] = [];
  let words: string[];
  try {
    words = splitArgs(text);
  } catch (e) {
    return { args, problems: [`extra-args ${JSON.stringify(text)}: ${(e as Error).message}`] };
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.startsWith('--') ? w.indexOf('=') : -1;
    const flag = eq > 0 ? w.slice(0, eq) : w;
    const field = FLAGS[flag];
    if (field === undefined) {
      problems.push(`extra-args flag ${JSON.stringify(flag)} (DM.ts understands ${UNDERSTOOD_EXTRA_ARGS})`);
      // skip its value, if it has one, so that one unknown flag gives one problem
      if (eq < 0 && i + 1 < words.length && !words[i + 1]!.startsWith('-')) i++;
      continue;
    }
    const value = eq > 0 ? w.slice(eq + 1) : words[++i];
    if (value === undefined) {
      problems.push(`extra-args flag ${flag} needs a value`);
      continue;
    }
    const list = (): string[] => value.split(',').map((x) => x.trim()).filter((x) => x !== '');
    if (field === 'where') args.where = value;
    else if (field === 'databases') args.databases = [...(args.databases ?? []), ...list()];
    else if (field === 'tables') {
      for (const name of list()) {
        const dot = name.indexOf('.');
        args.tables = [...(args.tables ?? []), dot > 0 ? { schema: name.slice(0, dot), table: name.slice(dot + 1) } : { table: name }];
      }
    }
    else if (field === 'consistency') {
      if ((DUMP_CONSISTENCIES as readonly string[]).includes(value)) args.consistency = value as DumpConsistency;
      else problems.push(`extra-args ${flag} ${JSON.stringify(value)} (one of ${DUMP_CONSISTENCIES.join(', ')})`);
    } else {
      const n = Number(value);
      if (!/^\d+$/.test(value) || (field === 'threads' && n < 1)) problems.push(`extra-args ${flag} ${JSON.stringify(value)} (a whole number${field === 'threads' ? ' ≥ 1' : ''})`);
      else args[field] = n;
    }
  }
  return { args, problems };
}

/**
 * Whether the -B / -T of `args` keep `schema.table` in the dump (always, without them).
 * Names compare case-insensitively, as dumpling does by default.
 */
export function dumpArgsKeepTable(args: Pick<DumpExtraArgs, 'databases' | 'tables'>, schema: string, table: string): boolean {
  const s = schema.toLowerCase();
  const t = table.toLowerCase();
  const dbs = args.databases?.map((d) => d.toLowerCase());
  if (args.tables !== undefined && args.tables.length > 0) {
    return args.tables.some((x) => x.table.toLowerCase() === t && (x.schema !== undefined ? x.schema.toLowerCase() === s : dbs === undefined || dbs.includes(s)));
  }
  return dbs === undefined || dbs.includes(s);
}
