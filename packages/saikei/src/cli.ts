/**
 * The `saikei` command line: generate text with a Hugging Face model folder, or look inside one.
 *
 * ```sh
 * npx saikei generate <dir> --prompt "Once upon a time" [--max-new-tokens 32] [--temperature 0] [--seed 0]
 * npx saikei inspect <dir> [--html model.html] [--depth 3]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  generate,
  type LoadProgress,
  loadPretrained,
  type Pretrained,
  SUPPORTED_ARCHITECTURES,
} from "@saikei/models";
import { ready } from "@saikei/named";
import { isAnyParameter } from "@saikei/nn";
import { flattenWithPath } from "@saikei/struct";
import { writeFileAtomic } from "@saikei/toolshed/node";
import { renderToHTML } from "@saikei/treescope";

/** Where the command line writes. */
export interface CliIO {
  /** Results (generated text, the inspection). */
  readonly stdout: { write(text: string): unknown };
  /** Progress and errors. */
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
}

const USAGE = `Usage:
  saikei generate <dir> --prompt <text> [--max-new-tokens N] [--temperature T] [--seed S]
  saikei inspect <dir> [--html <out.html>] [--depth N]

<dir> is a Hugging Face model folder (config.json, model.safetensors or an index with shards,
tokenizer.json). Supported architectures: ${SUPPORTED_ARCHITECTURES.join(", ")}.

  generate   continues the prompt (greedy unless --temperature > 0) and prints the new text
  inspect    prints the architecture, sizes and parameters; --html writes the model's treescope page
`;

/** A mistake in how the command was called (exit code 2). */
class UsageError extends Error {
  override name = "UsageError";
}

/** Folders at least this large get a progress bar while loading. */
const PROGRESS_BAR_BYTES = 32 * 1024 * 1024;

/** Draws a progress bar on a terminal, or a line every 10% elsewhere. */
export function progressReporter(stderr: CliIO["stderr"]): (p: LoadProgress) => void {
  const started = Date.now();
  let lastDecile = -1;
  return (p) => {
    if (p.totalBytes < PROGRESS_BAR_BYTES) return;
    const fraction = p.bytesRead / p.totalBytes;
    const mb = (n: number) => (n / 1e6).toFixed(0);
    const seconds = (Date.now() - started) / 1000;
    const text = `loading ${mb(p.bytesRead)}/${mb(p.totalBytes)} MB (${p.tensorsRead}/${p.totalTensors} tensors, ${seconds.toFixed(1)} s)`;
    if (stderr.isTTY === true) {
      const width = 30;
      const filled = Math.round(fraction * width);
      stderr.write(
        `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${text}`,
      );
      if (p.tensorsRead === p.totalTensors) stderr.write("\n");
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile !== lastDecile) {
      lastDecile = decile;
      stderr.write(`${(fraction * 100).toFixed(0)}% ${text}\n`);
    }
  };
}

function number(
  value: string | undefined,
  flag: string,
  fallback: number,
  integer: boolean,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `${flag} expects ${integer ? "an integer" : "a number"}, got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

async function load(dir: string, io: CliIO): Promise<Pretrained> {
  await ready();
  return loadPretrained(dir, { onProgress: progressReporter(io.stderr) });
}

async function runGenerate(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prompt: { type: "string" },
      "max-new-tokens": { type: "string" },
      temperature: { type: "string" },
      seed: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("generate takes one model folder.");
  if (values.prompt === undefined) throw new UsageError('generate needs --prompt "<text>".');
  const options = {
    maxNewTokens: number(values["max-new-tokens"], "--max-new-tokens", 32, true),
    temperature: number(values.temperature, "--temperature", 0, false),
    seed: number(values.seed, "--seed", 0, true),
  };
  const { model, tokenizer } = await load(positionals[0]!, io);
  if (tokenizer === undefined) {
    throw new UsageError(
      `${positionals[0]} has no tokenizer.json, so the prompt cannot be tokenized.`,
    );
  }
  io.stdout.write(`${generate(model, tokenizer, values.prompt, options)}\n`);
  return 0;
}

async function runInspect(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { html: { type: "string" }, depth: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("inspect takes one model folder.");
  const depth = number(values.depth, "--depth", 3, true);
  const { model, tokenizer, config } = await load(positionals[0]!, io);
  const c = config.transformer;
  const parameters = countParameters(model);
  const lines = [
    `architecture: ${config.architecture}`,
    `stored as: ${Object.entries(config.storedDtypes)
      .map(([d, n]) => `${d} (${n} tensors)`)
      .join(", ")}`,
    `parameters: ${parameters.toLocaleString("en-US")} (${((parameters * 4) / 1e6).toFixed(1)} MB as float32)`,
    `blocks: ${c.numDecoderBlocks}, embedding: ${c.embeddingDim}, heads: ${c.numHeads} (kv ${c.numKvHeads ?? c.numHeads}) × ${c.projectionDim}, mlp: ${c.mlpHiddenDim}, vocabulary: ${c.vocabSize}`,
    `tokenizer: ${tokenizer === undefined ? "none" : `bos ${tokenizer.bosTokenId ?? "-"}, eos ${tokenizer.eosTokenId ?? "-"}`}`,
  ];
  io.stdout.write(`${lines.join("\n")}\n`);
  if (values.html !== undefined) {
    writeFileAtomic(values.html, renderToHTML(model, { expandDepth: depth }));
    io.stdout.write(`wrote ${values.html}\n`);
  }
  return 0;
}

function countParameters(model: Pretrained["model"]): number {
  let count = 0;
  for (const [, node] of flattenWithPath(model, isAnyParameter)[0]) {
    if (!isAnyParameter(node)) continue;
    const shape = (node.value as { namedShape: Record<string, number> }).namedShape;
    count += Object.values(shape).reduce((a, b) => a * b, 1);
  }
  return count;
}

/**
 * Runs the command line with `args` (without `node` and the script) and returns the exit code:
 * 0 on success, 1 when the model cannot be loaded or run, 2 for a usage mistake.
 *
 * @example
 * process.exitCode = await runCli(["generate", "gpt2", "--prompt", "Hello"], process);
 */
export async function runCli(args: readonly string[], io: CliIO): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === "generate") return await runGenerate(rest, io);
    if (command === "inspect") return await runInspect(rest, io);
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      io.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command ${JSON.stringify(command)}.`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      error instanceof UsageError ||
      (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))
    ) {
      io.stderr.write(`saikei: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof Error) {
      io.stderr.write(`saikei: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
