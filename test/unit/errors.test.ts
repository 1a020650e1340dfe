import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CODES, DMError, codeByNumber, type CodeDef, type ErrorCodeName } from '../../src/errors/index.js';
import { ERRORS_DOC_PATH, renderErrorsDoc } from '../../scripts/errors-doc.js';

const entries = Object.entries(CODES) as [ErrorCodeName, CodeDef][];

void test('error codes are unique', () => {
  const byCode = new Map<number, string[]>();
  for (const [name, d] of entries) byCode.set(d.code, [...(byCode.get(d.code) ?? []), name]);
  const dups = [...byCode]
    .filter(([, names]) => names.length > 1)
    .map(([code, names]) => `${code}: ${names.join(', ')}`);
  assert.deepEqual(dups, [], `duplicate error codes: ${dups.join('; ')}`);
});

void test('every code has a description and a workaround, and names start with Err', () => {
  const bad = entries
    .filter(
      ([name, d]) => !name.startsWith('Err') || d.description.trim() === '' || d.workaround.trim() === '',
    )
    .map(([n]) => n);
  assert.deepEqual(bad, [], `codes without description/workaround: ${bad.join(', ')}`);
});

void test('codeByNumber finds every code, and DMError renders the DM way', () => {
  for (const [name, d] of entries) assert.equal(codeByNumber(d.code)?.[0], name);
  const e = new DMError('ErrConfigUnknownKey', 'task.yaml:3: foo: unknown key "foo"');
  assert.equal(e.code, 20002);
  assert.match(
    e.toString(),
    /^\[code=20002:class=config:scope=internal:level=high\], Message: task\.yaml:3: .*Workaround: /,
  );
});

/** Compare modulo table padding, so a `prettier --write` of the generated file does not count as stale. */
function normalize(md: string): string {
  return md
    .split('\n')
    .map((l) =>
      l
        .replace(/\s*\|\s*/g, '|')
        .replace(/ +/g, ' ')
        .replace(/-{3,}/g, '---')
        .trim(),
    )
    .join('\n')
    .trim();
}

void test('docs/errors.md is up to date', () => {
  let current = '';
  try {
    current = readFileSync(ERRORS_DOC_PATH, 'utf8');
  } catch {
    /* missing: reported below */
  }
  assert.ok(
    normalize(current) === normalize(renderErrorsDoc()),
    'docs/errors.md is stale or missing: run `npm run errors-doc` and commit the result',
  );
});
