import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeObject, ObjectMeta } from '../kube/object';
import {
  IgnoreRule,
  IgnoreRuleError,
  applyIgnoreRules,
  compareOptions,
  hasCompareOption,
  mergeIgnoredFromLive,
  rulesFor,
  validateIgnoreRules,
} from './ignore';
import { inSync, inSyncWith } from './normalize';

interface Container {
  name: string;
  image?: string;
  [field: string]: unknown;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: unknown[];
}
/** The fixture's shape, loose enough to change any field the tests touch. */
interface Deploy extends KubeObject {
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    template: { spec: PodSpec; [field: string]: unknown };
    [field: string]: unknown;
  };
  status?: unknown;
}

/** A Deployment as the API server returns it, changed by `patch`; a fresh copy on every call. */
function deployment(patch: (d: Deploy) => void = () => {}): Deploy {
  const d: Deploy = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'guestbook-ui',
      namespace: 'guestbook',
      labels: { 'app.kubernetes.io/instance': 'guestbook' },
      annotations: { 'argocd.argoproj.io/tracking-id': 'guestbook:apps/Deployment:guestbook/guestbook-ui' },
      resourceVersion: '4711',
      uid: '6f1f7a52-8c1e-4c52-9a0b-1d2e3f4a5b6c',
      generation: 3,
      managedFields: [
        {
          manager: 'capstan',
          operation: 'Apply',
          apiVersion: 'apps/v1',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:app.kubernetes.io/instance': {} } },
            'f:spec': {
              'f:replicas': {},
              'f:template': {
                'f:spec': {
                  'f:containers': { 'k:{"name":"guestbook-ui"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
                },
              },
            },
          },
        },
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'apps/v1',
          subresource: 'scale',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:spec': { 'f:replicas': {} } },
        },
      ],
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'guestbook-ui' } },
      template: {
        metadata: { labels: { app: 'guestbook-ui' } },
        spec: {
          containers: [
            {
              name: 'guestbook-ui',
              image: 'gcr.io/heptio-images/ks-guestbook-demo:0.2',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              imagePullPolicy: 'IfNotPresent',
            },
          ],
          volumes: [{ name: 'cache', emptyDir: {} }],
        },
      },
    },
    status: { replicas: 1, readyReplicas: 1 },
  };
  patch(d);
  return d;
}

const podSpec = (d: KubeObject): PodSpec => (d as Deploy).spec.template.spec;
const replicasOf = (d: KubeObject): number | undefined => (d as Deploy).spec.replicas;
const names = (containers: Container[] | undefined): string[] =>
  (containers ?? []).map((c) => `${c.name}=${c.image}`);
const replicas: IgnoreRule = { group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/replicas'] };
/** `kubectl edit` changed the image of the guestbook-ui container. */
const kubectlEdit = {
  manager: 'kubectl-edit',
  operation: 'Update',
  apiVersion: 'apps/v1',
  time: '2024-05-01T10:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: {
    'f:spec': {
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"guestbook-ui"}': { 'f:image': {} } } } },
    },
  },
};
const injectedInit = {
  name: 'injected-init-container',
  image: 'docker.io/istio/proxyv2:1.22.0',
  args: ['istio-iptables'],
  terminationMessagePath: '/dev/termination-log',
};

