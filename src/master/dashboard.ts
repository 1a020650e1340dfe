/**
 * Where the built dashboard is (`npm run build` writes it to dist/web): next to the compiled
 * master (dist/src/master → dist/web) or, when run from source, dist/web of the checkout.
 * `DM_DASHBOARD_DIR` overrides it. Undefined when it was not built: /dashboard/ then answers a
 * page that says how to build it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HttpRequest, HttpResponse } from '../rpc/index.js';

export const DASHBOARD_PREFIX = '/dashboard/';

export function dashboardDir(): string | undefined {
  const candidates = [process.env['DM_DASHBOARD_DIR'], fileURLToPath(new URL('../../web/', import.meta.url)), fileURLToPath(new URL('../../dist/web/', import.meta.url))];
  return candidates.find((d): d is string => !!d && existsSync(`${d}/index.html`));
}

/** The answer under /dashboard when the dashboard was not built. */
export function dashboardMissing(req: HttpRequest, res: HttpResponse): boolean {
  if (!(req.url ?? '').startsWith(DASHBOARD_PREFIX.slice(0, -1))) return false;
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('the dashboard is not built: run `npm run build` (it writes dist/web), or set DM_DASHBOARD_DIR\n');
  return true;
}
