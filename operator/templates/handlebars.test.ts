import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  renderTemplate as render,
  templateSourceNames,
  TemplateError,
  type ExternalSecretTemplate,
  type TemplateSources,
} from './engine';
import { renderString } from './handlebars';

/** These cases are capstan's Handlebars engine, selected with `engineVersion: handlebars`. */
function renderTemplate(
  template: ExternalSecretTemplate | undefined,
  secrets: Record<string, Buffer>,
  sources?: TemplateSources,
): ReturnType<typeof render> {
  return render(template && { engineVersion: 'handlebars', ...template }, secrets, sources);
}

const SECRET = 'hunter2-S3CRET';

/** Fetched keys as the controller passes them. */
function fetched(values: Record<string, string>): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v)]));
}

/** Buffers -> strings, for readable assertions. */
function text(data: Record<string, Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]));
}

const context = {
  password: SECRET,
  user: ' Admin ',
  'api-key': 'k-1',
  'tls.crt': 'CERT',
  json: '{"host":"db","port":5432}',
  yaml: 'user: app\nport: 5432\n',
  b64: Buffer.from('decoded').toString('base64'),
  empty: '',
};

describe('renderString: helpers', () => {
  const cases: Array<[string, string, string]> = [
    ['plain variable', '{{ password }}', SECRET],
    ['no HTML escaping', '{{ quote "<a&b>" }}', '"<a&b>"'],
    ['key with a dash', '{{ [api-key] }}', 'k-1'],
    ['key with a dot', '{{ [tls.crt] }}', 'CERT'],
    ['b64enc', '{{ b64enc password }}', Buffer.from(SECRET).toString('base64')],
    ['b64dec', '{{ b64dec b64 }}', 'decoded'],
    ['toJson of fromJson', '{{ toJson (fromJson json) }}', '{"host":"db","port":5432}'],
    ['lookup in fromJson', '{{ lookup (fromJson json) "host" }}', 'db'],
    ['with block over fromYaml', '{{#with (fromYaml yaml)}}{{ user }}:{{ port }}{{/with}}', 'app:5432'],
    ['toYaml without the final newline', '{{ toYaml (fromJson json) }}', 'host: db\nport: 5432'],
    ['upper/lower/trim', '{{ upper (trim user) }}-{{ lower user }}', 'ADMIN- admin '],
    ['default for an empty value', '{{ default "x" empty }}', 'x'],
    ['default for a missing key', '{{ default "5432" port }}', '5432'],
    ['default keeps a set value', '{{ default "x" password }}', SECRET],
    ['quote escapes', '{{ quote "a\\"b" }}', '"a\\"b"'],
    ['if on a missing key is allowed', '{{#if nope}}yes{{else}}no{{/if}}', 'no'],
    ['each over the context', '{{#each this}}{{#if (lookup this "x")}}{{/if}}{{/each}}ok', 'ok'],
  ];
  for (const [name, tpl, want] of cases) {
    it(name, () => assert.equal(renderString(tpl, context, 'data.k'), want));
  }
});

describe('renderString: errors name the template and never a value', () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'strict missing variable',
      '{{ passwd }}',
      /template data\.k: "passwd" is not defined \(line 1, column 4\)/,
    ],
    ['missing helper argument', '{{ b64enc nope }}', /b64enc: an argument is not defined/],
    [
      'lookup inside a string value',
      '{{#with password}}{{ nope }}{{/with}}',
      /"nope" cannot be looked up in a string value/,
    ],
    ['property of a string', '{{ password.length }}', /"length" cannot be looked up in a string value/],
    ['invalid JSON', '{{ toJson (fromJson password) }}', /fromJson: the value is not valid JSON/],
    ['invalid YAML', '{{ toJson (fromYaml bad) }}', /fromYaml: the value is not valid YAML/],
    ['invalid base64', '{{ b64dec password }}', /b64dec: the value is not valid base64/],
    ['unknown helper', '{{ sha256 password }}', /unknown helper "sha256".*helpers: b64dec/],
    ['parse error', `{{ password `, /Parse error on line 1: Expecting/],
    ['wrong arity', '{{ upper password user }}', /upper takes 1 argument, got 2/],
    ['prototype access', '{{ constructor }}', /"constructor" is not defined/],
  ];
  const ctx = { ...context, bad: `key: [${SECRET}` };
  for (const [name, tpl, want] of cases) {
    it(name, () => {
      assert.throws(
        () => renderString(tpl, ctx, 'data.k'),
        (err: unknown) => {
          assert.ok(err instanceof TemplateError);
          assert.match(err.message, want);
          assert.equal(err.templateKey, 'data.k');
          assert.ok(!err.message.includes(SECRET), `message leaks the value: ${err.message}`);
          assert.ok(!err.message.includes('hunter2'), `message leaks the value: ${err.message}`);
          return true;
        },
      );
    });
  }
});