describe('inSyncWith: ignoreDifferences on both sides of the comparison', () => {
  const scaled = deployment((d) => (d.spec.replicas = 5));
  const cases: Array<{
    name: string;
    dryRun: KubeObject;
    live: KubeObject;
    rules: IgnoreRule[];
    want: boolean;
  }> = [
    { name: 'no rules: replicas differ', dryRun: deployment(), live: scaled, rules: [], want: false },
    {
      name: 'jsonPointers /spec/replicas',
      dryRun: deployment(),
      live: scaled,
      rules: [replicas],
      want: true,
    },
    {
      name: 'rule for another kind does not apply',
      dryRun: deployment(),
      live: scaled,
      rules: [{ ...replicas, kind: 'StatefulSet' }],
      want: false,
    },
    {
      name: 'rule for another group does not apply',
      dryRun: deployment(),
      live: scaled,
      rules: [{ ...replicas, group: '' }],
      want: false,
    },
    {
      name: 'rule for another name does not apply',
      dryRun: deployment(),
      live: scaled,
      rules: [{ ...replicas, name: 'other' }],
      want: false,
    },
    {
      name: 'rule for another namespace does not apply',
      dryRun: deployment(),
      live: scaled,
      rules: [{ ...replicas, name: 'guestbook-ui', namespace: 'default' }],
      want: false,
    },
    {
      name: 'rule narrowed to this name and namespace',
      dryRun: deployment(),
      live: scaled,
      rules: [{ ...replicas, name: 'guestbook-ui', namespace: 'guestbook' }],
      want: true,
    },
    {
      name: 'group and kind globs (Argo CD group: "*", kind: "*")',
      dryRun: deployment(),
      live: scaled,
      rules: [{ group: '*', kind: '*', jsonPointers: ['/spec/replicas'] }],
      want: true,
    },
    {
      name: 'pointer into an array element ignores that element field',
      dryRun: deployment(),
      live: deployment(
        (d) => (podSpec(d).containers[0].image = 'gcr.io/heptio-images/ks-guestbook-demo:0.3'),
      ),
      rules: [
        { group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/template/spec/containers/0/image'] },
      ],
      want: true,
    },
    {
      name: 'pointer into an array element leaves its other fields compared',
      dryRun: deployment(),
      live: deployment((d) => (podSpec(d).containers[0].imagePullPolicy = 'Always')),
      rules: [
        { group: 'apps', kind: 'Deployment', jsonPointers: ['/spec/template/spec/containers/0/image'] },
      ],
      want: false,
    },
    {
      name: 'pointer with ~1 escaping: an annotation added by another tool',
      dryRun: deployment(),
      live: deployment((d) => (d.metadata.annotations = { ...d.metadata.annotations, 'a/b': 'added-later' })),
      rules: [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/metadata/annotations/a~1b'] }],
      want: true,
    },
    {
      name: 'pointer with ~0 escaping',
      dryRun: deployment(),
      live: deployment((d) => (d.metadata.annotations = { ...d.metadata.annotations, 'x~y': '1' })),
      rules: [{ group: 'apps', kind: 'Deployment', jsonPointers: ['/metadata/annotations/x~0y'] }],
      want: true,
    },
    {
      name: 'pointers to missing fields are no-ops',
      dryRun: deployment(),
      live: deployment(),
      rules: [
        {
          group: 'apps',
          kind: 'Deployment',
          jsonPointers: ['/spec/paused', '/spec/template/spec/containers/7'],
        },
      ],
      want: true,
    },
    {
      name: 'jq: an injected init container, by name',
      dryRun: deployment(),
      live: deployment((d) => (podSpec(d).initContainers = [injectedInit])),
      rules: [
        {
          group: 'apps',
          kind: 'Deployment',
          jqPathExpressions: [
            '.spec.template.spec.initContainers[] | select(.name == "injected-init-container")',
          ],
        },
      ],
      want: true,
    },
    {
      name: 'jq: other init containers stay compared',
      dryRun: deployment(),
      live: deployment(
        (d) => (podSpec(d).initContainers = [injectedInit, { name: 'migrate', image: 'migrate:1' }]),
      ),
      rules: [
        {
          group: 'apps',
          kind: 'Deployment',
          jqPathExpressions: [
            '.spec.template.spec.initContainers[] | select(.name == "injected-init-container")',
          ],
        },
      ],
      want: false,
    },
    {
      name: 'jq: a quoted annotation key',
      dryRun: deployment(),
      live: deployment(
        (d) =>
          (d.metadata.annotations = {
            ...d.metadata.annotations,
            'kubectl.kubernetes.io/restartedAt': '2024-05-01T10:00:00Z',
          }),
      ),
      rules: [
        {
          group: 'apps',
          kind: 'Deployment',
          jqPathExpressions: ['.metadata.annotations."kubectl.kubernetes.io/restartedAt"'],
        },
      ],
      want: true,
    },
    {
      name: 'jq: select with startswith, on containers without the field',
      dryRun: deployment(),
      live: deployment((d) => podSpec(d).containers.push({ name: 'istio-proxy', image: 'proxyv2:1.22.0' })),
      rules: [
        {
          group: 'apps',
          kind: 'Deployment',
          jqPathExpressions: ['.spec.template.spec.containers[] | select(.name | startswith("istio-"))'],
        },
      ],
      want: true,
    },
    {
      name: 'managedFieldsManagers: replicas owned by kube-controller-manager (HPA via scale)',
      dryRun: deployment(),
      live: scaled,
      rules: [{ group: 'apps', kind: 'Deployment', managedFieldsManagers: ['kube-controller-manager'] }],
      want: true,
    },
    {
      name: 'managedFieldsManagers: a manager that owns nothing here',
      dryRun: deployment(),
      live: scaled,
      rules: [{ group: 'apps', kind: 'Deployment', managedFieldsManagers: ['kubectl-edit'] }],
      want: false,
    },
    {
      name: 'managedFieldsManagers: a list element field found by its key (k:{"name":...})',
      dryRun: deployment((d) => podSpec(d).containers.unshift({ name: 'sidecar', image: 'sidecar:1' })),
      live: deployment((d) => {
        podSpec(d).containers[0].image = 'gcr.io/heptio-images/ks-guestbook-demo:hotfix';
        podSpec(d).containers.unshift({ name: 'sidecar', image: 'sidecar:1' });
        d.metadata.managedFields?.push(kubectlEdit);
      }),
      rules: [{ group: 'apps', kind: 'Deployment', managedFieldsManagers: ['kubectl-edit'] }],
      want: true,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(inSyncWith(c.dryRun, c.live, c.rules), c.want);
    });
  }

  test('a core-group rule matches v1 objects; webhooks caBundle by jq with []?', () => {
    const cm = (data: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'guestbook' },
      data,
    });
    const rule: IgnoreRule = { kind: 'ConfigMap', jsonPointers: ['/data/generated'] };
    assert.equal(inSyncWith(cm({ a: '1' }), cm({ a: '1', generated: 'x' }), [rule]), true);
    assert.equal(
      inSyncWith(cm({ a: '1' }), cm({ a: '1', generated: 'x' }), [{ ...rule, group: 'apps' }]),
      false,
    );

    const webhook = (caBundle?: string): KubeObject => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'istio-sidecar-injector' },
      webhooks: [
        {
          name: 'a.sidecar-injector.istio.io',
          clientConfig: { service: { name: 'istiod', namespace: 'istio-system' } },
        },
        {
          name: 'b.sidecar-injector.istio.io',
          clientConfig: { service: { name: 'istiod', namespace: 'istio-system' } },
        },
      ].map((w) => (caBundle ? { ...w, clientConfig: { ...w.clientConfig, caBundle } } : w)),
    });
    const ca: IgnoreRule = {
      group: 'admissionregistration.k8s.io',
      kind: 'MutatingWebhookConfiguration',
      jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
    };
    assert.equal(inSyncWith(webhook(), webhook('LS0tLS1CRUdJTi...'), []), false);
    assert.equal(inSyncWith(webhook(), webhook('LS0tLS1CRUdJTi...'), [ca]), true);
  });

  test('inSync without rules is unchanged', () => {
    assert.equal(inSync(deployment(), deployment()), true);
    assert.equal(inSyncWith(deployment(), deployment(), []), true);
  });
});

