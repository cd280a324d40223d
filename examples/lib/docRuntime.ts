/**
 * The helper a module built by `exampleModule` (docBlocks.ts) runs with: it checks `// → value`
 * and `// throws Name` statements, remembers which example is running, maps a stack trace back to
 * the markdown line, and writes a report (JSON) to the file named by `SAIKEI_DOCS_REPORT`.
 */
import { writeFileSync } from "node:fs";
import { inspect, isDeepStrictEqual } from "node:util";

/** One failed check or the error that stopped the examples of a file. */
export interface DocFailure {
  block: number;
  line: number;
  message: string;
}

/** What a run reports: the examples entered, the checks made and the failures. */
export interface DocReport {
  file: string;
  blocksEntered: number[];
  checks: number;
  failures: DocFailure[];
}

/** The state of one run of a file's examples. */
export class DocRun {
  private block = 0;
  private blockLine = 0;
  private checks = 0;
  private readonly entered: number[] = [];
  private readonly failures: DocFailure[] = [];

  /**
   * @param file the markdown file, as reported.
   * @param lines for each line of the generated module (from 1), `[block, markdownLine]` or null.
   */
  constructor(
    private readonly file: string,
    private readonly lines: ([number, number] | null)[],
  ) {}

  /** Marks the start of example `block` (its fence on `fenceLine`); 0 after the last one. */
  enter(block: number, fenceLine: number): void {
    this.block = block;
    this.blockLine = fenceLine;
    if (block > 0) this.entered.push(block);
  }

  /** `expression; // → expected`: records a failure when the two differ (and goes on). */
  async expect(
    line: number,
    actual: () => Promise<unknown>,
    expected: () => unknown,
    expectedText: string,
  ): Promise<void> {
    this.checks++;
    const value = normalize(await actual());
    const want = normalize(expected());
    if (!sameValue(value, want)) {
      this.failures.push({
        block: this.block,
        line,
        message: `expected → ${expectedText}, got ${inspect(value, { depth: 6, breakLength: Infinity })}`,
      });
    }
  }

  /** `statement; // throws Name`: records a failure unless the statement throws a `Name`. */
  async throws(line: number, errorName: string, statement: () => Promise<void>): Promise<void> {
    this.checks++;
    const problem = await throwsProblem(errorName, statement);
    if (problem !== null) this.failures.push({ block: this.block, line, message: problem });
  }

  /** A block marked `ts throws=Name`: records a failure unless the block throws a `Name`. */
  async throwsBlock(errorName: string, body: () => Promise<void>): Promise<void> {
    this.checks++;
    const problem = await throwsProblem(errorName, body);
    if (problem !== null) {
      this.failures.push({ block: this.block, line: this.blockLine, message: problem });
    }
  }

  /** The error that stopped the examples, located in the markdown by its stack trace. */
  fail(error: unknown): void {
    let line = this.blockLine;
    let block = this.block;
    const stack = error instanceof Error ? (error.stack ?? "") : "";
    // The first frame in the generated module (docs-<name>.ts) names the example's line.
    for (const match of stack.matchAll(/((?:file:\/\/)?\/[^():\s]+\.ts):(\d+):\d+/g)) {
      if (!/\/docs-[^/]*\.ts$/.test(match[1]!)) continue;
      const origin = this.lines[Number(match[2]) - 1];
      if (origin) {
        [block, line] = origin;
        break;
      }
    }
    const message =
      error instanceof Error
        ? `${error.name}: ${error.message}`
        : `a non-error was thrown: ${inspect(error)}`;
    this.failures.push({ block, line, message });
  }

  /** Writes the report and sets the exit code. */
  async finish(): Promise<void> {
    const report: DocReport = {
      file: this.file,
      blocksEntered: this.entered,
      checks: this.checks,
      failures: this.failures,
    };
    const path = process.env.SAIKEI_DOCS_REPORT;
    if (path) writeFileSync(path, JSON.stringify(report));
    else console.log(JSON.stringify(report, null, 2));
    process.exitCode = this.failures.length === 0 ? 0 : 1;
  }
}

async function throwsProblem(errorName: string, body: () => Promise<void>): Promise<string | null> {
  try {
    await body();
  } catch (error) {
    if (errorNames(error).includes(errorName)) return null;
    return `expected ${errorName} to be thrown, got ${errorNames(error)[0] ?? typeof error}: ${
      error instanceof Error ? error.message : inspect(error)
    }`;
  }
  return `expected ${errorName} to be thrown, but nothing was thrown`;
}

/** The error's `name` and the names of its class and base classes. */
function errorNames(error: unknown): string[] {
  const names: string[] = [];
  if (error instanceof Error) names.push(error.name);
  let proto = error === null || typeof error !== "object" ? null : Object.getPrototypeOf(error);
  while (proto !== null && proto !== Object.prototype) {
    const name = (proto.constructor as { name?: string } | undefined)?.name;
    if (name) names.push(name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

/** Tensors become nested arrays (`arraySync`), so `// → [1, 2]` can describe one. */
function normalize(value: unknown): unknown {
  if (isTensor(value)) return value.arraySync();
  return value;
}

function isTensor(value: unknown): value is { arraySync(): unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    "dtype" in value &&
    "shape" in value &&
    typeof (value as { arraySync?: unknown }).arraySync === "function"
  );
}

/**
 * Equality for `// → value`: numbers within a relative 1e-6 (float32 values written with fewer
 * digits), typed arrays element-wise, a plain object literal matches any object with the same own
 * keys and values, anything else by `isDeepStrictEqual` or an `equals` method.
 */
function sameValue(actual: unknown, expected: unknown): boolean {
  if (typeof actual === "number" && typeof expected === "number") {
    if (Object.is(actual, expected)) return true;
    return Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected));
  }
  if (typeof expected !== "object" || expected === null) return Object.is(actual, expected);
  if (typeof actual !== "object" || actual === null) return false;
  if (ArrayBuffer.isView(expected) || ArrayBuffer.isView(actual)) {
    return isDeepStrictEqual(actual, expected);
  }
  if (Array.isArray(expected)) {
    return (
      Array.isArray(actual) &&
      actual.length === expected.length &&
      expected.every((e, i) => sameValue(actual[i], e))
    );
  }
  const proto = Object.getPrototypeOf(expected);
  if (proto === Object.prototype || proto === null) {
    const keys = Object.keys(expected);
    return (
      !Array.isArray(actual) &&
      Object.keys(actual).length === keys.length &&
      keys.every(
        (k) =>
          Object.hasOwn(actual, k) &&
          sameValue(
            (actual as Record<string, unknown>)[k],
            (expected as Record<string, unknown>)[k],
          ),
      )
    );
  }
  const equals = (expected as { equals?: (other: unknown) => unknown }).equals;
  if (typeof equals === "function") return equals.call(expected, actual) === true;
  return isDeepStrictEqual(actual, expected);
}
