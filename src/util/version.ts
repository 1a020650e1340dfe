import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

function findPackageJson(): { version: string; name: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string; name: string };
    } catch {
      dir = dirname(dir);
    }
  }
  return { version: '0.0.0', name: 'dm-ts' };
}

/** DM.ts release version, read from package.json. */
export const VERSION: string = findPackageJson().version;

export function versionText(component: string): string {
  return `${component} (DM.ts)\nRelease Version: v${VERSION}\nNode Version: ${process.version}\n`;
}