/** Runs `fn` with stdout, stderr and console captured; returns everything they were given. */
function captureOutput(fn: () => void): string {
  const written: string[] = [];
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    console: { ...console },
  };
  const sink = (chunk: unknown): boolean => {
    written.push(String(chunk));
    return true;
  };
  process.stdout.write = sink as typeof process.stdout.write;
  process.stderr.write = sink as typeof process.stderr.write;
  for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    console[m] = (...args: unknown[]) => written.push(args.map(String).join(' '));
  }
  try {
    fn();
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    Object.assign(console, saved.console);
  }
  return written.join('');
}

describe('renderString: only the documented helpers exist', () => {
  const logCalls: Array<[string, string]> = [
    ['log of a value', '{{log password}}'],
    ['log with a level', '{{log password level="error"}}'],
    ['log as a block', '{{#log password}}x{{/log}}'],
    ['log in a subexpression', '{{ upper (log password) }}'],
  ];
  for (const [name, tpl] of logCalls) {
    it(`${name} is an unknown helper and prints nothing`, () => {
      let thrown: unknown;
      const output = captureOutput(() => {
        try {
          renderString(tpl, context, 'data.k');
        } catch (err) {
          thrown = err;
        }
      });
      // Compare lengths only, so that a failure does not print what was written (the secret).
      assert.equal(output.length, 0, 'the template wrote to stdout/stderr/console');
      assert.ok(thrown instanceof TemplateError, `expected a TemplateError, got ${String(thrown)}`);
      assert.match(thrown.message, /^template data\.k: unknown helper "log"/);
      assert.ok(!thrown.message.includes(SECRET));
    });
  }

  it('the runtime hooks cannot be called by name', () => {
    assert.throws(
      () => renderString('{{blockHelperMissing password}}', context, 'data.k'),
      /unknown helper "blockHelperMissing"/,
    );
    assert.throws(() => renderString('{{helperMissing password}}', context, 'data.k'), /unknown helper/);
  });

  it('the documented built-ins work: if, unless, each, with, lookup, and sections on values', () => {
    const tpl =
      '{{#if password}}a{{/if}}{{#unless empty}}b{{/unless}}{{#each (fromJson json)}}{{@key}}{{/each}}' +
      '{{#with (fromJson json)}}{{ host }}{{/with}}{{ lookup (fromJson json) "port" }}{{#password}}c{{/password}}';
    assert.equal(renderString(tpl, context, 'data.k'), 'abhostportdb5432c');
  });

  it('the unknown-helper message lists exactly the available helpers', () => {
    assert.throws(
      () => renderString('{{ nope password }}', context, 'data.k'),
      /helpers: b64dec, b64enc, default, each, fromJson, fromYaml, if, lookup, lower, quote, toJson, toYaml, trim, unless, upper, with$/,
    );
  });
});

