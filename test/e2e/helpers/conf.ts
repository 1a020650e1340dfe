/** Scenario config templates: `conf/*.yaml` with `${VAR}` placeholders rendered into a temp dir. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function render(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\$\{([A-Z0-9_]+)\}/g, (m, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`template variable ${k} not given`);
    return String(v);
  });
}

/** Render `<caseDir>/conf/<name>` into `<outDir>/<name>` and return the path. */
export function renderConf(caseDir: string, name: string, outDir: string, vars: Record<string, string | number>): string {
  const out = join(outDir, name);
  writeFileSync(out, render(readFileSync(join(caseDir, 'conf', name), 'utf8'), vars));
  return out;
}
