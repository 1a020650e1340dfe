// Makes the compiled entry points executable (package.json "bin").
import { chmodSync, existsSync } from 'node:fs';
for (const b of ['dm-master', 'dm-worker', 'dmctl']) {
  const f = `dist/src/bin/${b}.js`;
  if (existsSync(f)) chmodSync(f, 0o755);
}
