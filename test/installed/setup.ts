/** Packs and installs the packages once for every test of the `installed` project. */
import type { TestProject } from "vitest/node";
import { prepareConsumer } from "./consumer.js";

declare module "vitest" {
  export interface ProvidedContext {
    consumerDir: string;
    packed: { name: string; tarball: string; bytes: number; stage: string }[];
  }
}

export default function setup(project: TestProject): void {
  const consumer = prepareConsumer();
  console.log(
    `installed packages into ${consumer.dir}` +
      (consumer.installSeconds > 0 ? ` in ${consumer.installSeconds.toFixed(1)} s` : " (reused)"),
  );
  project.provide("consumerDir", consumer.dir);
  project.provide("packed", consumer.packages);
}
