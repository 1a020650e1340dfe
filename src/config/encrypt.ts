import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DMError } from '../errors/index.js';
import { isMap, type Document } from 'yaml';

/**
 * Password encryption shared by `dmctl encrypt` and the config loaders.
 *
 * AES-256-GCM. Ciphertext = base64( version(1 byte, =1) | iv(12) | tag(16) | ciphertext ).
 * The key is the 32-byte key in the master's `secret-key-path` file (64 hex digits), or, when no
 * key file is configured, a built-in key (as DM does: anyone with DM.ts can decrypt such text, so
 * it only keeps passwords from being read over a shoulder; configure a key for real secrecy).
 *
 * DM's own ciphertexts (`dmctl encrypt` of DM: base64( iv(16) | '@' | AES-CFB(plaintext) ), with
 * the key of DM's `secret-key-path`, or DM's historical built-in key when none is configured) are
 * accepted wherever DM.ts text is, so a DM task or source file runs unchanged.
 */
export const CIPHER_VERSION = 1;
const IV_LEN = 12;
const TAG_LEN = 16;
const HEADER_LEN = 1 + IV_LEN + TAG_LEN;
export const SECRET_KEY_BYTES = 32;

/** The built-in key used when no `secret-key-path` is configured. */
export const DEFAULT_SECRET_KEY: Buffer = createHash('sha256')
  .update('DM.ts built-in password key, version 1')
  .digest();

function checkKey(key: Buffer | undefined): Buffer {
  const k = key ?? DEFAULT_SECRET_KEY;
  if (k.length !== SECRET_KEY_BYTES) {
    throw new DMError(
      'ErrEncryptSecretKeyMissing',
      `secret key must be ${SECRET_KEY_BYTES} bytes, got ${k.length}`,
    );
  }
  return k;
}

