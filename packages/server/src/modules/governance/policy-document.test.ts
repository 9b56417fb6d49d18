import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  approvalsRequired,
  compareMetric,
  GOVERNED_DEFAULT_POLICY,
  LOCAL_DEFAULT_POLICY,
  parsePolicyDocument,
  parsePolicySource,
  policyJson,
  protects,
  sniffPolicyFormat,
} from './policy-document.js';

const FULL_YAML = `
protect:
  aliases: [champion]
  stages: [Production]
checks:
  metrics: ["auc >= 0.85", "loss < 0.3"]      # read from the source run
  modelCard: [intendedUse, limitations, riskTier]
  trainingData: true
approvals:
  default: 1
  byRiskTier: { low: 1, medium: 1, high: 2 }
fourEyes: true
requestTtlDays: 14
`;

const FULL_DOCUMENT = {
  protect: { aliases: ['champion'], stages: ['Production'] },
  checks: {
    metrics: ['auc >= 0.85', 'loss < 0.3'],
    modelCard: ['intendedUse', 'limitations', 'riskTier'],
    trainingData: true,
  },
  approvals: { default: 1, byRiskTier: { low: 1, medium: 1, high: 2 } },
  fourEyes: true,
  requestTtlDays: 14,
};

function refusal(work: () => unknown): { code: string; message: string; field: string | undefined } {
  try {
    work();
  } catch (error) {
    if (!isCairnError(error)) throw error;
    return { code: error.code, message: error.message, field: error.field };
  }
  throw new Error('expected a refusal');
}

