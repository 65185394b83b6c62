import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  base32,
  encodePassword,
  generatePasswords,
  GeneratorSpecError,
  passwordPlan,
  rawPassword,
} from './password';
import { clusterGeneratorTarget, generateFromSpec } from './index';
import type { ClusterGenerator } from '../../generated/clustergenerator';

const classes = (p: string) => ({
  lower: [...p].filter((c) => /[a-z]/.test(c)).length,
  upper: [...p].filter((c) => /[A-Z]/.test(c)).length,
  digits: [...p].filter((c) => /[0-9]/.test(c)).length,
  other: [...p].filter((c) => !/[a-zA-Z0-9]/.test(c)).length,
});

describe('Password generator (ESO / go-password rules)', () => {
  it('defaults: 24 characters, 6 digits, 6 symbols from the default set, all distinct', () => {
    for (let n = 0; n < 50; n++) {
      const p = generatePasswords(undefined).password.toString();
      assert.equal(p.length, 24);
      const c = classes(p);
      assert.equal(c.digits, 6);
      assert.equal(c.other, 6);
      assert.equal(new Set(p).size, 24, 'no repeats without allowRepeat');
      for (const ch of p.replace(/[a-zA-Z0-9]/g, ''))
        assert.ok('~!@#$%^&*()_+`-={}|[]\\:"<>?,./'.includes(ch));
    }
  });
  it("ESO's documented example: length 42, 5 digits, 5 symbols of -_$@ , repeats allowed", () => {
    const spec = {
      length: 42,
      digits: 5,
      symbols: 5,
      symbolCharacters: '-_$@',
      noUpper: false,
      allowRepeat: true,
    };
    const p = generatePasswords(spec).password.toString();
    assert.equal(p.length, 42);
    assert.equal(classes(p).digits, 5);
    assert.match(p.replace(/[a-zA-Z0-9]/g, ''), /^[-_$@]{5}$/);
  });
  it('noUpper leaves out upper case', () => {
    for (let n = 0; n < 20; n++)
      assert.equal(classes(generatePasswords({ noUpper: true, length: 30 }).password.toString()).upper, 0);
  });
  it('digits and symbols default to a quarter of the length, rounded down', () => {
    const plan = passwordPlan({ length: 10 });
    assert.equal(plan.digits, 2);
    assert.equal(plan.symbols, 2);
  });
  it('impossible settings are GeneratorSpecErrors naming the field', () => {
    assert.throws(() => passwordPlan({ length: 4, digits: 3, symbols: 2 }), /exceed spec.length/);
    assert.throws(() => passwordPlan({ length: 20, digits: 11, symbols: 0 }), GeneratorSpecError);
    assert.throws(
      () => passwordPlan({ length: 60, digits: 0, symbols: 0, noUpper: true }),
      /distinct letters/,
    );
    assert.throws(() => passwordPlan({ symbols: 3, symbolCharacters: 'ab' }), /symbolCharacters/);
    assert.throws(() => passwordPlan({ secretKeys: ['a', 'a'] }), /secretKeys/);
    assert.doesNotThrow(() => passwordPlan({ length: 20, digits: 11, symbols: 0, allowRepeat: true }));
  });
  it('secretKeys give one distinct password per key', () => {
    const out = generatePasswords({ secretKeys: ['a', 'b'] });
    assert.deepEqual(Object.keys(out), ['a', 'b']);
    assert.notEqual(out.a.toString(), out.b.toString());
  });
  it('encodings as Go encodes, prefix/suffix after encoding', () => {
    assert.equal(encodePassword('f?o', 'base64'), 'Zj9v');
    assert.equal(encodePassword('>>?', 'base64url'), 'Pj4_');
    assert.equal(encodePassword('foobar', 'base32'), 'MZXW6YTBOI======');
    assert.equal(base32(Buffer.from('f')), 'MY======');
    assert.equal(encodePassword('ab', 'hex'), '6162');
    const p = generatePasswords({
      encoding: 'hex',
      prefix: 'pre-',
      suffix: '-suf',
      length: 8,
    }).password.toString();
    assert.match(p, /^pre-[0-9a-f]{16}-suf$/);
  });
  it('characters are inserted at random positions (deterministic source)', () => {
    let i = 0;
    const seq = [0, 0, 1, 0, 2, 0];
    const p = rawPassword(
      passwordPlan({ length: 3, digits: 0, symbols: 0, noUpper: true }),
      () => seq[i++ % seq.length],
    );
    assert.equal(p, 'cba');
  });
  it('overlapping classes without allowRepeat end in an error, never a hang', () => {
    const plan = passwordPlan({ length: 28, digits: 0, symbols: 2, symbolCharacters: 'ab', noUpper: true });
    assert.throws(() => rawPassword(plan, (max) => (max === 2 ? 0 : 0)), GeneratorSpecError);
  });
});

describe('UUID and ClusterGenerator', () => {
  it('UUID is a v4 UUID under the key uuid', () => {
    const out = generateFromSpec('UUID', undefined);
    assert.match(
      out.uuid.toString(),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
  it('ClusterGenerator selects the spec of its kind', () => {
    const cg = {
      metadata: { name: 'pw' },
      spec: { kind: 'Password', generator: { passwordSpec: { length: 12 } } },
    };
    const t = clusterGeneratorTarget(cg as ClusterGenerator);
    assert.deepEqual(t, { kind: 'Password', spec: { length: 12 } });
    assert.equal(generateFromSpec(t.kind, t.spec).password.length, 12);
    const missing = { metadata: { name: 'pw' }, spec: { kind: 'Password', generator: {} } };
    assert.throws(() => clusterGeneratorTarget(missing as ClusterGenerator), /passwordSpec/);
  });
  it('an unsupported kind is a terminal error', () => {
    assert.throws(
      () => generateFromSpec('VaultDynamicSecret', {}),
      (e: GeneratorSpecError) => e.retryable === false,
    );
  });
  it("a ClusterGenerator of one of ESO's other kinds is accepted and refused when used, naming the kind", () => {
    const cg = {
      metadata: { name: 'f' },
      spec: { kind: 'Fake', generator: { fakeSpec: { data: { a: 'b' } } } },
    };
    const t = clusterGeneratorTarget(cg as ClusterGenerator);
    assert.deepEqual(t, { kind: 'Fake', spec: { data: { a: 'b' } } });
    assert.throws(
      () => generateFromSpec(t.kind, t.spec),
      /generator kind "Fake" is not supported by capstan/,
    );
  });
});