describe('renderTemplate with engineVersion: handlebars', () => {
  const secrets = fetched({ username: 'app', password: SECRET, host: 'db' });

  it('without a template, the fetched keys are the data', () => {
    const out = renderTemplate(undefined, secrets);
    assert.deepEqual(text(out.data), { username: 'app', password: SECRET, host: 'db' });
    assert.deepEqual(out.labels, {});
  });

  const cases: Array<{
    name: string;
    template: ExternalSecretTemplate;
    data: Record<string, string>;
    labels?: object;
    annotations?: object;
    type?: string;
  }> = [
    {
      name: 'Replace (default): template output only',
      template: { data: { url: 'postgres://{{ username }}:{{ password }}@{{ host }}' } },
      data: { url: `postgres://app:${SECRET}@db` },
    },
    {
      name: 'Merge: template output over the fetched keys',
      template: { mergePolicy: 'Merge', data: { host: 'override', dsn: '{{ username }}@{{ host }}' } },
      data: { username: 'app', password: SECRET, host: 'override', dsn: 'app@db' },
    },
    {
      name: 'no data and no templateFrom: the fetched keys, with type and templated metadata',
      template: {
        type: 'kubernetes.io/basic-auth',
        metadata: { labels: { user: '{{ username }}' }, annotations: { a: 'static' } },
      },
      data: { username: 'app', password: SECRET, host: 'db' },
      labels: { user: 'app' },
      annotations: { a: 'static' },
      type: 'kubernetes.io/basic-auth',
    },
    {
      name: 'literal KeysAndValues into Data',
      template: { templateFrom: [{ literal: 'k1: "{{ username }}"\nk2: {{ host }}\nport: 5432' }] },
      data: { k1: 'app', k2: 'db', port: '5432' },
    },
    {
      name: 'literal into Labels and Annotations targets',
      template: {
        templateFrom: [
          { literal: 'owner: "{{ username }}"', target: 'Labels' },
          { literal: 'note: "{{ host }}"', target: 'Annotations' },
        ],
      },
      data: {},
      labels: { owner: 'app' },
      annotations: { note: 'db' },
    },
    {
      name: 'template.data wins over templateFrom',
      template: { templateFrom: [{ literal: 'k: from-literal\nother: kept' }], data: { k: 'from-data' } },
      data: { k: 'from-data', other: 'kept' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = renderTemplate(c.template, secrets);
      assert.deepEqual(text(out.data), c.data);
      assert.deepEqual(out.labels, c.labels ?? {});
      assert.deepEqual(out.annotations, c.annotations ?? {});
      assert.equal(out.type, c.type);
    });
  }

  it('templateFrom ConfigMap and Secret items: Values and KeysAndValues', () => {
    const template: ExternalSecretTemplate = {
      templateFrom: [
        {
          configMap: {
            name: 'tpl',
            items: [
              { key: 'config.yaml', templateAs: 'Values' },
              { key: 'pairs', templateAs: 'KeysAndValues' },
            ],
          },
        },
        { secret: { name: 'tpl-secret', items: [{ key: 'token' }] } },
        {
          configMap: { name: 'tpl', items: [{ key: 'labels', templateAs: 'KeysAndValues' }] },
          target: 'labels',
        },
      ],
    };
    const sources = {
      configMaps: {
        tpl: {
          'config.yaml': 'user: {{ username }}\nhost: {{ host }}\n',
          pairs: 'dsn: "{{ username }}@{{ host }}"\n{{ username }}-key: v',
          labels: 'tier: backend',
        },
      },
      secrets: { 'tpl-secret': { token: Buffer.from('Bearer {{ password }}') } },
    };
    assert.deepEqual(templateSourceNames(template), { configMaps: ['tpl'], secrets: ['tpl-secret'] });
    const out = renderTemplate(template, secrets, sources);
    assert.deepEqual(text(out.data), {
      'config.yaml': 'user: app\nhost: db\n',
      dsn: 'app@db',
      'app-key': 'v',
      token: `Bearer ${SECRET}`,
    });
    assert.deepEqual(out.labels, { tier: 'backend' });
  });

  const errorCases: Array<[string, ExternalSecretTemplate, RegExp]> = [
    [
      'missing ConfigMap',
      { templateFrom: [{ configMap: { name: 'nope', items: [{ key: 'a' }] } }] },
      /templateFrom\[0\]\.configMap\.nope: ConfigMap "nope" was not found/,
    ],
    [
      'missing ConfigMap key',
      { templateFrom: [{ configMap: { name: 'tpl', items: [{ key: 'zzz' }] } }] },
      /ConfigMap "tpl" has no key "zzz"/,
    ],
    [
      'KeysAndValues output not a map',
      { templateFrom: [{ literal: '{{ password }}' }] },
      /templateFrom\[0\]\.literal: the output is not a YAML map/,
    ],
    [
      'KeysAndValues output not YAML',
      { templateFrom: [{ literal: 'a: [{{ password }}' }] },
      /the output is not valid YAML/,
    ],
    [
      'KeysAndValues nested value',
      { templateFrom: [{ literal: 'a:\n  b: "{{ password }}"' }] },
      /the value of "a" is not a string/,
    ],
    [
      'unknown target',
      { templateFrom: [{ literal: 'a: b', target: 'Spec' }] },
      /target "Spec" is not supported/,
    ],
    [
      'missing variable in a label',
      { metadata: { labels: { x: '{{ nope }}' } } },
      /metadata\.labels\.x: "nope" is not defined/,
    ],
  ];
  for (const [name, template, want] of errorCases) {
    it(`error: ${name}`, () => {
      assert.throws(
        () => renderTemplate(template, secrets, { configMaps: { tpl: { a: 'x' } } }),
        (err: unknown) => {
          assert.ok(err instanceof TemplateError);
          assert.match(err.message, want);
          assert.ok(!err.message.includes(SECRET), `message leaks the value: ${err.message}`);
          return true;
        },
      );
    });
  }

  it('a key named __proto__ is an ordinary variable', () => {
    const out = renderTemplate(
      { data: { k: '{{ [__proto__] }}' } },
      fetched(JSON.parse('{"__proto__":"p"}') as Record<string, string>),
    );
    assert.equal(out.data.k.toString(), 'p');
  });
});
