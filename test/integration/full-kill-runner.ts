/**
 * Child process for full-kill.test.ts: runs the Dump and Load units of a full task given as JSON
 * in argv[2], printing `started`, then one JSON result line. The test SIGKILLs it at random points.
 */
import { createFullUnits } from '../../src/units/full/index.js';

const cfg = JSON.parse(process.argv[2] ?? '{}');
process.stdout.write('started\n');
const { units } = createFullUnits(cfg);
let detail: Record<string, unknown> | undefined;
const t0 = performance.now();
for (const u of units) {
  const r = await u.process(new AbortController().signal);
  if (r.errors.length > 0 || r.isCanceled) {
    process.stdout.write(`${JSON.stringify({ ok: false, errors: r.errors })}\n`);
    process.exit(1);
  }
  detail = r.detail;
  await u.close();
}
process.stdout.write(`${JSON.stringify({ ok: true, detail, maxRssKiB: process.resourceUsage().maxRSS, elapsedMs: performance.now() - t0, cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000 })}\n`);
