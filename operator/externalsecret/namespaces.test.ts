import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionsNeedLabels, labelSelectorMatches, namespaceAllowed } from './namespaces';

describe('ClusterSecretStore namespace conditions', () => {
  const cases: Array<
    [string, Parameters<typeof namespaceAllowed>[0], string, Record<string, string>, boolean]
  > = [
    ['no conditions allow every namespace', undefined, 'any', {}, true],
    ['an empty list allows every namespace', [], 'any', {}, true],
    ['by name: listed', [{ namespaces: ['team-a', 'team-b'] }], 'team-b', {}, true],
    ['by name: not listed', [{ namespaces: ['team-a'] }], 'team-c', {}, false],
    ['by regex: unanchored match', [{ namespaceRegexes: ['team-'] }], 'my-team-x', {}, true],
    ['by regex: anchored miss', [{ namespaceRegexes: ['^team-'] }], 'my-team-x', {}, false],
    ['by regex: an invalid expression matches nothing', [{ namespaceRegexes: ['('] }], 'x', {}, false],
    [
      'by selector: labels match',
      [{ namespaceSelector: { matchLabels: { env: 'prod' } } }],
      'x',
      { env: 'prod' },
      true,
    ],
    [
      'by selector: labels differ',
      [{ namespaceSelector: { matchLabels: { env: 'prod' } } }],
      'x',
      { env: 'dev' },
      false,
    ],
    ['an empty selector matches every namespace', [{ namespaceSelector: {} }], 'x', {}, true],
    ['fields of one condition are ORed', [{ namespaces: ['a'], namespaceRegexes: ['^b$'] }], 'b', {}, true],
    [
      'any condition may match',
      [{ namespaces: ['a'] }, { namespaceSelector: { matchLabels: { t: '1' } } }],
      'z',
      { t: '1' },
      true,
    ],
    ['no condition matches', [{ namespaces: ['a'] }, { namespaceRegexes: ['^b'] }], 'c', {}, false],
  ];
  for (const [name, conditions, ns, labels, want] of cases) {
    test(name, () => assert.equal(namespaceAllowed(conditions, { name: ns, labels }), want));
  }

  test('labels are only needed when a condition has a namespaceSelector', () => {
    assert.equal(conditionsNeedLabels([{ namespaces: ['a'] }]), false);
    assert.equal(conditionsNeedLabels([{ namespaces: ['a'] }, { namespaceSelector: {} }]), true);
    assert.equal(conditionsNeedLabels(undefined), false);
  });

  test('matchExpressions: In, NotIn, Exists, DoesNotExist, unknown operator', () => {
    const labels = { tier: 'prod', team: 'a' };
    const sel = (operator: string, values?: string[], key = 'tier') => ({
      matchExpressions: [{ key, operator: operator as 'In', values }],
    });
    assert.equal(labelSelectorMatches(sel('In', ['prod', 'stage']), labels), true);
    assert.equal(labelSelectorMatches(sel('In', ['dev']), labels), false);
    assert.equal(labelSelectorMatches(sel('NotIn', ['dev']), labels), true);
    assert.equal(labelSelectorMatches(sel('NotIn', ['dev'], 'missing'), labels), true);
    assert.equal(labelSelectorMatches(sel('NotIn', ['prod']), labels), false);
    assert.equal(labelSelectorMatches(sel('Exists'), labels), true);
    assert.equal(labelSelectorMatches(sel('Exists', undefined, 'missing'), labels), false);
    assert.equal(labelSelectorMatches(sel('DoesNotExist', undefined, 'missing'), labels), true);
    assert.equal(labelSelectorMatches(sel('DoesNotExist'), labels), false);
    assert.equal(labelSelectorMatches(sel('Gt', ['1']), labels), false);
    assert.equal(
      labelSelectorMatches({ matchLabels: { team: 'a' }, ...sel('In', ['dev']) }, labels),
      false,
      'matchLabels and matchExpressions are ANDed',
    );
  });
});
