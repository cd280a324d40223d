/**
 * Writing files and folders so that a crash never leaves a half-written one behind (Node only).
 * A file is written to a temporary file in the same folder, flushed to disk, renamed over the
 * target (an atomic replacement on POSIX file systems and NTFS), and the folder entry is flushed
 * too; a reader sees the old contents or the new ones, never a mixture or a truncated file.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { AtomicWriteError, InvalidFileNameError } from "./errors.js";

/** The contents of one file: bytes, or text written as UTF-8. */
export type FileContents = Uint8Array | string;

const asBytes = (data: FileContents): Uint8Array =>
  typeof data === "string" ? new TextEncoder().encode(data) : data;

/** A name next to `target` that no other writer picks: `.name.<pid>.<random>.<suffix>`. */
function siblingName(target: string, suffix: string): string {
  return join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.${suffix}`,
  );
}

/** Writes all of `bytes` to a new file (failing if it exists) and flushes it to disk. */
function writeNewFileDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "wx");
  try {
    let written = 0;
    while (written < bytes.byteLength) {
      written += writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Flushes a folder's entries (a rename is durable only once its folder is). Some platforms refuse
 * to open or fsync a folder (Windows: EISDIR or EPERM; some file systems: EINVAL); there the rename
 * is as durable as the platform makes it, and the error is ignored.
 */
function fsyncFolder(folder: string): void {
  let fd: number;
  try {
    fd = openSync(folder, "r");
  } catch (error) {
    if (isIgnorableFolderSyncError(error)) return;
    throw error;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    if (!isIgnorableFolderSyncError(error)) throw error;
  } finally {
    closeSync(fd);
  }
}

function isIgnorableFolderSyncError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "EISDIR" || code === "EPERM" || code === "EINVAL" || code === "EBADF";
}

function failure(what: string, path: string, error: unknown): AtomicWriteError {
  const code = (error as { code?: unknown }).code;
  const hint =
    code === "ENOENT"
      ? ` Create the folder ${dirname(path)} first (mkdirSync(folder, { recursive: true })).`
      : code === "EACCES" || code === "EPERM"
        ? ` Check that ${dirname(path)} is writable.`
        : code === "ENOSPC"
          ? " The disk is full; free some space."
          : code === "EISDIR"
            ? ` ${path} is a folder; pass a file path.`
            : "";
  return new AtomicWriteError(
    `${what} ${path} failed (${(error as Error).message}); the previous contents at that path are unchanged.${hint}`,
    { cause: error },
  );
}

/**
 * Replaces the file at `path` with `data` atomically: the data goes to a temporary file in the
 * same folder, is flushed to disk, and is renamed over `path`; then the folder is flushed. If the
 * process dies at any moment, `path` holds either its old contents or all of the new ones. (A
 * crash can leave a `.name.<pid>.<random>.tmp` file next to it, never a damaged `path`.)
 *
 * @param path the file to write; its folder must exist.
 * @param data bytes, or text written as UTF-8.
 * @throws AtomicWriteError when the file cannot be written; the temporary file is removed and
 *   `path` is unchanged.
 * @example
 * writeFileAtomic("model.safetensors", saveSafetensors(model));
 */
export function writeFileAtomic(path: string, data: FileContents): void {
  const target = resolve(path);
  const temporary = siblingName(target, "tmp");
  try {
    writeNewFileDurably(temporary, asBytes(data));
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw failure("Writing", target, error);
  }
  try {
    fsyncFolder(dirname(target));
  } catch (error) {
    throw failure("Flushing the folder of", target, error);
  }
}

function checkFileName(name: unknown, folder: string): asserts name is string {
  if (
    typeof name !== "string" ||
    name === "" ||
    name === "." ||
    name === ".." ||
    /[/\\\0]/.test(name)
  ) {
    throw new InvalidFileNameError(
      `writeFolderAtomic(${JSON.stringify(folder)}): ${JSON.stringify(name)} is not a file name; each key must ` +
        'name a file directly inside the folder (non-empty, no "/" or "\\", not "." or ".."), like "config.json".',
    );
  }
}

/**
 * Replaces the folder `path` with a folder holding exactly `files`, so that a reader never sees a
 * half-written folder: the files are written and flushed into a temporary sibling folder, which is
 * then renamed into place (the old folder, if any, is first renamed aside and removed once the new
 * one is in place). For a Hugging Face style model folder: `config.json`, `model.safetensors`, ...
 *
 * If the process dies between the two renames, `path` is briefly absent and the old folder is at
 * `.name.<pid>.<random>.old` next to it; every other moment leaves the old or the new folder at
 * `path`. Files of the old folder that are not in `files` are gone afterwards.
 *
 * @param path the folder to write; its parent must exist.
 * @param files file name → contents (a record or a Map; names are plain file names).
 * @throws InvalidFileNameError for a name that is empty or contains a path separator;
 *   AtomicWriteError when writing fails (the old folder is left as it was).
 * @example
 * writeFolderAtomic("my-model", { "config.json": JSON.stringify(config), "model.safetensors": bytes });
 */
export function writeFolderAtomic(
  path: string,
  files: ReadonlyMap<string, FileContents> | Readonly<Record<string, FileContents>>,
): void {
  const target = resolve(path);
  const entries: [string, FileContents][] =
    files instanceof Map ? [...files.entries()] : Object.entries(files);
  for (const [name] of entries) checkFileName(name, path);
  let replacing: boolean;
  try {
    replacing = lstatSync(target).isDirectory();
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw failure("Inspecting", target, error);
    replacing = false;
  }
  if (!replacing && lstatSync(target, { throwIfNoEntry: false }) !== undefined) {
    throw new AtomicWriteError(
      `writeFolderAtomic: ${target} exists and is not a folder; remove it or choose another path.`,
    );
  }
  const staging = siblingName(target, "tmp");
  try {
    mkdirSync(staging);
    for (const [name, data] of entries) writeNewFileDurably(join(staging, name), asBytes(data));
    fsyncFolder(staging);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw failure("Writing the folder", target, error);
  }
  if (!replacing) {
    try {
      renameSync(staging, target);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw failure("Writing the folder", target, error);
    }
  } else {
    const aside = siblingName(target, "old");
    try {
      renameSync(target, aside);
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw failure("Replacing the folder", target, error);
    }
    try {
      renameSync(staging, target);
    } catch (error) {
      renameSync(aside, target);
      rmSync(staging, { recursive: true, force: true });
      throw failure("Replacing the folder", target, error);
    }
    fsyncFolder(dirname(target));
    rmSync(aside, { recursive: true, force: true });
  }
  fsyncFolder(dirname(target));
}
