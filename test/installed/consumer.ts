/**
 * A project outside the workspace with every saikei package installed from its `npm pack` tarball,
 * as a user installs them: the tests in this folder and `npm run notebooks` run there with plain
 * `node`, tslab and `tsc`, never with the workspace's sources or conditions.
 *
 * The project lives in the OS temp folder under a name derived from the tarballs' contents, so a
 * second run with unchanged packages reuses it; npm's cache makes a fresh install take seconds.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type PackedPackage, packAll } from "../../scripts/pack.js";

export type { PackedPackage };

export const workspaceRoot = fileURLToPath(new URL("../../", import.meta.url));

/** What the consumer project installs from the registry besides the tarballs. */
export const registryDependencies = {
  "@tensorflow/tfjs-core": "^4.22.0",
  "@tensorflow/tfjs-backend-cpu": "^4.22.0",
  "@tensorflow/tfjs-backend-wasm": "^4.22.0",
  "@types/node": "^20.19.0",
  tslab: "1.0.22",
  // @saikei/onnx's optional peer, for its tests and README; installed with the .npmrc line below.
  "onnxruntime-node": "1.30.0",
};

/** The consumer's .npmrc: onnxruntime-node's install script would download GPU binaries. */
const npmrc = "onnxruntime-node-install=skip\n";

export interface Consumer {
  /** The project folder (its node_modules holds the installed packages). */
  dir: string;
  /** The packed tarballs, with their sizes. */
  packages: PackedPackage[];
  /** Seconds spent packing and installing (0 when a previous install was reused). */
  installSeconds: number;
}

/** Packs the workspace packages (they must be built) and installs them into a fresh project. */
export function prepareConsumer(): Consumer {
  const started = performance.now();
  // A fresh folder per run: two runs at once (a test run and `npm run notebooks`) never share one.
  const packages = packAll(mkdtempSync(join(tmpdir(), "saikei-pack-")));
  const hash = createHash("sha256");
  for (const { tarball } of packages) hash.update(readFileSync(tarball));
  hash.update(JSON.stringify(registryDependencies));
  hash.update(npmrc);
  const dir = join(tmpdir(), `saikei-consumer-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(join(dir, ".installed"))) return { dir, packages, installSeconds: 0 };

  // Installed in a folder of its own, then renamed into place: a reader never sees half a project.
  const building = mkdtempSync(`${dir}-building-`);
  mkdirSync(join(building, "tarballs"));
  const dependencies: Record<string, string> = { ...registryDependencies };
  for (const { name, tarball } of packages) {
    cpSync(tarball, join(building, "tarballs", basename(tarball)));
    dependencies[name] = `file:tarballs/${basename(tarball)}`;
  }
  writeFileSync(
    join(building, "package.json"),
    `${JSON.stringify({ name: "saikei-consumer", private: true, type: "module", dependencies }, null, 2)}\n`,
  );
  writeFileSync(join(building, ".npmrc"), npmrc);
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: building,
    stdio: ["ignore", "pipe", "pipe"],
  });
  writeFileSync(join(building, ".installed"), "");
  if (existsSync(join(dir, ".installed"))) {
    // Another run finished the same project meanwhile, and may be using it: keep it, drop ours.
    rmSync(building, { recursive: true, force: true });
  } else {
    rmSync(dir, { recursive: true, force: true }); // a leftover without its marker
    try {
      renameSync(building, dir);
    } catch (error) {
      if (!existsSync(join(dir, ".installed"))) throw error;
      rmSync(building, { recursive: true, force: true });
    }
  }
  removeStaleProjects(dir);
  return { dir, packages, installSeconds: (performance.now() - started) / 1000 };
}

/** Deletes consumer projects of earlier package versions not used for two hours (about 170 MB each). */
function removeStaleProjects(keep: string): void {
  const cutoff = Date.now() - 2 * 3600_000;
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (!/^saikei-(consumer|pack)-/.test(name) || path === keep) continue;
    try {
      if (statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another run meanwhile.
    }
  }
}
