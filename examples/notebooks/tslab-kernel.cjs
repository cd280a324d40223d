// Runs a notebook's code cells through tslab's own kernel code, in this process, cell by cell.
//
// Started by runner.ts as `node tslab-kernel.cjs` with the project directory as the working
// directory and an IPC channel. It builds what `tslab kernel` builds (tslab's converter for
// Node, its executor rooted at the working directory, and its Jupyter request handler) and feeds
// the handler one execute request per code cell, as Jupyter does. Only the ZeroMQ transport is
// left out: the handler's stream and display callbacks, which tslab's server turns into iopub
// messages, are recorded instead and sent back to the parent.
//
// Messages from the parent: { type: "execute", code } and { type: "shutdown" }.
// Messages to the parent: { type: "ready", versions } after start-up; for each execute request
// { type: "reply", status, executionCount, outputs }, where outputs are that request's iopub
// messages in order ({ kind: "stream", name, text } or
// { kind: "display", data, metadata, displayId, update }); { type: "late", outputs } for output
// that reached the previous request after its reply; { type: "closed" } before exiting.
"use strict";

const { createRequire } = require("node:module");
const path = require("node:path");

const projectRequire = createRequire(path.join(process.cwd(), "package.json"));
const { createConverter } = projectRequire("tslab/dist/converter.js");
const { createExecutor } = projectRequire("tslab/dist/executor.js");
const { JupyterHandlerImpl } = projectRequire("tslab/dist/jupyter.js");
const { versions } = projectRequire("tslab");

// What tslab's main.js does in startKernel (its ConverterSetImpl is not exported).
class ConverterSet {
  get node() {
    if (!this._node) this._node = createConverter({ isJS: false, isBrowser: false });
    return this._node;
  }
  get browser() {
    if (!this._browser) this._browser = createConverter({ isJS: false, isBrowser: true });
    return this._browser;
  }
  close() {
    this._node?.close();
    this._browser?.close();
  }
}

const send = (message) =>
  new Promise((resolve, reject) => {
    process.send(message, (error) => (error ? reject(error) : resolve()));
  });

const convs = new ConverterSet();
convs.node; // startKernel warms the Node converter the same way.
const executor = createExecutor(process.cwd(), convs, {
  log: console.log,
  error: console.error,
});
const handler = new JupyterHandlerImpl(executor, false);

process.on("uncaughtException", (err) => {
  console.error("UncaughtException:", err);
});
process.on("unhandledRejection", (reason) => {
  console.error("UnhandledPromiseRejection:", reason);
});

// As in tslab's kernel, output that arrives after a request finished still belongs to that
// request (its stream callbacks stay installed until the next request): it is sent as "late".
let previous = null;
const flushLate = async () => {
  if (previous && previous.outputs.length > previous.sent) {
    const late = previous.outputs.slice(previous.sent);
    previous.sent = previous.outputs.length;
    await send({ type: "late", outputs: late });
  }
};

function callbacks(outputs) {
  return {
    writeStream(name, text) {
      outputs.push({ kind: "stream", name, text });
    },
    writeDisplayData(content, update) {
      outputs.push({
        kind: "display",
        data: content.data,
        metadata: content.metadata ?? {},
        displayId: content.transient?.display_id ?? null,
        update: Boolean(update),
      });
    },
  };
}

// Lets timers and promise callbacks that a cell left behind run (and print) before its reply;
// before shutting down, waits longer for what the last cell left behind.
const settle = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

process.on("message", async (message) => {
  await flushLate();
  if (message.type === "shutdown") {
    await settle(250);
    await flushLate();
    executor.close();
    await send({ type: "closed" });
    process.disconnect();
    return;
  }
  if (message.type !== "execute") return;
  const request = { outputs: [], sent: 0 };
  const { writeStream, writeDisplayData } = callbacks(request.outputs);
  const reply = await handler.handleExecute(
    { code: message.code, silent: false, store_history: true },
    writeStream,
    writeDisplayData,
  );
  await settle();
  request.sent = request.outputs.length;
  previous = request;
  await send({
    type: "reply",
    status: reply.status,
    executionCount: reply.execution_count ?? null,
    outputs: request.outputs.slice(0, request.sent),
  });
});

send({ type: "ready", versions });
