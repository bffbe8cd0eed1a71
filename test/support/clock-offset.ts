// Preloaded into an operator process (NODE_OPTIONS=--import=<this file>) by tests that need its wall
// clock somewhere else: shifts Date (now, and new Date() without arguments) by
// LISTENER_TEST_CLOCK_OFFSET_MS, so that e.g. a minute boundary comes a few seconds after start. Timers
// are untouched: a delay computed from the shifted clock passes in real time.
const offset = Number(process.env.LISTENER_TEST_CLOCK_OFFSET_MS ?? '0');
const RealDate = Date;

class ShiftedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + offset);
    else super(...(args as [string | number | Date]));
  }

  static override now(): number {
    return RealDate.now() + offset;
  }
}

globalThis.Date = ShiftedDate as DateConstructor;
