/** Where the repository and the binaries' entry points are (the tests run them through tsx). */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const BIN = {
  master: join(ROOT, 'src/bin/dm-master.ts'),
  worker: join(ROOT, 'src/bin/dm-worker.ts'),
  dmctl: join(ROOT, 'src/bin/dmctl.ts'),
};
