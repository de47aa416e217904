import { describe, expect, it } from 'vitest';
import type { RecordStatus } from './plan.js';
import { RecordStates } from './records.js';

const k = (resource: string, name: string) => `${resource}|${name}|A`;
const web = 'ingress/ns/web';
const api = 'ingress/ns/api';

function statuses(entries: [string, RecordStatus][]): Map<string, RecordStatus> {
  return new Map(entries);
}

describe('RecordStates', () => {
  it('reports the resources whose record states changed, and only those', () => {
    const s = new RecordStates();
    const bothPublished = () =>
      statuses([
        [k(web, 'a'), { state: 'Published' }],
        [k(api, 'b'), { state: 'Published' }],
      ]);
    expect(s.save('Z1', bothPublished())).toEqual(new Set([web, api]));
    // The same again: nothing to write.
    expect(s.save('Z1', bothPublished())).toEqual(new Set());
    // One changes, one goes.
    expect(s.save('Z1', statuses([[k(web, 'a'), { state: 'OwnedByOther', owner: 'x' }]]))).toEqual(
      new Set([web, api]),
    );
    expect(s.get(k(api, 'b'))).toBeUndefined();
    expect(s.get(k(web, 'a'))).toEqual({ state: 'OwnedByOther', owner: 'x', zoneId: 'Z1' });
  });

  it('keeps the states of other zones', () => {
    const s = new RecordStates();
    s.save('Z1', statuses([[k(web, 'a'), { state: 'Published' }]]));
    s.save('Z2', statuses([[k(web, 'b'), { state: 'Error', message: 'refused' }]]));
    expect(s.save('Z2', statuses([]))).toEqual(new Set([web]));
    expect(s.get(k(web, 'a'))?.state).toBe('Published');
  });

  it('a record sent and not yet INSYNC is Pending until its change is confirmed', () => {
    const s = new RecordStates();
    s.sent([k(web, 'a')], 'C1');
    s.save('Z1', statuses([[k(web, 'a'), { state: 'Published' }]]));
    expect(s.get(k(web, 'a'))?.state).toBe('Pending');
    expect(s.confirmed(new Set(['C0']))).toEqual(new Set());
    expect(s.confirmed(new Set(['C1']))).toEqual(new Set([web]));
    expect(s.get(k(web, 'a'))?.state).toBe('Published');
    // Confirmed once: a later sync sees it Published at once.
    s.save('Z1', statuses([[k(web, 'a'), { state: 'Published' }]]));
    expect(s.get(k(web, 'a'))?.state).toBe('Published');
  });

  it('a change that was lost leaves nothing in flight', () => {
    const s = new RecordStates();
    s.sent([k(web, 'a')], 'C1');
    s.lost(new Set(['C1']));
    s.save('Z1', statuses([[k(web, 'a'), { state: 'Published' }]]));
    expect(s.get(k(web, 'a'))?.state).toBe('Published');
  });
});
