/**
 * The demo's command line, parsed by `node:util`'s `parseArgs` in strict mode: an unknown flag, a
 * missing value, a stray argument or a bad value is a usage error (exit code 2, the error and the
 * usage on stderr); `--help` prints the usage on stdout.
 */
import { parseArgs } from "node:util";

/** The demo's options once parsed. */
export interface DemoOptions {
  /** Training steps. */
  steps: number;
  /** Training time budget, in seconds. */
  seconds: number;
  /** Parameter, batch and sampling seed. */
  seed: number;
  /** Output directory; undefined for the default (`examples/out`). */
  out: string | undefined;
  /** The tfjs backend; undefined for the fastest available. */
  backend: "cpu" | "wasm" | undefined;
}

/** The usage text `--help` prints. */
export const USAGE = `usage: npm run demo -- [options]

Builds a small transformer, trains it on Shakespeare's sonnets, writes a loss plot, a checkpoint,
a sample and the model's treescope page.

options:
  --steps N        training steps (default 300)
  --seconds N      training time budget in seconds (default 100)
  --out DIR        where the outputs go (default examples/out)
  --seed N         parameter, batch and sampling seed, 0 or more (default 1)
  --backend NAME   tfjs backend: wasm or cpu (default: the fastest available)
  -h, --help       print this help and exit
`;

/** A command line the demo cannot run with; its message says which flag and why. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** What the command line asks for: run with options, or print something and exit. */
export type CommandLine =
  | { kind: "run"; options: DemoOptions }
  | { kind: "exit"; code: 0 | 2; stdout: string; stderr: string };

/**
 * Parses the demo's flags (`--name value` or `--name=value`).
 *
 * @param argv the arguments after the script name (`process.argv.slice(2)`).
 * @returns the options, or `{ help: true }` for `--help` / `-h`.
 * @throws UsageError for an unknown flag, a flag without its value, a positional argument or a
 * value out of range.
 * @example
 * parseDemoArgs(["--steps", "20", "--backend=cpu"]); // { steps: 20, seconds: 100, seed: 1, out: undefined, backend: "cpu" }
 */
export function parseDemoArgs(argv: readonly string[]): DemoOptions | { help: true } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        steps: { type: "string" },
        seconds: { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        backend: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    // parseArgs throws a TypeError with an ERR_PARSE_ARGS_* code for every command-line mistake.
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_")) {
      throw new UsageError((error as Error).message);
    }
    throw error;
  }
  if (values.help === true) return { help: true };
  const backend = values.backend as string | undefined;
  if (backend !== undefined && backend !== "cpu" && backend !== "wasm") {
    throw new UsageError(`--backend must be wasm or cpu, got "${backend}".`);
  }
  const out = values.out as string | undefined;
  if (out === "") throw new UsageError("--out must name a directory, got an empty string.");
  return {
    steps: integer(values.steps, "steps", 300, 1),
    seconds: integer(values.seconds, "seconds", 100, 1),
    seed: integer(values.seed, "seed", 1, 0),
    out,
    backend,
  };
}

function integer(raw: unknown, name: string, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(String(raw)) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    const kind = min === 0 ? "a non-negative integer" : "a positive integer";
    throw new UsageError(`--${name} must be ${kind}, got "${raw}".`);
  }
  return value;
}

/**
 * The demo's command line as an action: run with the parsed options, print the usage (`--help`,
 * exit 0), or print the error and the usage (exit 2).
 *
 * @example
 * commandLine(["--help"]); // { kind: "exit", code: 0, stdout: USAGE, stderr: "" }
 */
export function commandLine(argv: readonly string[]): CommandLine {
  try {
    const parsed = parseDemoArgs(argv);
    if ("help" in parsed) return { kind: "exit", code: 0, stdout: USAGE, stderr: "" };
    return { kind: "run", options: parsed };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return { kind: "exit", code: 2, stdout: "", stderr: `error: ${error.message}\n\n${USAGE}` };
  }
}

/**
 * Reads `--name value` and `--name=value` flags into a record of strings, leniently (a bare
 * `--name` is `"true"`, anything else is ignored). Kept for `examples/notebooks/run.ts`; the demo
 * uses the strict {@link commandLine}.
 */
export function parseFlags(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq >= 0) out[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) out[arg.slice(2)] = argv[++i]!;
    else out[arg.slice(2)] = "true";
  }
  return out;
}
