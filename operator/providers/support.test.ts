import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertKeys, decodeValue } from './decoding';
import { parseGoDuration } from '../common/goduration';
import { compileGoTemplate, GoTemplateError, goQueryEscape } from './gotemplate';
import { goFormatFloat, goJson, jsonGet, jsonRawMembers } from './json';
import { ProviderError } from './types';

describe('jsonGet (gjson subset)', () => {
  const doc =
    '{"a":{"b":"c","n":-12,"f":2.50,"e":1e21,"t":true,"z":null,"arr":[{"x":1},"s"]},"k.dot":"d","dup":1,"dup":2}';
  const cases: Array<[string, string | undefined]> = [
    ['a.b', 'c'],
    ['a.n', '-12'],
    ['a.f', '2.5'],
    ['a.e', '1000000000000000000000'],
    ['a.t', 'true'],
    ['a.z', ''],
    ['a.arr.0', '{"x":1}'],
    ['a.arr.0.x', '1'],
    ['a.arr.1', 's'],
    ['a.arr.2', undefined],
    ['k\\.dot', 'd'],
    ['k.dot', undefined],
    ['dup', '1'],
    ['a.b.c', undefined],
    ['missing', undefined],
  ];
  for (const [path, want] of cases) it(path, () => assert.equal(jsonGet(doc, path), want));
  it('not JSON', () => assert.equal(jsonGet('nope', 'a'), undefined));
});

describe('JSON helpers', () => {
  it('jsonRawMembers keeps raw text', () => {
    assert.deepEqual(jsonRawMembers(' { "a" : 1.0 , "b":{ "c" : [ 1 ,2 ] }, "s":"x\\"}" } '), [
      ['a', '1.0'],
      ['b', '{ "c" : [ 1 ,2 ] }'],
      ['s', '"x\\"}"'],
    ]);
    assert.equal(jsonRawMembers('[1]'), undefined);
  });
  it('goJson sorts keys and escapes HTML unless asked not to', () => {
    assert.equal(
      goJson({ b: '<x>', a: [1, 0.000001, 1e-7, 1e21], '10': true, '9': null }),
      '{"10":true,"9":null,"a":[1,0.000001,1e-7,1e+21],"b":"\\u003cx\\u003e"}',
    );
    assert.equal(goJson({ h: '<&>' }, { html: false }), '{"h":"<&>"}');
  });
  it('goFormatFloat never uses exponents', () => {
    assert.equal(goFormatFloat(1.5e-7), '0.00000015');
    assert.equal(goFormatFloat(-2.5e22), '-25000000000000000000000');
    assert.equal(goFormatFloat(3.25), '3.25');
  });
});

describe('decodeValue / convertKeys (ESO esutils)', () => {
  const b = (s: string): Buffer => Buffer.from(s);
  const cases: Array<[string, string, Parameters<typeof decodeValue>[1], string | null]> = [
    ['None keeps', 'aGk=', 'None', 'aGk='],
    ['unset keeps', 'aGk=', undefined, 'aGk='],
    ['Base64', 'aGk=', 'Base64', 'hi'],
    ['Base64 ignores newlines', 'aG\nk=', 'Base64', 'hi'],
    ['Base64 needs padding', 'aGk', 'Base64', null],
    ['Base64URL', 'Pz8_', 'Base64URL', '???'],
    ['Base64 rejects URL alphabet', 'Pz8_', 'Base64', null],
    ['Auto falls back to URL', 'Pz8_', 'Auto', '???'],
    ['Auto keeps what is not base64', 'not base64!', 'Auto', 'not base64!'],
  ];
  for (const [name, input, strategy, want] of cases) {
    it(name, () => {
      if (want === null)
        assert.throws(() => decodeValue(b(input), strategy, 'k'), /decoding key "k" with decodingStrategy/);
      else assert.equal(decodeValue(b(input), strategy, 'k').toString(), want);
    });
  }
  it('convertKeys', () => {
    const m = { 'a/b c': b('1'), 'ok-key_1.x': b('2'), ü: b('3') };
    assert.deepEqual(Object.keys(convertKeys(m, undefined)), ['a_b_c', 'ok-key_1.x', 'ü']);
    assert.deepEqual(Object.keys(convertKeys(m, 'Unicode')), ['a_U002f_b_U0020_c', 'ok-key_1.x', 'ü']);
    assert.throws(() => convertKeys({ 'a/b': b('1'), 'a b': b('2') }, 'Default'), ProviderError);
  });
});

describe('parseGoDuration', () => {
  const cases: Array<[string, number | undefined]> = [
    ['5s', 5000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['0', 0],
    ['10', undefined],
    ['5 s', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => assert.equal(parseGoDuration(text), want));
});

describe('Go templates (webhook and rewrite view of the one engine)', () => {
  const data = {
    remoteRef: { key: 'db', version: '', property: 'p' },
    auth: { username: 'u', password: 'p:w', 'api-key': 'K' },
  };
  const cases: Array<[string, string]> = [
    ['{{ .remoteRef.key }}/{{ .remoteRef.version }}', 'db/'],
    [
      'Basic {{ print .auth.username ":" .auth.password | b64enc }}',
      `Basic ${Buffer.from('u:p:w').toString('base64')}`,
    ],
    ['{{ index .auth "api-key" }}', 'K'],
    ['{{ .auth.password | urlquery }}', 'p%3Aw'],
    ['{{ upper (print .auth.username "x") }}', 'UX'],
    ['a  {{- .remoteRef.key -}}  b', 'adbb'],
    ['{{/* comment */}}x', 'x'],
    ['{{ `raw` | quote }}', '"raw"'],
    ['{{ replace ":" "-" .auth.password }}', 'p-w'],
    ['no actions', 'no actions'],
    ['{{ if .remoteRef.version }}v{{ else }}none{{ end }}', 'none'],
    ['{{ $k := .remoteRef.key }}{{ $k | upper }}', 'DB'],
    ['{{ .auth.password | sha256sum | trunc 8 }}', '7661ec1b'],
  ];
  for (const [tpl, want] of cases) it(tpl, () => assert.equal(compileGoTemplate(tpl).render(data), want));

  it('reports the roots it reads', () => {
    assert.deepEqual(
      [...compileGoTemplate('{{ .a.x }}{{ index .b "y" | upper }}{{ (print .c.z) }}').roots].sort(),
      ['a', 'b', 'c'],
    );
  });

  const parseErrors: Array<[string, RegExp]> = [
    ['{{ if .a }}x', /unexpected EOF/],
    ['{{ $x }}', /undefined variable "\$x"/],
    ['{{ nosuch .a }}', /function "nosuch" not defined/],
    ['{{ .a', /unclosed action/],
    ['{{ .a | "b" }}', /non executable command in pipeline stage 2/],
  ];
  for (const [tpl, want] of parseErrors)
    it(`parse error: ${tpl}`, () => assert.throws(() => compileGoTemplate(tpl), want));

  it('a missing key is an error naming the path, not a value', () => {
    assert.throws(
      () => compileGoTemplate('{{ .auth.passwd }}').render(data),
      (e: unknown) =>
        e instanceof GoTemplateError &&
        /at <\.auth\.passwd>: map has no entry for key "passwd"/.test(e.message) &&
        !e.message.includes('p:w'),
    );
  });
  it('goQueryEscape is Go url.QueryEscape', () =>
    assert.equal(goQueryEscape("a b/c?d=e&f!'()*~"), 'a+b%2Fc%3Fd%3De%26f%21%27%28%29%2A~'));
});
