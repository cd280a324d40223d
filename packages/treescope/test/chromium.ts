/**
 * Finds a Chromium and launches it through playwright-core with a fresh profile directory, for the
 * browser tests and the benchmark.
 *
 * Where the browser comes from, first match wins:
 * 1. the `CHROMIUM_PATH` environment variable;
 * 2. `@sparticuz/chromium` (a root devDependency that ships a Chromium inside its npm package for
 *    Linux x64, so `npm ci` is all a Linux machine needs);
 * 3. a Chrome or Chromium installed on the system (PATH and the usual install locations).
 *
 * Without any of them the launch fails with a {@link BrowserUnavailableError} that says how to get
 * one: the browser tests never skip themselves.
 */
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** Raised when no Chromium can be found or started; the message says how to provide one. */
export class BrowserUnavailableError extends Error {
  override name = "BrowserUnavailableError";
}

/** The flags every launch uses, whichever Chromium runs. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

const HOW_TO_GET_ONE =
  "The browser tests need Chromium. Run `npm ci` at the repository root (on Linux x64 the " +
  "@sparticuz/chromium devDependency ships one), or set CHROMIUM_PATH to a Chrome or Chromium " +
  "executable, e.g. CHROMIUM_PATH=/usr/bin/chromium npx vitest run --project treescope.";

const SYSTEM_NAMES = [
  "chromium",
  "chromium-browser",
  "google-chrome",
  "google-chrome-stable",
  "chrome",
];
const SYSTEM_LOCATIONS = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
  "/snap/bin/chromium",
  "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  "/Applications/Chromium.app/Contents/MacOS/Chromium",
  "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
  "C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe",
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, process.platform === "win32" ? constants.F_OK : constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function systemChromium(): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter((d) => d !== "");
  for (const dir of dirs) {
    for (const name of SYSTEM_NAMES) {
      for (const file of process.platform === "win32" ? [`${name}.exe`] : [name]) {
        const path = join(dir, file);
        if (isExecutable(path)) return path;
      }
    }
  }
  return SYSTEM_LOCATIONS.find(isExecutable);
}

/** The Chromium that {@link launchChromium} starts and where it was found. */
export interface ChromiumExecutable {
  readonly path: string;
  readonly source: "CHROMIUM_PATH" | "@sparticuz/chromium" | "system";
}

let found: Promise<ChromiumExecutable> | undefined;

/**
 * Finds the Chromium executable (see the module comment for the order).
 *
 * @throws BrowserUnavailableError when none is found, saying how to get one.
 */
export function findChromium(): Promise<ChromiumExecutable> {
  found ??= (async (): Promise<ChromiumExecutable> => {
    const fromEnv = process.env.CHROMIUM_PATH;
    if (fromEnv !== undefined && fromEnv !== "") {
      if (!isExecutable(fromEnv)) {
        throw new BrowserUnavailableError(
          `CHROMIUM_PATH=${fromEnv} is not an executable file. Point it at a Chrome or Chromium ` +
            "binary, or unset it to use the @sparticuz/chromium devDependency or a system Chrome.",
        );
      }
      return { path: fromEnv, source: "CHROMIUM_PATH" };
    }
    const problems: string[] = [];
    if (process.platform === "linux" && process.arch === "x64") {
      try {
        const { default: sparticuz } = await import("@sparticuz/chromium");
        return { path: await sparticuz.executablePath(), source: "@sparticuz/chromium" };
      } catch (error) {
        problems.push(`@sparticuz/chromium: ${(error as Error).message}`);
      }
    } else {
      problems.push(
        `@sparticuz/chromium: ships Linux x64 only, this is ${process.platform} ${process.arch}`,
      );
    }
    const system = systemChromium();
    if (system !== undefined) return { path: system, source: "system" };
    problems.push("no chromium, chromium-browser or google-chrome on PATH or in the usual places");
    throw new BrowserUnavailableError(
      `No Chromium found (${problems.join("; ")}). ${HOW_TO_GET_ONE}`,
    );
  })();
  found.catch(() => {
    found = undefined;
  });
  return found;
}

/**
 * A browser context on a fresh profile; `close()` also removes the profile directory.
 *
 * @throws BrowserUnavailableError when no Chromium is found or it does not start.
 */
export async function launchChromium(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  const executable = await findChromium();
  const profile = mkdtempSync(join(tmpdir(), "skts-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable.path,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 900 },
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw new BrowserUnavailableError(
      `Chromium at ${executable.path} (from ${executable.source}) did not start: ` +
        `${(error as Error).message.split("\n")[0]}. ${HOW_TO_GET_ONE}`,
    );
  }
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
