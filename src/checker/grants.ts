/**
 * Parse `SHOW GRANTS` output (MySQL and MariaDB) into privilege sets per scope, to answer
 * "does this user hold privilege P on schema S / table T".
 */

export interface Grants {
  global: Set<string>;
  /** schema → privileges */
  db: Map<string, Set<string>>;
  /** `schema.table` → privileges */
  table: Map<string, Set<string>>;
}

function unquote(id: string): string {
  const s = id.trim();
  if ((s.startsWith('`') && s.endsWith('`')) || (s.startsWith("'") && s.endsWith("'")) || (s.startsWith('"') && s.endsWith('"'))) {
    return s.slice(1, -1).replace(/``/g, '`');
  }
  return s;
}

/** Split `SELECT, INSERT (a, b), RELOAD` at top-level commas and drop column lists. */
function splitPrivs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
      continue;
    }
    if (depth === 0 && ch !== ')') cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim().toUpperCase().replace(/\s+/g, ' ')).filter((p) => p.length > 0);
}

/** Split `db`.`t` on the dot outside backquotes. */
function splitScope(scope: string): [string, string] {
  let inQ = false;
  for (let i = 0; i < scope.length; i++) {
    const ch = scope[i];
    if (ch === '`') inQ = !inQ;
    else if (ch === '.' && !inQ) return [unquote(scope.slice(0, i)), unquote(scope.slice(i + 1))];
  }
  return [unquote(scope), '*'];
}

export function parseGrants(lines: readonly string[]): Grants {
  const g: Grants = { global: new Set(), db: new Map(), table: new Map() };
  for (const line of lines) {
    const m = /^GRANT\s+(.+?)\s+ON\s+(?:TABLE\s+|FUNCTION\s+|PROCEDURE\s+)?(\S+)\s+TO\s/i.exec(line);
    if (!m) continue; // role grants (`GRANT role TO user`) and PROXY lines carry no object privileges
    const privs = splitPrivs(m[1] ?? '');
    const [db, tbl] = splitScope(m[2] ?? '');
    let set: Set<string>;
    if (db === '*' && tbl === '*') set = g.global;
    else if (tbl === '*') {
      set = g.db.get(db) ?? new Set();
      g.db.set(db, set);
    } else {
      const k = `${db}.${tbl}`;
      set = g.table.get(k) ?? new Set();
      g.table.set(k, set);
    }
    for (const p of privs) set.add(p === 'ALL' ? 'ALL PRIVILEGES' : p);
  }
  return g;
}

function has(set: Set<string> | undefined, priv: string): boolean {
  if (!set) return false;
  return set.has('ALL PRIVILEGES') || set.has(priv);
}

/** Privileges that are equivalent names across MySQL and MariaDB versions. */
const ALIASES: Record<string, string[]> = {
  'REPLICATION CLIENT': ['REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER'],
  'REPLICATION SLAVE': ['REPLICATION SLAVE', 'REPLICATION REPLICA'],
};

/** Global privilege check (RELOAD, REPLICATION SLAVE, ...). */
export function hasGlobal(g: Grants, priv: string): boolean {
  return (ALIASES[priv] ?? [priv]).some((p) => has(g.global, p));
}

/** Object privilege check on a table (global, schema or table level). */
export function hasOnTable(g: Grants, priv: string, schema: string, table: string): boolean {
  if (has(g.global, priv)) return true;
  for (const [db, set] of g.db) if (likeMatch(db, schema) && has(set, priv)) return true;
  return has(g.table.get(`${schema}.${table}`), priv);
}

/** SHOW GRANTS schema names may use `_` and `%` wildcards (escaped with `\`). */
function likeMatch(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? '';
    if (ch === '\\' && i + 1 < pattern.length) {
      re += (pattern[++i] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$').test(name);
}