describe('applyIgnoreRules', () => {
  test('returns a copy, leaves the input untouched, and removes the same path on each call', () => {
    const live = deployment((d) => (d.spec.replicas = 5));
    const out = applyIgnoreRules(live, [replicas]);
    assert.equal(replicasOf(out), undefined);
    assert.equal(replicasOf(live), 5);
    assert.notEqual(out, live);
  });

  test('maps emptied by a removal are dropped; maps that were empty already are kept', () => {
    const obj = deployment((d) => (d.metadata.annotations = { 'a/b': 'x' }));
    const out = applyIgnoreRules(obj, [
      { group: 'apps', kind: 'Deployment', jsonPointers: ['/metadata/annotations/a~1b'] },
    ]);
    assert.equal(out.metadata.annotations, undefined);
    assert.deepEqual(podSpec(out).volumes, [{ name: 'cache', emptyDir: {} }]);
  });

  test('an array element removed by pointer; paths of one call refer to the original object', () => {
    const obj = deployment((d) => podSpec(d).containers.push({ name: 'b' }, { name: 'c' }));
    const rule: IgnoreRule = {
      group: 'apps',
      kind: 'Deployment',
      jsonPointers: ['/spec/template/spec/containers/1', '/spec/template/spec/containers/2'],
    };
    assert.deepEqual(names(podSpec(applyIgnoreRules(obj, [rule])).containers), [
      'guestbook-ui=gcr.io/heptio-images/ks-guestbook-demo:0.2',
    ]);
  });

  test('managedFields: a set value (v:) and a list element created by the manager (k: with ".")', () => {
    const obj = deployment((d) => {
      d.metadata.finalizers = ['example.com/keep', 'foregroundDeletion'];
      podSpec(d).containers.push({ name: 'proxy', image: 'proxy:1', terminationMessagePolicy: 'File' });
      d.metadata.managedFields?.push({
        manager: 'mesh-injector',
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:finalizers': { '.': {}, 'v:"foregroundDeletion"': {} } },
          'f:spec': {
            'f:template': {
              'f:spec': {
                'f:containers': { 'k:{"name":"proxy"}': { '.': {}, 'f:image': {}, 'f:name': {} } },
              },
            },
          },
        },
      });
    });
    const out = applyIgnoreRules(obj, [
      { group: 'apps', kind: 'Deployment', managedFieldsManagers: ['mesh-injector'] },
    ]);
    assert.deepEqual(out.metadata.finalizers, ['example.com/keep']);
    assert.deepEqual(names(podSpec(out).containers), [
      'guestbook-ui=gcr.io/heptio-images/ks-guestbook-demo:0.2',
    ]);
  });

  test('managedFields ownership of the live object applies to the desired object by list key', () => {
    const live = deployment((d) => {
      podSpec(d).containers.unshift({ name: 'sidecar', image: 'sidecar:1' });
      d.metadata.managedFields?.push(kubectlEdit);
    });
    const desired = deployment((d) => podSpec(d).containers.push({ name: 'sidecar', image: 'sidecar:1' }));
    delete desired.metadata.managedFields;
    const rules: IgnoreRule[] = [
      { group: 'apps', kind: 'Deployment', managedFieldsManagers: ['kubectl-edit'] },
    ];
    assert.deepEqual(names(podSpec(applyIgnoreRules(desired, rules, live)).containers), [
      'guestbook-ui=undefined',
      'sidecar=sidecar:1',
    ]);
    assert.deepEqual(names(podSpec(applyIgnoreRules(desired, rules)).containers), [
      'guestbook-ui=gcr.io/heptio-images/ks-guestbook-demo:0.2',
      'sidecar=sidecar:1',
    ]);
  });
});

