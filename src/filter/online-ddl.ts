/**
 * Online schema change tools (gh-ost, pt-online-schema-change): which upstream tables are their
 * shadow ("ghost") and trash tables, and which real table each belongs to. DM's `online-ddl`
 * with `shadow-table-rules` / `trash-table-rules` (regular expressions with exactly one capture
 * group, the real table's name; `^` and `$` added when missing, as DM does).
 *
 *   gh-ost: `_t_gho` shadow, `_t_ghc` changelog (trash), `_t_del` the old table after cut-over (trash)
 *   pt-osc: `_t_new` shadow, `_t_old` the old table after the swap (trash)
 *
 * A table matching a shadow rule is a shadow table (shadow rules win over trash rules, as in DM).
 * Used by the sync unit (src/units/sync/online-ddl.ts), the full phase (never dumps them) and the
 * `online_ddl` precheck. Pure: no I/O.
 */

export type OnlineTableType = 'real' | 'shadow' | 'trash';

export interface OnlineDDLRules {
  /** The rules as compiled (anchored). */
  readonly shadowTableRules: readonly string[];
  readonly trashTableRules: readonly string[];
  tableType(table: string): OnlineTableType;
  /** The real table a shadow or trash table belongs to (the rule's capture group); a real table's own name. */
  realName(table: string): string;
}

/** DM's rule anchoring: `^` and `$` added when missing. */
export function anchorOnlineDDLRule(rule: string): string {
  let r = rule;
  if (!r.startsWith('^')) r = `^${r}`;
  if (!r.endsWith('$')) r = `${r}$`;
  return r;
}

/** Why a rule cannot be used (does not compile, or has not exactly one capture group); undefined when it is fine. */
export function onlineDDLRuleProblem(rule: string): string | undefined {
  const r = anchorOnlineDDLRule(rule);
  let re: RegExp;
  try {
    re = new RegExp(r);
  } catch (e) {
    return `${JSON.stringify(r)} is not a valid regular expression: ${(e as Error).message}`;
  }
  // groups of a pattern: an alternative that always matches the empty string reports them all
  const groups = (new RegExp(`${re.source}|`).exec('')?.length ?? 1) - 1;
  if (groups !== 1) return `${JSON.stringify(r)} must have exactly one capture group (the real table's name), it has ${groups}`;
  return undefined;
}

/**
 * Compile the rules (already defaulted by the caller; src/config has DM's defaults). Throws a
 * plain Error naming the rule when one is unusable: the task config validates them first.
 */
export function compileOnlineDDLRules(shadowRules: readonly string[], trashRules: readonly string[]): OnlineDDLRules {
  const compile = (rules: readonly string[]): RegExp[] =>
    rules.map((rule) => {
      const why = onlineDDLRuleProblem(rule);
      if (why !== undefined) throw new Error(why);
      return new RegExp(anchorOnlineDDLRule(rule));
    });
  const shadow = compile(shadowRules);
  const trash = compile(trashRules);
  const cache = new Map<string, { type: OnlineTableType; real: string }>();
  const classify = (table: string): { type: OnlineTableType; real: string } => {
    let v = cache.get(table);
    if (v) return v;
    v = { type: 'real', real: table };
    for (const re of shadow) {
      const m = re.exec(table);
      if (m) {
        v = { type: 'shadow', real: m[1] ?? table };
        break;
      }
    }
    if (v.type === 'real') {
      for (const re of trash) {
        const m = re.exec(table);
        if (m) {
          v = { type: 'trash', real: m[1] ?? table };
          break;
        }
      }
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(table, v);
    return v;
  };
  return {
    shadowTableRules: shadow.map((r) => r.source),
    trashTableRules: trash.map((r) => r.source),
    tableType: (t) => classify(t).type,
    realName: (t) => classify(t).real,
  };
}
