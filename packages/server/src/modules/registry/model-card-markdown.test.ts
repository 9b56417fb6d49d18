import { describe, expect, it } from 'vitest';
import { isCairnError } from '@cairn/contract';
import fc from 'fast-check';
import { parseCardMarkdown, renderCardMarkdown } from './model-card-markdown.js';
import type { ModelCardView } from './model-cards.service.js';

const view = (fields: Partial<ModelCardView['fields']> = {}): ModelCardView => ({
  model: 'churn',
  version: 3,
  fields: {
    intendedUse: '',
    outOfScopeUse: '',
    limitations: '',
    ethicalConsiderations: '',
    riskTier: null,
    markdown: '',
    ...fields,
  },
  updatedAt: null,
  updatedBy: null,
  generated: {
    format: 'onnx',
    digest: `sha256:${'a'.repeat(64)}`,
    stage: 'Production',
    aliases: ['champion'],
    createdAt: Date.UTC(2026, 2, 3),
    source: 'runs:/abc/model',
    signature: {
      source: 'onnx',
      inputs: [{ name: 'X', type: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'Y', type: 'FP32', shape: [-1, 1] }],
    },
    trainingData: [{ kind: 'dataset', id: 'd1', label: 'churn-train@sha256:12' }],
    sourceRun: {
      runId: 'r1',
      runName: 'bold-fox',
      experimentId: '0',
      status: 'FINISHED',
      params: { lr: '0.1' },
      metrics: { auc: 0.91 },
    },
    codeVersions: [{ commit: 'deadbeef', source: 'train.py' }],
  },
});

describe('model card Markdown', () => {
  it('renders editable and generated sections', () => {
    const text = renderCardMarkdown(view({ intendedUse: 'Score churn risk.', riskTier: 'high' }));
    expect(text).toContain('# Model card: churn version 3');
    expect(text).toContain('## Intended use\n\nScore churn risk.');
    expect(text).toContain('## Risk tier\n\nhigh');
    expect(text).toContain('## Signature (generated)');
    expect(text).toContain('| input | X | FP32 | [-1, 4] |');
    expect(text).toContain('churn-train@sha256:12');
    expect(text).toContain('| lr | 0.1 |');
    expect(text).toContain('| auc | 0.91 |');
    expect(text).toContain('commit `deadbeef` train.py');
  });

  it('reads back what it renders, ignoring generated sections', () => {
    const fields = {
      intendedUse: 'Score churn risk for retention campaigns.',
      outOfScopeUse: 'Credit decisions.',
      limitations: 'Trained on EU customers only.\n\n- no B2B',
      ethicalConsiderations: 'Age is not a feature.',
      riskTier: 'medium' as const,
      markdown: '### Evaluation\n\nAUC 0.91 on the March holdout.',
    };
    expect(parseCardMarkdown(renderCardMarkdown(view(fields)))).toEqual(fields);
  });

  it('turns placeholders back into empty sections', () => {
    const parsed = parseCardMarkdown(renderCardMarkdown(view()));
    expect(parsed).toMatchObject({ intendedUse: '', riskTier: null });
  });

  it('keeps unknown sections as notes', () => {
    const parsed = parseCardMarkdown('## Intended use\n\nx\n\n## Fairness audit\n\nDone in May.\n');
    expect(parsed).toEqual({ intendedUse: 'x', markdown: '## Fairness audit\n\nDone in May.' });
  });

  it.each([
    ['## Risk tier\n\nextreme\n', 'risk_tier'],
    ['no headings at all', 'card'],
  ])('refuses %j naming %s', (text, field) => {
    let caught: unknown;
    try {
      parseCardMarkdown(text);
    } catch (error) {
      caught = error;
    }
    expect(isCairnError(caught) && caught.field === field).toBe(true);
  });

  it('answers any text with fields or a Cairn error', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        try {
          parseCardMarkdown(`## Intended use\n${text}`);
          parseCardMarkdown(text);
        } catch (error) {
          expect(isCairnError(error)).toBe(true);
        }
      }),
    );
  });
});
