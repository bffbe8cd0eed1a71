// Kubernetes API types as plain JSON.
//
// The client's model types are classes; this project builds and compares plain object literals
// and never needs the classes' prototypes. `Plain<T>` is the same shape without the class-ness,
// with timestamps typed as what the API actually sends (strings) or what the client may have
// turned them into (Date). Objects of the client's own types are assignable to it.
export type Plain<T> = T extends Date
  ? string | Date
  : T extends readonly (infer U)[]
    ? Plain<U>[]
    : T extends object
      ? { [K in keyof T]: Plain<T[K]> }
      : T;
