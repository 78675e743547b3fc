/**
 * The part of a test object the conformance suites use. tap's `t` has it as it is; so does a thin
 * wrapper around `node:test` (`t.test`, `t.after` as `teardown`, `node:assert` for the checks).
 */
/** An optional assertion message. */
type Message = [] | [string]

export interface TestLike {
  /** A subtest; its promise settles when the subtest has finished. */
  test (name: string, fn: (t: TestLike) => Promise<void> | void): Promise<unknown>
  /** Runs `fn` once the test has finished (close what the test opened). */
  teardown (fn: () => unknown): void
  /** Strict equality (`Object.is`). */
  equal (found: unknown, wanted: unknown, ...message: Message): unknown
  /** Strict inequality (`!Object.is`). */
  not (found: unknown, notWanted: unknown, ...message: Message): unknown
  /** Deep equality. */
  same (found: unknown, wanted: unknown, ...message: Message): unknown
  /** `found` has at least the fields of `pattern`, recursively. */
  match (found: unknown, pattern: unknown, ...message: Message): unknown
  /** `typeof found === type`. */
  type (found: unknown, type: string, ...message: Message): unknown
  ok (value: unknown, ...message: Message): unknown
  notOk (value: unknown, ...message: Message): unknown
  pass (...message: Message): unknown
  rejects (promise: Promise<unknown>, ...expected: [] | [RegExp] | [RegExp, string]): Promise<unknown>
  resolves (promise: Promise<unknown>, ...message: Message): Promise<unknown>
}
