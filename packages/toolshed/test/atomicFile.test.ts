import { spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nx, ready } from "@saikei/named";
import { Linear } from "@saikei/nn";
import * as tf from "@tensorflow/tfjs-core";
import ts from "typescript";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  parseSafetensors,
  readSafetensorsHeader,
  SafetensorsCyclicTreeError,
  SafetensorsInvalidMetadataError,
  serializeSafetensors,
} from "../src/index.js";
import {
  AtomicWriteError,
  InvalidFileNameError,
  loadParametersFile,
  loadSafetensorsFile,
  parseSafetensorsFile,
  saveParametersFile,
  saveSafetensorsFile,
  writeFileAtomic,
  writeFolderAtomic,
} from "../src/node.js";

let dir = "";
let baseline = 0;
beforeAll(async () => {
  await ready();
  dir = mkdtempSync(join(tmpdir(), "saikei-atomic-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  baseline = tf.memory().numTensors;
});
afterEach(() => {
  expect(tf.memory().numTensors).toBe(baseline);
});

const leftovers = (folder: string) => readdirSync(folder).filter((n) => n.startsWith("."));

describe("browser safety", () => {
  it("the main entry imports no node: module; only the ./node entry does", () => {
    const src = fileURLToPath(new URL("../src/", import.meta.url));
    const nodeOnly = ["atomicFile.ts", "node.ts"];
    for (const name of readdirSync(src).filter((n) => n.endsWith(".ts"))) {
      const code = readFileSync(join(src, name), "utf8");
      const importsNode = /from\s+"node:|import\("node:/.test(code);
      expect(importsNode, name).toBe(nodeOnly.includes(name));
      if (!nodeOnly.includes(name)) expect(code, name).not.toMatch(/"\.\/(atomicFile|node)\.js"/);
    }
  });
});

describe("writeFileAtomic", () => {
  it("creates and replaces a file and leaves no temporary file", () => {
    const path = join(dir, "plain.bin");
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    writeFileAtomic(path, "text");
    expect(readFileSync(path, "utf8")).toBe("text");
    expect(leftovers(dir)).toEqual([]);
  });

  it("a missing folder raises AtomicWriteError that says how to fix it", () => {
    const path = join(dir, "no-such-folder", "x.bin");
    expect(() => writeFileAtomic(path, "x")).toThrow(AtomicWriteError);
    expect(() => writeFileAtomic(path, "x")).toThrow(/unchanged\. Create the folder/);
  });

  it("a path that is a folder raises AtomicWriteError, leaving the folder and no temporary file", () => {
    const path = join(dir, "a-folder");
    mkdirSync(path);
    writeFileSync(join(path, "inside"), "kept");
    expect(() => writeFileAtomic(path, "x")).toThrow(AtomicWriteError);
    expect(readFileSync(join(path, "inside"), "utf8")).toBe("kept");
    expect(leftovers(dir)).toEqual([]);
  });
});

describe("checkpoint files", () => {
  it("saveSafetensorsFile / loadSafetensorsFile round-trip a tree with axis names", () => {
    const path = join(dir, "tree.safetensors");
    const w = nx.wrap(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), "in", "out");
    saveSafetensorsFile(path, { w }, { metadata: { step: "3" } });
    const template = { w: nx.zeros({ out: 3, in: 2 }) };
    const loaded = loadSafetensorsFile(path, template);
    expect(loaded.w.namedShape).toEqual({ out: 3, in: 2 });
    const t = loaded.w.unwrap("in", "out");
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    const raw = parseSafetensorsFile(path);
    expect(Object.keys(raw)).toEqual(["['w']"]);
    tf.dispose([w.dataArray, template.w.dataArray, loaded.w.dataArray, t, ...Object.values(raw)]);
  });

  it("a tree that cannot be saved leaves the previous file untouched", () => {
    const path = join(dir, "kept.safetensors");
    const w = tf.tensor([1, 2]);
    saveSafetensorsFile(path, { w });
    const before = readFileSync(path);
    const cyclic: Record<string, unknown> = { w };
    cyclic.self = cyclic;
    expect(() => saveSafetensorsFile(path, cyclic)).toThrow(SafetensorsCyclicTreeError);
    expect(() =>
      saveSafetensorsFile(
        path,
        { w },
        { metadata: { step: 300 } as unknown as Record<string, string> },
      ),
    ).toThrow(SafetensorsInvalidMetadataError);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(leftovers(dir)).toEqual([]);
    w.dispose();
  });

  it("saveParametersFile / loadParametersFile round-trip by parameter name", async () => {
    const { initializeParameters } = await import("@saikei/nn");
    const { random } = await import("@saikei/named");
    const build = () => Linear.fromConfig({ features: 2 }, { out: 3 }) as Linear;
    const trained = initializeParameters(build(), random.key(0));
    const path = join(dir, "params.safetensors");
    saveParametersFile(path, trained);
    const loaded = loadParametersFile(path, build());
    const [a, b] = [trained, loaded].map((m) =>
      (m.weights.value as ReturnType<typeof nx.zeros>).unwrap("features", "out"),
    );
    expect(Array.from(b!.dataSync())).toEqual(Array.from(a!.dataSync()));
    tf.dispose([a!, b!]);
    tf.dispose(
      [trained, loaded].map((m) => (m.weights.value as ReturnType<typeof nx.zeros>).dataArray),
    );
  });
});

describe("writeFolderAtomic", () => {
  it("writes a new folder, then replaces it as a whole", () => {
    const folder = join(dir, "model");
    writeFolderAtomic(folder, { "config.json": '{"a":1}', "old.txt": "old" });
    expect(readdirSync(folder).sort()).toEqual(["config.json", "old.txt"]);
    const w = tf.tensor([1]);
    writeFolderAtomic(
      folder,
      new Map<string, string | Uint8Array>([
        ["config.json", '{"a":2}'],
        ["model.safetensors", serializeSafetensors({ w })],
      ]),
    );
    expect(readdirSync(folder).sort()).toEqual(["config.json", "model.safetensors"]);
    expect(readFileSync(join(folder, "config.json"), "utf8")).toBe('{"a":2}');
    const tensors = parseSafetensorsFile(join(folder, "model.safetensors"));
    expect(Array.from(tensors.w!.dataSync())).toEqual([1]);
    expect(leftovers(dir)).toEqual([]);
    tf.dispose([w, ...Object.values(tensors)]);
  });

  it("rejects file names that leave the folder, writing nothing", () => {
    const folder = join(dir, "bad");
    for (const name of ["", ".", "..", "a/b", "..\\x"]) {
      expect(() => writeFolderAtomic(folder, { [name]: "x" }), name).toThrow(InvalidFileNameError);
    }
    expect(existsSync(folder)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  it("a file in the way raises AtomicWriteError", () => {
    const path = join(dir, "a-file");
    writeFileSync(path, "x");
    expect(() => writeFolderAtomic(path, { "config.json": "{}" })).toThrow(/is not a folder/);
    expect(readFileSync(path, "utf8")).toBe("x");
  });
});

describe("a process killed while saving never leaves a broken checkpoint", () => {
  let child = "";
  const MB = 1 << 20;
  let fileA = "";
  let fileB = "";
  let bytesA: Buffer;
  let bytesB: Buffer;

  beforeAll(() => {
    // The writer runs the helper's sources, transpiled by TypeScript once here: starting a child
    // through a TypeScript loader costs about a second on a busy machine, 24 times over.
    const compiled = join(dir, "writer");
    mkdirSync(compiled);
    for (const [from, to] of [
      ["../src/errors.ts", "errors.mjs"],
      ["../src/atomicFile.ts", "atomicFile.mjs"],
      ["./fixtures/atomicWriter.ts", "atomicWriter.mjs"],
    ] as const) {
      const source = readFileSync(fileURLToPath(new URL(from, import.meta.url)), "utf8");
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      });
      writeFileSync(
        join(compiled, to),
        outputText
          .replace("../../src/atomicFile.js", "./atomicFile.mjs")
          .replace('"./errors.js"', '"./errors.mjs"'),
      );
    }
    child = join(compiled, "atomicWriter.mjs");
    // Two real checkpoints of 4 MB each, with different contents.
    const a = tf.fill([MB], 1);
    const b = tf.fill([MB], 2);
    fileA = join(dir, "A.safetensors");
    fileB = join(dir, "B.safetensors");
    writeFileSync(fileA, serializeSafetensors({ w: a }, { version: "A" }));
    writeFileSync(fileB, serializeSafetensors({ w: b }, { version: "B" }));
    tf.dispose([a, b]);
    bytesA = readFileSync(fileA);
    bytesB = readFileSync(fileB);
  });

  /** Runs the writer until it is ready, lets it write for `delayMs`, and SIGKILLs it. */
  function killWhileSaving(target: string, delayMs: number, mode = "atomic"): Promise<number> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [child, target, fileA, fileB, mode], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      let timer: NodeJS.Timeout | undefined;
      proc.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (timer === undefined && out.includes("ready\n")) {
          timer = setTimeout(() => proc.kill("SIGKILL"), delayMs);
        }
      });
      proc.stderr.on("data", (chunk: Buffer) => {
        err += chunk.toString();
      });
      proc.on("error", reject);
      proc.on("close", (_code, signal) => {
        if (signal !== "SIGKILL") reject(new Error(`the writer stopped by itself: ${err}`));
        else resolve((out.match(/\./g) ?? []).length);
      });
    });
  }

  it("24 trials: the file at the path always parses and equals the old or the new checkpoint", async () => {
    const folder = join(dir, "kills");
    mkdirSync(folder);
    let completedWrites = 0;
    /** One trial: a checkpoint at `path` holds A; a writer saving B and A in turn is killed. */
    const trial = async (index: number) => {
      const path = join(folder, `killed${index % 2}.safetensors`);
      if (!existsSync(path)) writeFileSync(path, bytesA);
      completedWrites += await killWhileSaving(path, Math.random() * 150);
      const bytes = readFileSync(path);
      const isA = bytes.equals(bytesA);
      const isB = bytes.equals(bytesB);
      expect(
        isA || isB,
        `trial ${index}: the file is neither checkpoint (${bytes.length} bytes)`,
      ).toBe(true);
      const header = readSafetensorsHeader(new Uint8Array(bytes));
      expect(header.metadata.version).toBe(isA ? "A" : "B");
      const tensors = parseSafetensors(new Uint8Array(bytes));
      expect(tensors.w!.shape).toEqual([MB]);
      expect(tensors.w!.dataSync()[MB - 1]).toBe(isA ? 1 : 2);
      tf.dispose(Object.values(tensors));
    };
    // Two writers at a time (one per target file), 24 kills in all.
    for (let round = 0; round < 12; round++)
      await Promise.all([trial(2 * round), trial(2 * round + 1)]);
    // Killed writers may leave temporary files next to the target; never a damaged target.
    for (const name of readdirSync(folder)) {
      expect(name, name).toMatch(
        /^(killed[01]\.safetensors|\.killed[01]\.safetensors\.\d+\.[0-9a-f]+\.tmp)$/,
      );
    }
    // The writers replaced the file many times between kills, so kills landed mid-sequence.
    expect(completedWrites).toBeGreaterThan(24);
  }, 60_000);
});
