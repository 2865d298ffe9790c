/** Ends an exhaustive switch: the compiler proves it unreachable, the runtime reports the stray value. */
export function assertUnreachable(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what} ${JSON.stringify(value)}`);
}
