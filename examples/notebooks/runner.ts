/**
 * Runs the notebooks the way a Jupyter user runs them: through tslab's own kernel code (its
 * TypeScript converter, its executor and its request handler), one execute request per code cell,
 * in a project where the saikei packages are installed. Module resolution, the TypeScript
 * conversion and the type checks are tslab's; the cells' stdout, stderr and display data are
 * recorded as Jupyter would record them, and can be stored in the notebook as nbformat outputs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The tslab release the notebooks are run with. */
export const TSLAB_VERSION = "1.0.22";

/** A notebook cell as stored in the .ipynb file (nbformat 4). */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  outputs?: NotebookOutput[];
  [key: string]: unknown;
}

/** A notebook (nbformat 4). */
export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

/** An nbformat 4 output: a stream, or display data. */
export type NotebookOutput =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string[] }
  | {
      output_type: "display_data";
      data: Record<string, string[]>;
      metadata: Record<string, unknown>;
    };

/** What happened to one code cell. */
export interface CellRun {
  /** Index among the notebook's code cells, from 0. */
  codeIndex: number;
  /** Index among all the notebook's cells, from 0. */
  cellIndex: number;
  source: string;
  /** The execute reply's status ("ok", "error", or "abort"). */
  status: string;
  executionCount: number | null;
  outputs: NotebookOutput[];
  /** Everything the cell wrote to stdout, and to stderr. */
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** The failure that stopped a notebook: which cell, and why. */
export interface NotebookFailure {
  codeIndex: number;
  cellIndex: number;
  source: string;
  reason: string;
}

/** The result of running a notebook's code cells in order. */
export interface NotebookRun {
  notebook: string;
  /** The cells that ran, in order; running stops after the first failed cell. */
  cells: CellRun[];
  ok: boolean;
  failure: NotebookFailure | undefined;
  /** What the kernel process wrote outside any cell (start-up, crashes). */
  kernelOutput: string;
  /** The versions tslab reports (tslab, its TypeScript, Node). */
  versions: Record<string, string> | undefined;
  durationMs: number;
}

/** Options for {@link runNotebook}. */
export interface RunOptions {
  /** The project whose node_modules holds the installed packages and tslab. */
  projectDir: string;
  /** Kills the kernel and fails the run after this long. Default 240 000 ms. */
  timeoutMs?: number;
}

const kernelScript = fileURLToPath(new URL("./tslab-kernel.cjs", import.meta.url));

/** The notebook file, parsed. */
export function readNotebook(notebookPath: string): Notebook {
  return JSON.parse(readFileSync(notebookPath, "utf8")) as Notebook;
}

/** A cell's source as one string. */
export function cellSource(cell: Pick<NotebookCell, "source">): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The code cells of a notebook, as source strings. */
export function codeCells(notebookPath: string): string[] {
  return readNotebook(notebookPath)
    .cells.filter((c) => c.cell_type === "code")
    .map(cellSource);
}

/** Splits text the way Jupyter stores it: lines that keep their "\n". */
export function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * Installs tslab into `projectDir` (without recording it in its package.json) unless that
 * version is already there. tslab is not a dependency of the workspace: it brings its own
 * TypeScript, which claims the `tsc` command.
 *
 * @param projectDir a directory with a package.json.
 */
export async function ensureTslab(projectDir: string): Promise<void> {
  const manifest = join(projectDir, "node_modules", "tslab", "package.json");
  if (existsSync(manifest)) {
    const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
    if (version === TSLAB_VERSION) return;
  }
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const child = spawn(
    npm,
    ["install", "--no-save", "--no-audit", "--no-fund", `tslab@${TSLAB_VERSION}`],
    { cwd: projectDir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0 || !existsSync(manifest)) {
    throw new Error(`npm install tslab@${TSLAB_VERSION} failed in ${projectDir}:\n${log}`);
  }
}

type KernelOutput =
  | { kind: "stream"; name: "stdout" | "stderr"; text: string }
  | {
      kind: "display";
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
      displayId: string | null;
      update: boolean;
    };

type KernelMessage =
  | { type: "ready"; versions: Record<string, string> }
  | { type: "reply"; status: string; executionCount: number | null; outputs: KernelOutput[] }
  | { type: "late"; outputs: KernelOutput[] }
  | { type: "closed" };

/** Turns the kernel's iopub messages for one cell into nbformat outputs, as Jupyter does. */
export function toNotebookOutputs(messages: readonly KernelOutput[]): NotebookOutput[] {
  const outputs: NotebookOutput[] = [];
  const displays = new Map<string, Extract<NotebookOutput, { output_type: "display_data" }>>();
  for (const message of messages) {
    if (message.kind === "stream") {
      const last = outputs.at(-1);
      if (last?.output_type === "stream" && last.name === message.name) {
        last.text = lines(last.text.join("") + message.text);
      } else {
        outputs.push({ output_type: "stream", name: message.name, text: lines(message.text) });
      }
      continue;
    }
    const data: Record<string, string[]> = {};
    for (const mime of Object.keys(message.data).sort()) {
      const value = message.data[mime];
      data[mime] = lines(typeof value === "string" ? value : JSON.stringify(value));
    }
    const shown = message.displayId === null ? undefined : displays.get(message.displayId);
    if (message.update) {
      if (shown !== undefined) shown.data = data;
      continue;
    }
    const output = { output_type: "display_data" as const, data, metadata: message.metadata };
    outputs.push(output);
    if (message.displayId !== null) displays.set(message.displayId, output);
  }
  return outputs;
}

function streamText(outputs: readonly KernelOutput[], name: "stdout" | "stderr"): string {
  return outputs
    .filter((o): o is Extract<KernelOutput, { kind: "stream" }> => o.kind === "stream")
    .filter((o) => o.name === name)
    .map((o) => o.text)
    .join("");
}

/** Why a cell counts as failed, or undefined when it ran cleanly. */
function failureReason(status: string, stderr: string): string | undefined {
  if (status !== "ok") {
    return `the kernel replied "${status}"${stderr === "" ? "" : `, printing:\n${stderr}`}`;
  }
  if (stderr !== "") return `the cell printed to stderr:\n${stderr}`;
  return undefined;
}

/**
 * Runs every code cell of a notebook, in order, through tslab's kernel code in a fresh Node
 * process whose working directory is `projectDir` (so `import ... from "saikei"` resolves to the
 * installed package, as for a user who opens the notebook there). Stops after the first cell that
 * fails: a non-"ok" reply (a type error, a thrown error, a rejected top-level await) or anything
 * printed to stderr (tslab prints errors there, including unhandled rejections and uncaught
 * exceptions, even after the cell's code returned).
 *
 * @param notebookPath the .ipynb file.
 * @param options the project directory (tslab must be installed there: {@link ensureTslab}).
 * @returns the cells that ran, their outputs, and the failure if any.
 */
export async function runNotebook(notebookPath: string, options: RunOptions): Promise<NotebookRun> {
  const started = performance.now();
  const notebook = readNotebook(notebookPath);
  const code = notebook.cells
    .map((cell, cellIndex) => ({ cell, cellIndex }))
    .filter(({ cell }) => cell.cell_type === "code");
  const kernel = spawn(process.execPath, [kernelScript], {
    cwd: options.projectDir,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let kernelOutput = "";
  kernel.stdout?.on("data", (d: Buffer) => {
    kernelOutput += d.toString();
  });
  kernel.stderr?.on("data", (d: Buffer) => {
    kernelOutput += d.toString();
  });
  const channel = new KernelChannel(kernel);
  const cells: CellRun[] = [];
  let failure: NotebookFailure | undefined;
  let versions: Record<string, string> | undefined;
  const timeoutMs = options.timeoutMs ?? 240_000;
  const timer = setTimeout(() => channel.fail(`timed out after ${timeoutMs} ms`), timeoutMs);
  const fail = (index: number, reason: string) => {
    const entry = code[index]!;
    failure = {
      codeIndex: index,
      cellIndex: entry.cellIndex,
      source: cellSource(entry.cell),
      reason,
    };
  };
  // The kernel's messages for each cell that ran: output can reach a cell after its reply.
  const raw: KernelOutput[][] = [];
  const absorbLate = (late: readonly KernelOutput[]) => {
    const last = cells.at(-1);
    if (last === undefined) return;
    const messages = raw[raw.length - 1]!;
    messages.push(...late);
    last.outputs = toNotebookOutputs(messages);
    last.stdout = streamText(messages, "stdout");
    const stderr = streamText(late, "stderr");
    last.stderr += stderr;
    if (stderr !== "" && failure === undefined) {
      fail(last.codeIndex, `the cell printed to stderr after it finished:\n${stderr}`);
    }
  };
  let current = -1;
  try {
    const ready = await channel.next();
    if (ready.type !== "ready") throw new Error(`expected "ready", got "${ready.type}"`);
    versions = ready.versions;
    for (current = 0; current < code.length; current++) {
      const { cell, cellIndex } = code[current]!;
      const source = cellSource(cell);
      const cellStarted = performance.now();
      channel.send({ type: "execute", code: source });
      let reply = await channel.next();
      while (reply.type === "late") {
        absorbLate(reply.outputs);
        reply = await channel.next();
      }
      if (reply.type !== "reply") throw new Error(`expected "reply", got "${reply.type}"`);
      raw.push([...reply.outputs]);
      const run: CellRun = {
        codeIndex: current,
        cellIndex,
        source,
        status: reply.status,
        executionCount: reply.executionCount,
        outputs: toNotebookOutputs(reply.outputs),
        stdout: streamText(reply.outputs, "stdout"),
        stderr: streamText(reply.outputs, "stderr"),
        durationMs: Math.round(performance.now() - cellStarted),
      };
      cells.push(run);
      if (failure !== undefined) break; // the previous cell failed after its reply
      const reason = failureReason(run.status, run.stderr);
      if (reason !== undefined) {
        fail(current, reason);
        break;
      }
    }
    if (failure === undefined) {
      channel.send({ type: "shutdown" });
      for (let message = await channel.next(); message.type === "late"; ) {
        absorbLate(message.outputs);
        message = await channel.next();
      }
    }
  } catch (error) {
    const reason = `${(error as Error).message}\n--- kernel output ---\n${kernelOutput}`;
    if (current >= 0 && current < code.length) fail(current, reason);
    else failure = { codeIndex: -1, cellIndex: -1, source: "", reason };
  } finally {
    clearTimeout(timer);
    await channel.close();
  }
  return {
    notebook: basename(notebookPath),
    cells,
    ok: failure === undefined && cells.length === code.length,
    failure,
    kernelOutput,
    versions,
    durationMs: Math.round(performance.now() - started),
  };
}

/** The IPC channel to the kernel process: messages in order, and its exit as an error. */
class KernelChannel {
  private readonly queue: KernelMessage[] = [];
  private waiting: { resolve(m: KernelMessage): void; reject(e: Error): void } | undefined;
  private error: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.on("message", (message: KernelMessage) => {
      if (this.waiting !== undefined) {
        const { resolve } = this.waiting;
        this.waiting = undefined;
        resolve(message);
      } else {
        this.queue.push(message);
      }
    });
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.fail(`the kernel process exited (code ${code}, signal ${signal})`);
        resolve();
      });
      child.on("error", (error) => {
        this.fail(`the kernel process failed: ${error.message}`);
        resolve();
      });
    });
  }

  fail(reason: string): void {
    this.error ??= new Error(reason);
    if (this.waiting !== undefined) {
      const { reject } = this.waiting;
      this.waiting = undefined;
      reject(this.error);
    }
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  next(): Promise<KernelMessage> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.error !== undefined) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  send(message: { type: "execute"; code: string } | { type: "shutdown" }): void {
    this.child.send(message);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.error ??= new Error("closed");
      this.child.kill("SIGKILL");
    }
    await this.exited;
  }
}

