import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DMError } from '../../src/errors/index.js';
import {
  decrypt,
  decryptOrPlaintext,
  encrypt,
  encryptDM,
  generateSecretKeyHex,
  loadSecretKey,
  loadOrCreateSecretKey,
} from '../../src/config/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof DMError ? e.codeName : `not a DMError: ${String(e)}`;
  }
  return undefined;
}

void test('round trip with the built-in key and with a configured key', () => {
  for (const plain of ['', 'p@ss w0rd', 'ünïcødé 密码', 'x'.repeat(1000)]) {
    const c = encrypt(plain);
    assert.notEqual(c, plain);
    assert.equal(decrypt(c), plain);
  }
  const key = Buffer.from(generateSecretKeyHex(), 'hex');
  const c = encrypt('secret', key);
  assert.equal(decrypt(c, key), 'secret');
  assert.notEqual(encrypt('secret', key), c, 'a fresh IV each time');
});

void test('wrong key and garbage ciphertext are ErrEncryptCiphertextInvalid', () => {
  const c = encrypt('secret', Buffer.alloc(32, 1));
  assert.equal(
    codeOf(() => decrypt(c, Buffer.alloc(32, 2))),
    'ErrEncryptCiphertextInvalid',
  );
  assert.equal(
    codeOf(() => decrypt(c)),
    'ErrEncryptCiphertextInvalid',
  );
  assert.equal(
    codeOf(() => decrypt('not base64 at all!')),
    'ErrEncryptCiphertextInvalid',
  );
  // DM's ciphertext (DM's docs) is DM's format, decrypted as DM does: see the DM test below.
  assert.equal(decrypt('/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs='), '123456');
  const tampered = Buffer.from(encrypt('secret'), 'base64');
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
  assert.equal(
    codeOf(() => decrypt(tampered.toString('base64'))),
    'ErrEncryptCiphertextInvalid',
  );
  assert.equal(
    codeOf(() => encrypt('x', Buffer.alloc(16))),
    'ErrEncryptSecretKeyMissing',
  );
});

void test('decryptOrPlaintext returns text it cannot decrypt unchanged', () => {
  const key = Buffer.alloc(32, 3);
  assert.equal(decryptOrPlaintext(encrypt('abc', key), key), 'abc');
  assert.equal(decryptOrPlaintext('plain-password', key), 'plain-password');
  // DM's own encrypted password from its documentation ("123456" under DM's built-in key):
  // decrypted as DM does (AES-256-CFB, iv | '@' | data), no longer passed through as plaintext.
  assert.equal(decryptOrPlaintext('/Q7B9DizNLLTTfiZHv9WoEAKamfpIUs='), '123456');
  const other = encrypt('abc', Buffer.alloc(32, 4));
  assert.equal(decryptOrPlaintext(other, key), other);
});

void test('loadSecretKey reads 64 hex digits and rejects anything else', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const hex = generateSecretKeyHex();
  writeFileSync(join(dir, 'good'), `${hex}\n`);
  writeFileSync(join(dir, 'short'), 'abcd\n');
  const key = loadSecretKey(join(dir, 'good'));
  assert.equal(key.toString('hex'), hex);
  assert.equal(decrypt(encrypt('pw', key), loadSecretKey(join(dir, 'good'))), 'pw');
  assert.equal(
    codeOf(() => loadSecretKey(join(dir, 'short'))),
    'ErrEncryptSecretKeyMissing',
  );
  assert.equal(
    codeOf(() => loadSecretKey(join(dir, 'missing'))),
    'ErrEncryptSecretKeyMissing',
  );
});

void test('DM ciphertexts (AES-CFB, iv | @ | data) decrypt with the configured key, or DM\'s built-in one', () => {
  const key = Buffer.alloc(32, 7);
  assert.equal(decrypt(encryptDM('s3cret', key), key), 's3cret');
  assert.equal(decryptOrPlaintext(encryptDM('pässword')), 'pässword');
  // DM.ts's own format is still preferred and authenticated.
  assert.equal(decrypt(encrypt('x', key), key), 'x');
});

void test('loadOrCreateSecretKey writes a fresh 0600 key file on first use and reads it afterwards', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'secret.key');
  const k1 = loadOrCreateSecretKey(path);
  assert.equal(k1.length, 32);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(loadOrCreateSecretKey(path), k1);
});
