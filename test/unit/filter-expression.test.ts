import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createExpressionFilter, compileExpression } from '../../src/filter/index.js';
import { DMError } from '../../src/errors/index.js';

const cols = ['id', 'c', 'name', 'price', 'big', 'note'];

void test('DM docs: insert-value-expr "c % 2 = 0" skips rows with even c', () => {
  const f = createExpressionFilter([{ schema: 'expr_filter', table: 'tbl', insertValueExpr: 'c % 2 = 0' }]);
  const inserted = [
    [1, 1, 'a', '1.00', '1', null],
    [2, 2, 'b', '2.00', '2', null],
    [3, 3, 'c', '3.00', '3', null],
    [4, 4, 'd', '4.00', '4', null],
  ];
  const kept = inserted.filter((r) => !f.skipDML('expr_filter', 'tbl', 'insert', r, cols));
  assert.deepEqual(kept.map((r) => r[0]), [1, 3]);
  // other tables and other DML kinds are not affected
  assert.equal(f.skipDML('expr_filter', 'other', 'insert', [2, 2, '', '', '', null], cols), false);
  assert.equal(f.skipDML('expr_filter', 'tbl', 'delete', [2, 2, '', '', '', null], cols), false);
  assert.equal(f.has('EXPR_FILTER', 'TBL'), true);
});

void test('update with old and new expressions skips only when both are true', () => {
  const f = createExpressionFilter([{ schema: 's', table: 't', updateOldValueExpr: 'c = 1', updateNewValueExpr: 'c = 2' }]);
  const row = (c: number): unknown[] => [1, c, 'x', '0', '0', null];
  assert.equal(f.skipDML('s', 't', 'update', row(2), cols, row(1)), true);
  assert.equal(f.skipDML('s', 't', 'update', row(3), cols, row(1)), false);
  assert.equal(f.skipDML('s', 't', 'update', row(2), cols, row(5)), false);
});

void test('NULL is not true: three-valued logic keeps the row', () => {
  const f = createExpressionFilter([{ schema: 's', table: 't', deleteValueExpr: 'note > 3 OR note IS NULL AND c > 5' }]);
  assert.equal(f.skipDML('s', 't', 'delete', [1, 1, '', '', '', null], cols), false);
  assert.equal(f.skipDML('s', 't', 'delete', [1, 9, '', '', '', null], cols), true);
  assert.equal(f.skipDML('s', 't', 'delete', [1, 1, '', '', '', '7'], cols), true);
});

void test('operators and functions', () => {
  const row = { id: 5, c: 10, name: 'Alice', price: '12.50', big: '18446744073709551615', note: null } as Record<string, unknown>;
  const ev = (e: string): unknown => compileExpression(e).evaluate((c) => row[c]);
  assert.equal(ev("name LIKE 'A%'"), true);
  assert.equal(ev("name LIKE 'a%'"), false, 'binary comparison like utf8mb4_bin');
  assert.equal(ev("name NOT LIKE '_lice'"), false);
  assert.equal(ev('c BETWEEN 5 AND 10'), true);
  assert.equal(ev('c NOT BETWEEN 5 AND 10'), false);
  assert.equal(ev('id IN (1, 5, 9)'), true);
  assert.equal(ev('id NOT IN (1, 2)'), true);
  assert.equal(ev('id IN (1, NULL)'), null);
  assert.equal(ev('price > 12.4 AND price < 12.6'), true);
  assert.equal(ev('big = 18446744073709551615'), true, 'exact for integers beyond 2^53');
  assert.equal(ev('big > 18446744073709551614'), true);
  assert.equal(ev('c * 2 + 1 = 21 AND c / 4 = 2.5 AND c DIV 4 = 2 AND -c < 0'), true);
  assert.equal(ev("LENGTH(name) = 5 AND UPPER(name) = 'ALICE' AND CONCAT(name, '!') = 'Alice!'"), true);
  assert.equal(ev("SUBSTRING(name, 2, 3) = 'lic' AND LEFT(name, 2) = 'Al' AND ABS(-3) = 3"), true);
  assert.equal(ev('note IS NULL AND name IS NOT NULL AND IFNULL(note, 1) = 1'), true);
  assert.equal(ev('NOT (c > 100)'), true);
  assert.equal(ev("name REGEXP '^Al'"), true);
});

void test('unknown functions and unparseable expressions are coded errors at creation', () => {
  assert.throws(
    () => createExpressionFilter([{ schema: 's', table: 't', insertValueExpr: 'FROB(c) > 1' }]),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrExprFilterUnsupported',
  );
  assert.throws(
    () => createExpressionFilter([{ schema: 's', table: 't', insertValueExpr: 'c > > 1' }]),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrExprFilterInvalid',
  );
  assert.throws(
    () => createExpressionFilter([{ schema: 's', table: 't', insertValueExpr: 'nope = 1' }], () => cols),
    (e: unknown) => e instanceof DMError && e.codeName === 'ErrExprFilterInvalid',
  );
});

void test('LIKE patterns with regex-special characters match literally', () => {
  const row = { name: 'a-b.c(d)' } as Record<string, unknown>;
  const ev = (e: string): unknown => compileExpression(e).evaluate((c) => row[c]);
  assert.equal(ev("name LIKE 'a-b.c(d)'"), true);
  assert.equal(ev("name LIKE 'a-b_c%'"), true);
  assert.equal(ev("name LIKE 'a-bxc%'"), false);
});