/**
 * The notebook with the outputs of a run stored in its code cells (cells that did not run get
 * no outputs and no execution count).
 */
export function withOutputs(notebook: Notebook, run: NotebookRun): Notebook {
  const byCell = new Map(run.cells.map((cell) => [cell.cellIndex, cell]));
  return {
    ...notebook,
    cells: notebook.cells.map((cell, index) => {
      if (cell.cell_type !== "code") return cell;
      const ran = byCell.get(index);
      return {
        ...cell,
        execution_count: ran?.executionCount ?? null,
        outputs: ran?.outputs ?? [],
      };
    }),
  };
}

/** A notebook as Jupyter writes it: one-space indentation, keys in order, a final newline. */
export function serializeNotebook(notebook: Notebook): string {
  return `${JSON.stringify(sortKeys(notebook), null, 1)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
  }
  return value;
}

/** The element ids treescope gives each rendering (random, so that two views never collide). */
const treescopeId = /skts-[0-9a-f]{16}/g;

/**
 * The notebook with every treescope element id in its outputs replaced by one derived from the
 * notebook's name and the order in which the ids first appear, so that running a notebook twice
 * stores the same file. Distinct ids stay distinct; ids stay unique across notebooks.
 *
 * @param notebook a notebook with outputs.
 * @param name the notebook's file name (salts the ids).
 */
export function stableIds(notebook: Notebook, name: string): Notebook {
  const renamed = new Map<string, string>();
  const rename = (id: string) => {
    let stable = renamed.get(id);
    if (stable === undefined) {
      const digest = createHash("sha256").update(`${name}#${renamed.size}`).digest("hex");
      stable = `skts-${digest.slice(0, 16)}`;
      renamed.set(id, stable);
    }
    return stable;
  };
  return {
    ...notebook,
    cells: notebook.cells.map((cell) =>
      cell.outputs === undefined
        ? cell
        : {
            ...cell,
            outputs: JSON.parse(JSON.stringify(cell.outputs).replace(treescopeId, rename)),
          },
    ),
  };
}

/** The HTML outputs of a notebook's code cells: code cell index and the HTML. */
export function htmlOutputs(notebook: Notebook): { codeIndex: number; html: string }[] {
  return notebook.cells
    .filter((cell) => cell.cell_type === "code")
    .flatMap((cell, codeIndex) =>
      (cell.outputs ?? []).flatMap((output) =>
        output.output_type === "display_data" && output.data["text/html"] !== undefined
          ? [{ codeIndex, html: output.data["text/html"].join("") }]
          : [],
      ),
    );
}