/** Encrypt a plaintext password; returns base64 text to put in a config file. */
export function encrypt(plain: string, key?: Buffer): string {
  const k = checkKey(key);
  try {
    const iv = randomBytes(IV_LEN);
    const c = createCipheriv('aes-256-gcm', k, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return Buffer.concat([Buffer.from([CIPHER_VERSION]), iv, c.getAuthTag(), body]).toString('base64');
  } catch (e) {
    throw new DMError('ErrEncryptFailed', 'encrypting the password failed', { cause: e });
  }
}

/** DM's historical built-in key (DM before `secret-key-path`), used for DM text when no key is configured. */
const DM_LEGACY_KEY = Buffer.from('a529b7665997f043a30ac8fadcb51d6aa032c226ab5b7750530b12b8c1a16a48', 'hex');
const DM_IV_LEN = 16;
const DM_IV_SEP = 0x40; // '@'

/** Bytes of `text` when it has the shape of a DM ciphertext: base64 of iv(16) | '@' | data. */
function dmCipherBytes(text: string): Buffer | undefined {
  const t = text.trim();
  if (t.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return undefined;
  const b = Buffer.from(t, 'base64');
  if (b.toString('base64') !== t) return undefined;
  if (b.length <= DM_IV_LEN + 1 || b[DM_IV_LEN] !== DM_IV_SEP) return undefined;
  return b;
}

/** Decrypt DM's AES-CFB format (key of 16, 24 or 32 bytes, as DM allows). */
function decryptDM(b: Buffer, key: Buffer | undefined): string {
  const k = key ?? DM_LEGACY_KEY;
  const algo = k.length === 16 ? 'aes-128-cfb' : k.length === 24 ? 'aes-192-cfb' : 'aes-256-cfb';
  const d = createDecipheriv(algo, k, b.subarray(0, DM_IV_LEN));
  return Buffer.concat([d.update(b.subarray(DM_IV_LEN + 1)), d.final()]).toString('utf8');
}

/** Encrypt in DM's format (for tests and for producing text a DM cluster can read). */
export function encryptDM(plain: string, key?: Buffer): string {
  const k = key ?? DM_LEGACY_KEY;
  const iv = randomBytes(DM_IV_LEN);
  const c = createCipheriv('aes-256-cfb', k, iv);
  return Buffer.concat([iv, Buffer.from([DM_IV_SEP]), c.update(plain, 'utf8'), c.final()]).toString('base64');
}

/** Bytes of `text` when it has the shape of a DM.ts ciphertext (strict base64, version byte, length). */
function cipherBytes(text: string): Buffer | undefined {
  const t = text.trim();
  if (t.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return undefined;
  const b = Buffer.from(t, 'base64');
  if (b.toString('base64') !== t) return undefined;
  if (b.length < HEADER_LEN || b[0] !== CIPHER_VERSION) return undefined;
  return b;
}

/** True when `text` is shaped like a DM.ts ciphertext (it may still fail to decrypt with a given key). */
export function looksEncrypted(text: string): boolean {
  return cipherBytes(text) !== undefined;
}

/**
 * Decrypt text made by `encrypt`. Throws ErrEncryptCiphertextInvalid when the text is not a
 * DM.ts ciphertext or the key does not open it, ErrEncryptSecretKeyMissing for a bad key.
 */
export function decrypt(cipher: string, key?: Buffer): string {
  const k = checkKey(key);
  const b = cipherBytes(cipher);
  if (!b) {
    const dm = dmCipherBytes(cipher);
    if (dm) return decryptDM(dm, key);
    throw new DMError(
      'ErrEncryptCiphertextInvalid',
      `text is not a DM.ts ciphertext (expected base64 of version ${CIPHER_VERSION} | 12-byte iv | 16-byte tag | data)`,
    );
  }
  try {
    const d = createDecipheriv('aes-256-gcm', k, b.subarray(1, 1 + IV_LEN));
    d.setAuthTag(b.subarray(1 + IV_LEN, HEADER_LEN));
    return Buffer.concat([d.update(b.subarray(HEADER_LEN)), d.final()]).toString('utf8');
  } catch (e) {
    throw new DMError(
      'ErrEncryptCiphertextInvalid',
      'ciphertext cannot be decrypted with this secret key (it was encrypted with another key, or it is damaged)',
      { cause: e },
    );
  }
}

/**
 * Decrypt when possible, else return the text as it is: DM treats text it cannot decrypt as a
 * plaintext password, and so does DM.ts (DM's own ciphertexts are decrypted, see `decrypt`).
 */
export function decryptOrPlaintext(text: string, key?: Buffer): string {
  try {
    return decrypt(text, key);
  } catch (e) {
    if (e instanceof DMError && e.codeName === 'ErrEncryptCiphertextInvalid') return text;
    throw e;
  }
}

/** Read a secret key file: 64 hex digits (32 bytes), surrounding whitespace ignored. */
export function loadSecretKey(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DMError('ErrEncryptSecretKeyMissing', `cannot read secret key file ${path}`, { cause: e });
  }
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new DMError(
      'ErrEncryptSecretKeyMissing',
      `secret key file ${path} must hold exactly 64 hex digits (a 32-byte key); it holds ${hex.length} characters`,
    );
  }
  return Buffer.from(hex, 'hex');
}

/**
 * The key in `path`; when the file does not exist yet, a fresh random key is written there first
 * (mode 0600, directories created): a dm-master's `secret-key-path` is generated on first start.
 */
export function loadOrCreateSecretKey(path: string): Buffer {
  if (!existsSync(path)) {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, `${generateSecretKeyHex()}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DMError('ErrEncryptSecretKeyMissing', `cannot create secret key file ${path}`, { cause: e });
    }
  }
  return loadSecretKey(path);
}

/** A fresh random key as 64 hex digits, for writing a `secret-key-path` file. */
export function generateSecretKeyHex(): string {
  return randomBytes(SECRET_KEY_BYTES).toString('hex');
}

/**
 * The text of a parsed YAML document with `<block>.password` encrypted (as stored in etcd); the
 * document itself is left unchanged. An empty or already encrypted password is kept; a number
 * (`password: 123456`) is a password too (the config loaders read it as a string).
 */
export function withEncryptedPassword(doc: Document, block: string, key?: Buffer): string {
  const out = doc.clone();
  const b = out.get(block);
  if (isMap(b)) {
    const pw = b.get('password');
    const plain = typeof pw === 'number' ? String(pw) : pw;
    // DM's own ciphertext (`dmctl encrypt` of DM) is opened first, so etcd holds DM.ts text of the password
    if (typeof plain === 'string' && plain !== '' && !looksEncrypted(plain)) b.set('password', encrypt(decryptOrPlaintext(plain, key), key));
  }
  return out.toString();
}