describe('mergeIgnoredFromLive (RespectIgnoreDifferences=true)', () => {
  /** The Deployment as rendered from git: no status, no server-written metadata. */
  const rendered = (patch: (d: Deploy) => void = () => {}): Deploy =>
    deployment((d) => {
      delete d.status;
      d.metadata = { name: d.metadata.name, namespace: d.metadata.namespace, labels: d.metadata.labels };
      patch(d);
    });

  test('an ignored field takes the live value', () => {
    const out = mergeIgnoredFromLive(
      rendered((d) => (d.spec.replicas = 3)),
      deployment((d) => (d.spec.replicas = 7)),
      [replicas],
    );
    assert.equal(replicasOf(out), 7);
    assert.equal(podSpec(out).containers[0].image, 'gcr.io/heptio-images/ks-guestbook-demo:0.2');
  });

  test('an ignored field missing from the live object is removed', () => {
    const rule: IgnoreRule = {
      group: 'apps',
      kind: 'Deployment',
      jsonPointers: ['/metadata/annotations/a~1b'],
    };
    const out = mergeIgnoredFromLive(
      rendered((d) => (d.metadata.annotations = { 'a/b': 'from-git' })),
      deployment(),
      [rule],
    );
    assert.equal(out.metadata.annotations, undefined);
  });

  test('managedFieldsManagers: the HPA-owned replicas come from live', () => {
    const out = mergeIgnoredFromLive(
      rendered(),
      deployment((d) => (d.spec.replicas = 4)),
      [{ group: 'apps', kind: 'Deployment', managedFieldsManagers: ['kube-controller-manager'] }],
    );
    assert.equal(replicasOf(out), 4);
  });

  test('jq: an injected list element is kept, a field of a reordered element lands in the right one', () => {
    const live = deployment((d) => {
      podSpec(d).initContainers = [injectedInit];
      podSpec(d).containers.unshift({ name: 'sidecar', image: 'sidecar:2' });
    });
    const rules: IgnoreRule[] = [
      {
        group: 'apps',
        kind: 'Deployment',
        jqPathExpressions: [
          '.spec.template.spec.initContainers[] | select(.name == "injected-init-container")',
          '.spec.template.spec.containers[] | select(.name == "sidecar") | .image',
        ],
      },
    ];
    const desired = rendered((d) => podSpec(d).containers.push({ name: 'sidecar', image: 'sidecar:1' }));
    const out = mergeIgnoredFromLive(desired, live, rules);
    assert.deepEqual(podSpec(out).initContainers, [injectedInit]);
    assert.deepEqual(names(podSpec(out).containers), [
      'guestbook-ui=gcr.io/heptio-images/ks-guestbook-demo:0.2',
      'sidecar=sidecar:2',
    ]);
    assert.equal(podSpec(desired).initContainers, undefined, 'input untouched');
  });

  test('no matching rule or no live object: a plain copy', () => {
    const desired = rendered();
    assert.deepEqual(
      mergeIgnoredFromLive(desired, deployment(), [{ ...replicas, kind: 'StatefulSet' }]),
      desired,
    );
    assert.deepEqual(mergeIgnoredFromLive(desired, undefined, [replicas]), desired);
  });
});

