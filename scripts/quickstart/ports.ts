/**
 * The sandbox's ports: DM's and a local-MariaDB-friendly default set (3307/3308/8261/8291/8271/8262),
 * each replaced by a kernel-chosen free port when taken. Chosen once and saved in ports.json, so a
 * re-run reuses them (the previous sandbox is stopped first) unless one has since been taken.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort } from '../../test/helpers/services.js';

export interface SandboxPorts {
  source: number;
  target: number;
  master: number;
  masterPeer: number;
  masterClient: number;
  worker: number;
}

export const DEFAULT_PORTS: SandboxPorts = {
  source: 3307,
  target: 3308,
  master: 8261,
  masterPeer: 8291,
  masterClient: 8271,
  worker: 8262,
};

/** Whether nothing listens on 127.0.0.1:port (we can bind it). */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function readSaved(file: string): Partial<SandboxPorts> {
  if (!existsSync(file)) return {};
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const out: Partial<SandboxPorts> = {};
    for (const k of Object.keys(DEFAULT_PORTS) as (keyof SandboxPorts)[]) {
      const v = o[k];
      if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65536) out[k] = v;
    }
    return out;
  } catch {
    return {};
  }
}

export function readPorts(file: string): SandboxPorts | undefined {
  const saved = readSaved(file);
  return Object.keys(DEFAULT_PORTS).every((k) => k in saved) ? (saved as SandboxPorts) : undefined;
}

/**
 * Pick the ports: the saved one, else the default, for each member; a port that is in use (or
 * already picked for another member) is replaced by a free one. Writes ports.json.
 */
export async function choosePorts(file: string, onlyFree: boolean): Promise<SandboxPorts> {
  const saved = readSaved(file);
  const used = new Set<number>();
  const out = { ...DEFAULT_PORTS };
  for (const k of Object.keys(DEFAULT_PORTS) as (keyof SandboxPorts)[]) {
    const want = onlyFree ? undefined : (saved[k] ?? DEFAULT_PORTS[k]);
    let p = want !== undefined && !used.has(want) && (await portIsFree(want)) ? want : await freePort();
    while (used.has(p)) p = await freePort();
    used.add(p);
    out[k] = p;
  }
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
