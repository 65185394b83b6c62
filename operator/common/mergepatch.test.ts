import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMergePatch, replacingPatch } from './mergepatch';

test('the patched value is exactly next, at every depth', () => {
  const prev = { a: 1, b: { c: 2, d: 3 }, e: [1, 2], f: 'x' };
  const next = { b: { c: 5 }, e: [3], g: { h: true } };
  const patch = replacingPatch(prev, next);
  assert.deepEqual(patch, { a: null, f: null, b: { d: null, c: 5 }, e: [3], g: { h: true } });
  assert.deepEqual(applyMergePatch(prev, patch), next);
});

test('undefined members are left out and a missing previous value needs no nulls', () => {
  assert.deepEqual(replacingPatch(undefined, { a: 1, b: undefined }), { a: 1 });
  assert.deepEqual(replacingPatch({ a: 1 }, undefined), null);
});
