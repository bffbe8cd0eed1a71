// A success value or a typed error: the pure CSI functions return these instead of throwing, so
// every failure has a kind the gRPC mapping (errors.ts) can switch on.

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