describe('errors: entries that cannot be applied', () => {
  const cases: Array<{ name: string; rule: IgnoreRule; message: RegExp }> = [
    {
      name: 'jq that computes values, not paths',
      rule: { group: 'apps', kind: 'Deployment', jqPathExpressions: ['.metadata.labels | tostring'] },
      message:
        /jqPathExpressions entry "\.metadata\.labels \| tostring": tostring\/0 is not a path expression/,
    },
    {
      name: 'jq with a construct capstan does not evaluate as a path',
      rule: {
        group: 'apps',
        kind: 'Deployment',
        jqPathExpressions: ['.spec | if .paused then .replicas else empty end'],
      },
      message: /cannot evaluate as a path/,
    },
    {
      name: 'jq syntax error',
      rule: {
        group: 'apps',
        kind: 'Deployment',
        jqPathExpressions: ['.spec.template.spec.containers[ | .image'],
      },
      message: /syntax error/,
    },
    {
      name: 'a JSON pointer without the leading slash',
      rule: { group: 'apps', kind: 'Deployment', jsonPointers: ['spec/replicas'] },
      message: /jsonPointers entry "spec\/replicas": a JSON pointer must start with "\/"/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => inSyncWith(deployment(), deployment(), [c.rule]),
        (err: unknown) =>
          err instanceof IgnoreRuleError && c.message.test(err.message) && err.rule === c.rule,
      );
    });
  }

  test('validateIgnoreRules reports syntax errors before any resource is compared', async () => {
    await assert.rejects(
      validateIgnoreRules([{ kind: 'ConfigMap', jqPathExpressions: ['.data["x"'] }]),
      /ignoreDifferences for ConfigMap: jqPathExpressions entry/,
    );
    await validateIgnoreRules([replicas, { kind: '*', jqPathExpressions: ['.data."a.b"'] }]);
  });

  test('validateIgnoreRules finds an expression that is not a path on an empty object', async () => {
    await assert.rejects(
      validateIgnoreRules([{ kind: 'ConfigMap', jqPathExpressions: ['.data | tostring'] }]),
      /jqPathExpressions entry "\.data \| tostring": tostring\/0 is not a path expression/,
    );
  });

  test('rules for other resources are not evaluated', () => {
    const bad: IgnoreRule = { group: 'apps', kind: 'StatefulSet', jqPathExpressions: ['.x | tostring'] };
    assert.deepEqual(rulesFor([bad, replicas], deployment()), [replicas]);
    assert.equal(inSyncWith(deployment(), deployment(), [bad]), true);
  });
});

