// The one test for "a JSON object" (not null, not an array), for everything that reads input of
// unknown shape: API objects, CSI requests, ConversionReviews, log lines.

/** Whether `value` is a plain object (a JSON object), i.e. not null, an array or a primitive. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
