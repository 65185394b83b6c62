/**
 * renderTemplate with ESO's default engine (Go, engineVersion v2 or absent): the scopes of ESO's
 * templating guide, engine selection, and a template in the other engine's syntax as a clear error.
 * The Handlebars engine's own cases are in handlebars.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderTemplate, TemplateError, type ExternalSecretTemplate } from './engine';

const SECRET = 'hunter2-S3CRET';
const td = (f: string): Buffer => fs.readFileSync(path.join(__dirname, 'testdata', f));

function fetched(values: Record<string, string | Buffer>): Record<string, Buffer> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]),
  );
}
function text(data: Record<string, Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]));
}

const secrets = fetched({ username: 'app', password: SECRET, host: 'db', 'api-key': 'k-1' });

describe('renderTemplate: Go templates (engineVersion v2, the default as in ESO)', () => {
  const cases: Array<{
    name: string;
    template: ExternalSecretTemplate;
    data: object;
    labels?: object;
    annotations?: object;
  }> = [
    {
      name: 'ESO guide: a config file templated from the secret (engineVersion absent)',
      template: {
        data: {
          'config.yml':
            'datasources:\n- name: Graphite\n  url: http://localhost:8080\n  password: "{{ .password }}"\n  user: "{{ .username }}"\n',
        },
      },
      data: {
        'config.yml': `datasources:\n- name: Graphite\n  url: http://localhost:8080\n  password: "${SECRET}"\n  user: "app"\n`,
      },
    },
    {
      name: 'engineVersion v2: index for keys with dashes, pipelines, metadata labels and annotations',
      template: {
        engineVersion: 'v2',
        type: 'Opaque',
        metadata: { labels: { user: '{{ .username | upper }}' }, annotations: { host: '{{ .host }}' } },
        data: { key: '{{ index . "api-key" }}', auth: '{{ printf "%s:%s" .username .password | b64enc }}' },
      },
      data: { key: 'k-1', auth: Buffer.from(`app:${SECRET}`).toString('base64') },
      labels: { user: 'APP' },
      annotations: { host: 'db' },
    },
    {
      name: 'Merge keeps the fetched keys',
      template: { mergePolicy: 'Merge', data: { dsn: '{{ .username }}@{{ .host }}' } },
      data: { username: 'app', password: SECRET, host: 'db', 'api-key': 'k-1', dsn: 'app@db' },
    },
    {
      name: 'literal KeysAndValues (ESO scope test: {{ .key }}: {{ .value }}) into Data, Labels, Annotations',
      template: {
        templateFrom: [
          { literal: '{{ .username }}: {{ .host }}' },
          { literal: 'owner: {{ .username }}', target: 'Labels' },
          { literal: 'note: "{{ .host }}"', target: 'Annotations' },
        ],
      },
      data: { app: 'db' },
      labels: { owner: 'app' },
      annotations: { note: 'db' },
    },
    {
      name: 'valuesDecodingStrategy Base64 decodes the rendered values of its entry',
      template: {
        templateFrom: [{ literal: 'token: {{ .password | b64enc }}', valuesDecodingStrategy: 'Base64' }],
      },
      data: { token: SECRET },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = renderTemplate(c.template, secrets);
      assert.deepEqual(text(out.data), c.data);
      assert.deepEqual(out.labels, c.labels ?? {});
      assert.deepEqual(out.annotations, c.annotations ?? {});
    });
  }

  it('templateFrom ConfigMap (Values) and Secret (KeysAndValues), with template.data winning', () => {
    const out = renderTemplate(
      {
        templateFrom: [
          { configMap: { name: 'tpl', items: [{ key: 'app.yaml' }] } },
          { secret: { name: 'tpl-s', items: [{ key: 'pairs', templateAs: 'KeysAndValues' }] } },
        ],
        data: { extra: 'x' },
      },
      secrets,
      {
        configMaps: { tpl: { 'app.yaml': 'user: {{ .username }}\n' } },
        secrets: { 'tpl-s': { pairs: Buffer.from('dsn: "{{ .username }}@{{ .host }}"\nextra: no') } },
      },
    );
    assert.deepEqual(text(out.data), { 'app.yaml': 'user: app\n', dsn: 'app@db', extra: 'x' });
  });

  it('ESO guide: a PEM bundle into a kubernetes.io/tls Secret with filterPEM', () => {
    const bundle =
      td('leaf.key').toString() + td('leaf.crt').toString() + td('intermediate-ca.crt').toString();
    const out = renderTemplate(
      {
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': '{{ .bundle | filterPEM "CERTIFICATE" }}',
          'tls.key': '{{ .bundle | filterPEM "PRIVATE KEY" }}',
        },
      },
      fetched({ bundle }),
    );
    assert.equal(out.type, 'kubernetes.io/tls');
    assert.equal(
      out.data['tls.crt'].toString(),
      td('leaf.crt').toString() + td('intermediate-ca.crt').toString(),
    );
    assert.equal(out.data['tls.key'].toString(), td('leaf.key').toString());
  });

  it('ESO guide: a binary PKCS#12 archive (fetched as bytes) into PEM', () => {
    const out = renderTemplate(
      { data: { 'tls.crt': '{{ .archive | pkcs12cert }}', 'tls.key': '{{ .archive | pkcs12key }}' } },
      fetched({ archive: td('leaf-nopass.p12') }),
    );
    assert.match(out.data['tls.crt'].toString(), /^-----BEGIN CERTIFICATE-----/);
    assert.match(out.data['tls.key'].toString(), /^-----BEGIN PRIVATE KEY-----/);
  });

  it('binary output stays binary (b64dec of a keystore)', () => {
    const bin = td('leaf-nopass.p12');
    const out = renderTemplate(
      { data: { 'keystore.p12': '{{ .ks | b64dec }}' } },
      fetched({ ks: bin.toString('base64') }),
    );
    assert.deepEqual(out.data['keystore.p12'], bin);
  });
});

describe('renderTemplate: engine selection and wrong-syntax errors', () => {
  const errors: Array<[string, ExternalSecretTemplate, RegExp]> = [
    [
      'Handlebars without engineVersion asks for engineVersion: handlebars',
      { data: { a: '{{#if password}}yes{{/if}}' } },
      /data\.a: this looks like a Handlebars template; .*set engineVersion: handlebars/,
    ],
    [
      'a Handlebars variable without engineVersion gets the hint',
      { data: { a: '{{ password }}' } },
      /function "password" not defined \(a Handlebars variable\? .*write \{\{ \.password \}\}, or set engineVersion: handlebars\)/,
    ],
    [
      'Handlebars [key] under explicit v2',
      { engineVersion: 'v2', data: { a: '{{ [api-key] }}' } },
      /Handlebars syntax .* in a Go template \(engineVersion v2\)/,
    ],
    [
      'Go syntax under engineVersion: handlebars',
      { engineVersion: 'handlebars', data: { a: '{{ .password | b64enc }}' } },
      /data\.a: Go template syntax .* with engineVersion: handlebars: remove engineVersion/,
    ],
    [
      'Go index/end under handlebars in a label',
      { engineVersion: 'handlebars', metadata: { labels: { l: '{{ if true }}x{{ end }}' } } },
      /metadata\.labels\.l: Go template syntax/,
    ],
    [
      'engineVersion v1 is refused',
      { engineVersion: 'v1', data: { a: 'x' } },
      /engineVersion: v1 is not supported/,
    ],
    [
      'an unknown engineVersion',
      { engineVersion: 'v3', data: { a: 'x' } },
      /engineVersion: "v3" is not supported/,
    ],
    [
      'a missing key names the template and key',
      { data: { a: '{{ .nope }}' } },
      /template data\.a: line 1: at <\.nope>: map has no entry for key "nope"/,
    ],
    [
      'valuesDecodingStrategy Base64 of a non-base64 value',
      { templateFrom: [{ literal: 'k: "{{ .password }}"', valuesDecodingStrategy: 'Base64' }] },
      /valuesDecodingStrategy Base64: the value of "k" is not valid Base64/,
    ],
  ];
  for (const [name, template, want] of errors) {
    it(name, () =>
      assert.throws(
        () => renderTemplate(template, secrets),
        (err: unknown) => {
          assert.ok(err instanceof TemplateError, String(err));
          assert.match(err.message, want);
          assert.ok(!err.message.includes(SECRET), `leaks: ${err.message}`);
          return true;
        },
      ),
    );
  }

  it("Handlebars' {{.}} and {{../x}} are not taken for Go", () => {
    const out = renderTemplate(
      {
        engineVersion: 'handlebars',
        data: { a: '{{#each (fromJson list)}}{{.}}-{{../username}};{{/each}}' },
      },
      { ...secrets, list: Buffer.from('["x","y"]') },
    );
    assert.equal(out.data.a.toString(), 'x-app;y-app;');
  });

  it('engineVersion: handlebars renders Handlebars', () => {
    const out = renderTemplate(
      { engineVersion: 'handlebars', data: { a: '{{ upper username }}-{{ [api-key] }}' } },
      secrets,
    );
    assert.equal(out.data.a.toString(), 'APP-k-1');
  });

  it('a Go template with {{/* comments */}} and {{ else }} is not mistaken for Handlebars', () => {
    const out = renderTemplate(
      { data: { a: '{{/* c */}}{{ if eq .host "x" }}{{ else }}ok{{ end }}' } },
      secrets,
    );
    assert.equal(out.data.a.toString(), 'ok');
  });
});