describe('rule matching: group and kind as gobwas globs, in linear time', () => {
  const obj = (apiVersion: string, kind: string): KubeObject => ({
    apiVersion,
    kind,
    metadata: { name: 'x' },
  });
  const cases: Array<
    [group: string | undefined, kind: string, apiVersion: string, objKind: string, want: boolean]
  > = [
    ['*', '*', 'v1', 'ConfigMap', true], // `*` matches the empty core group
    [undefined, 'ConfigMap', 'v1', 'ConfigMap', true],
    ['apps', 'Deployment', 'v1', 'Deployment', false],
    ['*.k8s.io', '*', 'networking.k8s.io/v1', 'Ingress', true],
    ['*.k8s.io', '*', 'apps/v1', 'Deployment', false],
    ['{apps,batch}', '{Deployment,Job}', 'batch/v1', 'Job', true],
    ['apps', 'Stateful?et', 'apps/v1', 'StatefulSet', true],
    ['apps', '[A-D]eployment', 'apps/v1', 'Deployment', true],
    ['apps', '[!D]eployment', 'apps/v1', 'Deployment', false],
    ['apps', 'Deploy\\ment', 'apps/v1', 'Deployment', true],
    ['apps', '{Deployment', 'apps/v1', 'Deployment', false], // malformed: matches only itself
    ['apps', 'Deploy.ent', 'apps/v1', 'Deployment', false], // regex syntax is literal
  ];
  for (const [group, kind, apiVersion, objKind, want] of cases) {
    test(`group ${JSON.stringify(group)} kind ${JSON.stringify(kind)} vs ${apiVersion} ${objKind}: ${want}`, () => {
      assert.equal(
        rulesFor([{ group, kind, jsonPointers: ['/x'] }], obj(apiVersion, objKind)).length,
        want ? 1 : 0,
      );
    });
  }

  test('a backtracking-prone pattern against a long kind takes milliseconds, not minutes', () => {
    const started = Date.now();
    const rule: IgnoreRule = {
      group: '*a'.repeat(8) + 'b',
      kind: '*a'.repeat(8) + 'b',
      jsonPointers: ['/x'],
    };
    assert.deepEqual(rulesFor([rule], obj(`${'a'.repeat(60)}/v1`, 'a'.repeat(60))), []);
    assert.ok(Date.now() - started < 500, `took ${Date.now() - started} ms`);
  });
});

describe('compare options', () => {
  const annotated = (value?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'cm',
      annotations: value === undefined ? {} : { 'argocd.argoproj.io/compare-options': value },
    },
  });
  const cases: Array<[string | undefined, string, boolean]> = [
    ['IgnoreExtraneous', 'IgnoreExtraneous', true],
    ['ServerSideDiff=true, IgnoreExtraneous', 'IgnoreExtraneous', true],
    ['ServerSideDiff=true', 'IgnoreExtraneous', false],
    ['IgnoreExtraneousX', 'IgnoreExtraneous', false],
    [undefined, 'IgnoreExtraneous', false],
  ];
  for (const [value, option, want] of cases) {
    test(`${JSON.stringify(value)} has ${option}: ${want}`, () => {
      assert.equal(hasCompareOption(annotated(value), option), want);
    });
  }
  test('compareOptions trims and drops empty entries', () => {
    assert.deepEqual(compareOptions(annotated(' IgnoreExtraneous ,, ServerSideDiff=true ')), [
      'IgnoreExtraneous',
      'ServerSideDiff=true',
    ]);
  });
});
