import { stringify } from 'yaml';

/** Output, pure: tables for people, JSON or YAML for scripts, colour only where it helps. */
export type Format = 'table' | 'json' | 'yaml';

export interface Style {
  colour: boolean;
}

/** Colour on a terminal, never with NO_COLOR set (any value), never when piped. */
export function useColour(
  isTTY: boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return !!isTTY && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

const codes = { green: 32, red: 31, yellow: 33, grey: 90, bold: 1 } as const;
export type Colour = keyof typeof codes;

export function paint(s: Style, colour: Colour, text: string): string {
  return s.colour ? `\u001b[${codes[colour]}m${text}\u001b[0m` : text;
}

const stateColour: Record<string, Colour> = {
  passed: 'green',
  failed: 'red',
  waiting: 'yellow',
  unknown: 'yellow',
  skipped: 'grey',
  Ready: 'green',
  NotReady: 'red',
};

export function paintState(s: Style, state: string): string {
  const c = stateColour[state];
  return c ? paint(s, c, state) : state;
}

// eslint-disable-next-line no-control-regex
const ansi = /\u001b\[[0-9;]*m/g;
const width = (t: string) => t.replace(ansi, '').length;

/** Columns padded to the widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => width(r[i] ?? ''))));
  return all
    .map((r) =>
      r
        .map((cell, i) =>
          i === r.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell)),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function serialize(format: Exclude<Format, 'table'>, value: unknown): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}