describe('policy documents', () => {
  it('reads the documented example the same from YAML, JSON text and a JSON value', () => {
    const fromYaml = parsePolicySource(FULL_YAML, 'yaml');
    const fromJsonText = parsePolicySource(JSON.stringify(FULL_DOCUMENT), 'json');
    const fromValue = parsePolicyDocument(FULL_DOCUMENT);
    expect(policyJson(fromYaml)).toEqual(FULL_DOCUMENT);
    expect(policyJson(fromJsonText)).toEqual(FULL_DOCUMENT);
    expect(policyJson(fromValue)).toEqual(FULL_DOCUMENT);
    expect(fromYaml.checks.metrics).toEqual([
      { metric: 'auc', op: '>=', threshold: 0.85, text: 'auc >= 0.85' },
      { metric: 'loss', op: '<', threshold: 0.3, text: 'loss < 0.3' },
    ]);
  });

  it.each([
    ['an empty mapping takes every default', '{}', policyJson(GOVERNED_DEFAULT_POLICY)],
    [
      'protecting nothing is said explicitly',
      'protect: { aliases: [], stages: [] }',
      { ...policyJson(GOVERNED_DEFAULT_POLICY), protect: { aliases: [], stages: [] } },
    ],
    [
      'a metrics. prefix, exponents and spacing are normalised',
      'checks: { metrics: ["metrics.auc>=8.5e-1", "  val/loss   !=  -2 "] }',
      {
        ...policyJson(GOVERNED_DEFAULT_POLICY),
        checks: { metrics: ['auc >= 0.85', 'val/loss != -2'], modelCard: [], trainingData: false },
      },
    ],
    [
      'zero approvals: checks alone gate the move',
      'approvals: { default: 0 }\nfourEyes: false\nrequestTtlDays: 365',
      {
        ...policyJson(GOVERNED_DEFAULT_POLICY),
        approvals: { default: 0, byRiskTier: {} },
        fourEyes: false,
        requestTtlDays: 365,
      },
    ],
    [
      'anchors and aliases within reason',
      'protect: { aliases: &a [champion, challenger], stages: [Staging] }\nchecks: { modelCard: [limitations] }\n',
      {
        ...policyJson(GOVERNED_DEFAULT_POLICY),
        protect: { aliases: ['champion', 'challenger'], stages: ['Staging'] },
        checks: { metrics: [], modelCard: ['limitations'], trainingData: false },
      },
    ],
  ])('accepts %s', (_name, yaml, expected) => {
    expect(policyJson(parsePolicySource(yaml, 'yaml'))).toEqual(expected);
  });

  const BAD: Array<[string, string, 'json' | 'yaml', string]> = [
    [
      'metrics[1]',
      'checks: { metrics: ["auc >= 0.85", "loss is low"] }',
      'yaml',
      'checks.metrics[1]: expected "<metric> <op> <number>"',
    ],
    [
      'metric without number',
      '{"checks": {"metrics": ["auc >="]}}',
      'json',
      'checks.metrics[0]: expected "<metric> <op> <number>"',
    ],
    ['metric with no name', '{"checks": {"metrics": [">= 1"]}}', 'json', 'checks.metrics[0]: expected'],
    [
      'metric not text',
      'checks: { metrics: [0.85] }',
      'yaml',
      'checks.metrics[0]: expected "<metric> <op> <number>"',
    ],
    [
      'metric too long',
      `checks: { metrics: ["${'a'.repeat(400)} > 1"] }`,
      'yaml',
      'checks.metrics[0]: expected',
    ],
    [
      'duplicate metric',
      'checks: { metrics: ["auc > 1", "auc>1"] }',
      'yaml',
      'checks.metrics[1]: "auc > 1" is listed twice',
    ],
    [
      'unknown top key',
      'protect: {}\napprovers: 2',
      'yaml',
      'approvers: unknown key; expected one of protect, checks',
    ],
    ['unknown nested key', '{"protect": {"alias": ["champion"]}}', 'json', 'protect.alias: unknown key'],
    ['__proto__ key', '{"__proto__": {"fourEyes": false}}', 'json', '__proto__: unknown key'],
    [
      'stage None',
      'protect: { stages: [None] }',
      'yaml',
      'protect.stages[0]: expected one of Staging, Production, Archived',
    ],
    ['stage case', 'protect: { stages: [production] }', 'yaml', 'protect.stages[0]: expected one of'],
    ['alias number', 'protect: { aliases: [v3] }', 'yaml', 'protect.aliases[0]: expected an alias name'],
    [
      'alias with @',
      '{"protect": {"aliases": ["a@b"]}}',
      'json',
      'protect.aliases[0]: expected an alias name',
    ],
    [
      'aliases not a list',
      'protect: { aliases: champion }',
      'yaml',
      'protect.aliases: expected a list, got the text "champion"',
    ],
    [
      'card field',
      'checks: { modelCard: [intended_use] }',
      'yaml',
      'checks.modelCard[0]: expected one of intendedUse',
    ],
    [
      'trainingData yes',
      'checks: { trainingData: yes }',
      'yaml',
      'checks.trainingData: expected true or false',
    ],
    [
      'approvals fraction',
      'approvals: { default: 1.5 }',
      'yaml',
      'approvals.default: expected a whole number from 0 to 20',
    ],
    [
      'approvals too many',
      '{"approvals": {"byRiskTier": {"high": 21}}}',
      'json',
      'approvals.byRiskTier.high: expected a whole number from 0 to 20',
    ],
    [
      'risk tier unknown',
      'approvals: { byRiskTier: { critical: 3 } }',
      'yaml',
      'approvals.byRiskTier.critical: unknown key; expected one of low, medium, high',
    ],
    ['ttl zero', 'requestTtlDays: 0', 'yaml', 'requestTtlDays: expected a whole number from 1 to 365'],
    ['ttl text', '{"requestTtlDays": "14"}', 'json', 'requestTtlDays: expected a whole number'],
    ['ttl infinite', 'requestTtlDays: .inf', 'yaml', 'requestTtlDays: expected a whole number'],
    ['fourEyes text', 'fourEyes: "true"', 'yaml', 'fourEyes: expected true or false'],
    ['top level list', '- protect', 'yaml', 'policy: expected a mapping, got a list'],
    ['empty text', '', 'yaml', 'policy: expected a mapping, got null'],
    ['bad JSON', '{"protect": ', 'json', 'policy: not valid JSON'],
    ['bad YAML', 'protect: [champion', 'yaml', 'policy: not valid YAML'],
    ['duplicate YAML key', 'fourEyes: true\nfourEyes: false', 'yaml', 'policy: not valid YAML'],
    ['two YAML documents', 'fourEyes: true\n---\nfourEyes: false', 'yaml', 'policy: not valid YAML'],
    ['too large', `# ${'x'.repeat(70_000)}\n{}`, 'yaml', 'policy: the text is larger than 65536 bytes'],
  ];

  it.each(BAD)('refuses %s with INVALID_ARGUMENT naming the path', (_name, text, format, expected) => {
    const error = refusal(() => parsePolicySource(text, format));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain(expected);
    expect(error.field).toMatch(/^document/);
  });

  it('refuses a billion-laughs document instead of expanding it', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `${levels.join('\n')}\nprotect: { aliases: *j }`;
    const error = refusal(() => parsePolicySource(bomb, 'yaml'));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/^policy: /);
  });

  it('never crashes on arbitrary text: a policy or INVALID_ARGUMENT, in either format', () => {
    const yamlish = fc.stringMatching(/^[\s\w\-:[\]{},&*!|>'"#%@`.?]*$/, { maxLength: 200 });
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }), yamlish),
        (text) => {
          for (const format of ['yaml', 'json'] as const) {
            try {
              parsePolicySource(text, format);
            } catch (error) {
              if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
            }
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('never crashes on arbitrary JSON values shaped almost like a policy', () => {
    const leaf = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
    );
    const keys = fc.constantFrom(
      'protect',
      'checks',
      'approvals',
      'fourEyes',
      'requestTtlDays',
      'aliases',
      'stages',
      'metrics',
      'modelCard',
      'trainingData',
      'default',
      'byRiskTier',
      'high',
      'low',
      'medium',
    );
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(keys, tie('value'), { maxKeys: 5 }),
      ),
    }));
    fc.assert(
      fc.property(value, (document) => {
        try {
          const policy = parsePolicyDocument(document);
          // Whatever was accepted survives the trip through its stored form unchanged.
          expect(policyJson(parsePolicyDocument(policyJson(policy)))).toEqual(policyJson(policy));
        } catch (error) {
          if (!isCairnError(error) || error.code !== 'INVALID_ARGUMENT') throw error;
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses absurd nesting without a stack overflow escaping', () => {
    for (const format of ['yaml', 'json'] as const) {
      for (const text of ['['.repeat(60_000), `${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}`]) {
        expect(refusal(() => parsePolicySource(text, format)).code).toBe('INVALID_ARGUMENT');
      }
    }
    expect(refusal(() => parsePolicySource('['.repeat(17), 'yaml')).message).toContain('nested more than 16');
    // Brackets inside quotes and comments are text, not nesting.
    const quoted = `checks: { metrics: ["${'['.repeat(20)}x > 1"] } # ${'{'.repeat(20)}`;
    expect(policyJson(parsePolicySource(quoted, 'yaml')).checks.metrics).toEqual([`${'['.repeat(20)}x > 1`]);
    // Past the quick look (a quote it cannot pair), the parser itself still refuses in bounded time.
    expect(refusal(() => parsePolicySource(`a: it's\n${'['.repeat(20_000)}`, 'yaml')).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('answers protection, approvals by risk tier and comparisons', () => {
    const policy = parsePolicyDocument(FULL_DOCUMENT);
    expect(protects(policy, { kind: 'alias', name: 'champion' })).toBe(true);
    expect(protects(policy, { kind: 'alias', name: 'challenger' })).toBe(false);
    expect(protects(policy, { kind: 'stage', name: 'Production' })).toBe(true);
    expect(protects(policy, { kind: 'stage', name: 'Staging' })).toBe(false);
    expect(protects(LOCAL_DEFAULT_POLICY, { kind: 'alias', name: 'champion' })).toBe(false);
    expect(protects(GOVERNED_DEFAULT_POLICY, { kind: 'stage', name: 'Production' })).toBe(true);
    expect(approvalsRequired(policy, 'high')).toBe(2);
    expect(approvalsRequired(policy, null)).toBe(1);
    const partial = parsePolicyDocument({ approvals: { default: 3, byRiskTier: { low: 0 } } });
    expect([approvalsRequired(partial, 'low'), approvalsRequired(partial, 'medium')]).toEqual([0, 3]);
    const cases: Array<[number, '>=' | '>' | '<=' | '<' | '==' | '!=', number, boolean]> = [
      [0.85, '>=', 0.85, true],
      [0.85, '>', 0.85, false],
      [0.3, '<', 0.3, false],
      [0.3, '<=', 0.3, true],
      [1, '==', 1, true],
      [1, '!=', 1, false],
      [Number.NaN, '!=', 1, true],
      [Number.NaN, '>=', 0, false],
    ];
    for (const [value, op, threshold, expected] of cases) {
      expect(compareMetric(value, { op, threshold }), `${value} ${op} ${threshold}`).toBe(expected);
    }
  });

  it('tells JSON from YAML by the first character', () => {
    expect(sniffPolicyFormat('  {"fourEyes": true}')).toBe('json');
    expect(sniffPolicyFormat('fourEyes: true')).toBe('yaml');
    expect(sniffPolicyFormat('[1]')).toBe('yaml');
  });
});
