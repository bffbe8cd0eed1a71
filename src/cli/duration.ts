// Durations as upstream's operators write them (operator-rs `stackable_shared::time::Duration`):
// one or more `<whole number><unit>` fragments, units `d`, `h`, `m`, `s`, `ms`, each at most once
// and from the largest to the smallest (`1d`, `24h`, `1h30m`, `500ms`). EOS_INTERVAL takes them.

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const UNIT_ORDER = ['d', 'h', 'm', 's', 'ms'];

export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

/** Parses `text` into milliseconds, or says what is wrong with it. */
export function parseDuration(text: string): DurationResult {
  if (text === '') return { ok: false, error: 'empty duration' };
  const fragment = /(\d+)([a-zA-Z]*)/y;
  let ms = 0;
  let lastUnit = -1;
  let at = 0;
  while (at < text.length) {
    fragment.lastIndex = at;
    const m = fragment.exec(text);
    if (m === null) return { ok: false, error: `unexpected character ${JSON.stringify(text[at])}` };
    const [whole, digits = '', unit = ''] = m;
    if (unit === '') {
      const next = text[at + whole.length];
      return { ok: false, error: next === undefined ? `the value ${digits} has no unit (d, h, m, s or ms)` : `unexpected character ${JSON.stringify(next)}` };
    }
    const order = UNIT_ORDER.indexOf(unit);
    if (order < 0) return { ok: false, error: `unknown unit ${JSON.stringify(unit)} (d, h, m, s or ms)` };
    if (order === lastUnit) return { ok: false, error: `the unit ${unit} appears twice` };
    if (order < lastUnit) return { ok: false, error: `${unit} must come before ${UNIT_ORDER[lastUnit] ?? ''}` };
    ms += Number(digits) * (UNIT_MS[unit] ?? 0);
    if (!Number.isSafeInteger(ms)) return { ok: false, error: 'the duration is too long' };
    lastUnit = order;
    at += whole.length;
  }
  return { ok: true, ms };
}

/** `ms` written the same way (`1d`, `4h30m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit] ?? 1;
    const whole = Math.floor(rest / size);
    if (whole > 0) out += `${whole}${unit}`;
    rest -= whole * size;
  }
  return out;
}
