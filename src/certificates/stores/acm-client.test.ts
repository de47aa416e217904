import { describe, expect, it } from 'vitest';
import { mergeArns } from './acm-client.js';

const A = 'arn:aws:acm:us-east-1:1:certificate/a';
const B = 'arn:aws:acm:us-east-1:1:certificate/b';
const OURS = 'arn:aws:acm:us-east-1:1:certificate/ours';
const OLD = 'arn:aws:acm:us-east-1:1:certificate/old';

describe('mergeArns', () => {
  it.each([
    ['no annotation yet', undefined, OURS, undefined, OURS],
    ["keeps the user's ARNs, in order", `${A},${B}`, OURS, undefined, `${A},${B},${OURS}`],
    ['does not duplicate', `${A}, ${OURS}`, OURS, undefined, `${A},${OURS}`],
    ['replaces our previous ARN', `${OLD},${A}`, OURS, OLD, `${A},${OURS}`],
    ['removes ours when we have none', `${A},${OURS}`, undefined, OURS, A],
    ['tolerates blanks', ` ${A} ,, `, OURS, undefined, `${A},${OURS}`],
  ])('%s', (_, current, ours, previous, want) => {
    expect(mergeArns(current, ours, previous)).toBe(want);
  });
});
