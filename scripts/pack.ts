/**
 * Packs every workspace package as it is published: `npx tsx scripts/pack.ts [DEST]` writes one
 * tarball per package into DEST (default `.pack/`) and prints their paths and sizes as JSON.
 *
 * Each package is staged in a temporary folder first: its `files`, its README, the root LICENSE and
 * NOTICE, and a package.json without what only this repository uses (the `@saikei/source`
 * development condition, scripts, devDependencies). `npm pack` then packs the staged folder, so the
 * tarball is exactly what `npm publish` of that folder would upload. Publishing goes through the
 * same staging (`npm publish .pack/stage/<name>`).
 *
 * Requires a build (`npm run build`).
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const DEVELOPMENT_CONDITION = "@saikei/source";

/** A package.json, as parsed JSON. */
type Manifest = Record<string, any>;

/** The package.json that is published: the development condition and repository-only fields removed. */
export function publishedManifest(manifest: Manifest): Manifest {
  const published = structuredClone(manifest);
  delete published.scripts;
  delete published.devDependencies;
  const strip = (value: unknown): unknown => {
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== DEVELOPMENT_CONDITION)
        .map(([key, inner]) => [key, strip(inner)]),
    );
  };
  if (published.exports !== undefined) published.exports = strip(published.exports);
  if (published.imports !== undefined) published.imports = strip(published.imports);
  return published;
}

/** Stages one package folder for publishing and returns the staged folder. */
export function stagePackage(packageDir: string, stageRoot: string): string {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as Manifest;
  const stage = join(stageRoot, manifest.name.replace("/", "__"));
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const entry of (manifest.files ?? []) as string[]) {
    if (entry.startsWith("!")) continue;
    const from = join(packageDir, entry);
    if (!existsSync(from))
      throw new Error(
        `${manifest.name}: "files" lists ${entry}, which does not exist. Run npm run build first.`,
      );
    cpSync(from, join(stage, entry), {
      recursive: true,
      filter: (path) => !path.endsWith(".tsbuildinfo"),
    });
  }
  const readme = join(packageDir, "README.md");
  if (!existsSync(readme))
    throw new Error(`${manifest.name} has no README.md; every published package needs one.`);
  cpSync(readme, join(stage, "README.md"));
  cpSync(join(root, "LICENSE"), join(stage, "LICENSE"));
  cpSync(join(root, "NOTICE"), join(stage, "NOTICE"));
  writeFileSync(
    join(stage, "package.json"),
    `${JSON.stringify(publishedManifest(manifest), null, 2)}\n`,
  );
  return stage;
}

/** The workspace packages in dependency order (dependencies first). */
export function workspacePackages(): { dir: string; name: string }[] {
  const dirs = readdirSync(join(root, "packages"))
    .map((name) => join(root, "packages", name))
    .filter((dir) => existsSync(join(dir, "package.json")));
  const manifests = new Map<string, Manifest>(
    dirs.map((dir) => [
      dir,
      JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest,
    ]),
  );
  const byName = new Map<string, string>([...manifests].map(([dir, m]) => [m.name as string, dir]));
  const ordered: string[] = [];
  const visit = (dir: string): void => {
    if (ordered.includes(dir)) return;
    for (const dep of Object.keys(manifests.get(dir)!.dependencies ?? {})) {
      if (byName.has(dep)) visit(byName.get(dep)!);
    }
    ordered.push(dir);
  };
  for (const dir of dirs) visit(dir);
  return ordered.map((dir) => ({ dir, name: manifests.get(dir)!.name as string }));
}

/** Stages and packs every package into `dest`; returns `[{ name, tarball, bytes, stage }]`. */
export interface PackedPackage {
  name: string;
  tarball: string;
  bytes: number;
  stage: string;
}

export function packAll(dest = join(root, ".pack")): PackedPackage[] {
  const stageRoot = join(dest, "stage");
  mkdirSync(stageRoot, { recursive: true });
  return workspacePackages().map(({ dir, name }) => {
    const stage = stagePackage(dir, stageRoot);
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], {
      cwd: stage,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    const [{ filename }] = JSON.parse(out) as { filename: string }[];
    const tarball = join(dest, filename);
    return { name, tarball, bytes: statSync(tarball).size, stage };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dest = resolve(process.argv[2] ?? join(root, ".pack"));
  for (const { name, tarball, bytes } of packAll(dest)) {
    console.log(JSON.stringify({ name, tarball, kB: Math.round(bytes / 102.4) / 10 }));
  }
}
