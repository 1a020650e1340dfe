import { readFileSync } from 'node:fs';
import { DMError } from '../errors/index.js';
import { decryptOrPlaintext, looksEncrypted } from './encrypt.js';
import { throwProblems } from './problems.js';
import type { YamlFile } from './yaml-doc.js';

export interface LoadOptions {
  /** Name used in error messages (default: the file's base name, or `task.yaml` for text). */
  file?: string;
  /** Secret key for encrypted passwords (the master's `secret-key-path`); default: the built-in key. */
  secretKey?: Buffer;
}

export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new DMError('ErrConfigFileRead', `cannot read config file ${path}`, { cause: e });
  }
}

/** Plaintext of a password from a config file, or ErrConfigDecryptPassword when it is a DM.ts ciphertext this key cannot open. */
export function configPassword(src: YamlFile, path: (string | number)[], text: string, key?: Buffer): string {
  const plain = decryptOrPlaintext(text, key);
  if (plain === text && looksEncrypted(text)) {
    throwProblems(src, [
      {
        code: 'ErrConfigDecryptPassword',
        path,
        detail:
          'the password is DM.ts ciphertext that the configured secret key cannot decrypt (encrypted with another secret-key-path?)',
      },
    ]);
  }
  return plain;
}
