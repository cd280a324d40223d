/**
 * Turns the TypeScript examples of a markdown guide into one runnable module, so that the test in
 * `examples/test/docs.test.ts` runs every example of `README.md` and `docs/*.md` as written.
 *
 * The rules (also in docs/contributing.md, "Examples in docs run"):
 *
 * - Every fenced block whose info string starts with `ts` or `typescript` is an example.
 * - The examples of one file run in order as one module: each block is a nested `{ ... }` scope
 *   inside the previous one, so a block sees what earlier blocks declared, and may declare a name
 *   again (the new declaration shadows the old one). Imports are hoisted to the top of the module
 *   and merged; the same name imported twice from the same module is fine, from two modules is an
 *   error.
 * - `expression; // → value` asserts that the expression equals `value` (a TypeScript expression
 *   evaluated in the same scope; prose may follow after ` — `). The comment may also stand alone on
 *   the line after the statement.
 * - `statement; // throws ErrorName` asserts that the statement throws an error of that class.
 * - ```` ```ts throws=ErrorName ```` marks a whole block that must throw that error; what the block
 *   declares is not visible to later blocks.
 * - ```` ```ts norun: reason ```` marks a fragment that is not run. The reason is required.
 */
import ts from "typescript";

/** A fenced code block of a markdown file. */
export interface FencedBlock {
  /** The info string after the opening fence, trimmed (`ts throws=ShapeError`). */
  info: string;
  /** The block's content, without the fences. */
  code: string;
  /** The 1-based line of the opening fence. */
  fenceLine: number;
  /** The 1-based line of the first content line. */
  firstLine: number;
}

/**
 * The fenced code blocks of a markdown document, in order (CommonMark fences: three or more
 * backticks or tildes indented by at most three spaces, closed by a fence of the same character at
 * least as long; an unclosed fence runs to the end of the document).
 *
 * @example
 * fencedBlocks("text\n```ts\nconst x = 1;\n```\n"); // → [{ info: "ts", code: "const x = 1;\n", fenceLine: 2, firstLine: 3 }]
 */
export function fencedBlocks(markdown: string): FencedBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: FencedBlock[] = [];
  let open: { char: string; length: number; indent: number; info: string; line: number } | null =
    null;
  let body: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (open === null) {
      const match = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(line);
      if (match === null) continue;
      const info = match[3]!.trim();
      if (match[2]![0] === "`" && info.includes("`")) continue; // not a fence (inline code)
      open = {
        char: match[2]![0]!,
        length: match[2]!.length,
        indent: match[1]!.length,
        info,
        line: i + 1,
      };
      body = [];
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
    if (close !== null && close[1]![0] === open.char && close[1]!.length >= open.length) {
      blocks.push(blockOf(open, body));
      open = null;
      continue;
    }
    body.push(line.replace(new RegExp(`^ {0,${open.indent}}`), ""));
  }
  if (open !== null) {
    if (body.length > 0 && body.at(-1) === "") body.pop();
    blocks.push(blockOf(open, body));
  }
  return blocks;
}

function blockOf(open: { info: string; line: number }, body: string[]): FencedBlock {
  return {
    info: open.info,
    code: body.length === 0 ? "" : `${body.join("\n")}\n`,
    fenceLine: open.line,
    firstLine: open.line + 1,
  };
}

/** What the info string of a TypeScript example asks for. */
export type ExampleMode =
  | { kind: "run" }
  | { kind: "throws"; errorName: string }
  | { kind: "norun"; reason: string };

/** A TypeScript example of a markdown file. */
export interface Example extends FencedBlock {
  /** 1-based index among the file's TypeScript examples. */
  index: number;
  mode: ExampleMode;
}

/** Thrown for an info string this runner does not understand (a typo must not skip a block). */
export class ExampleMarkerError extends Error {
  override name = "ExampleMarkerError";
}

/**
 * The TypeScript examples of a markdown document: its fenced blocks whose info string starts with
 * `ts` or `typescript`, with their mode (`ts`, `ts throws=ErrorName`, `ts norun: reason`).
 *
 * @throws ExampleMarkerError for an unknown marker, or `norun` without a reason.
 */
export function typescriptExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  for (const block of fencedBlocks(markdown)) {
    const [lang = "", ...rest] = block.info.split(/\s+/);
    if (lang !== "ts" && lang !== "typescript") continue;
    examples.push({ ...block, index: examples.length + 1, mode: modeOf(rest.join(" "), block) });
  }
  return examples;
}

function modeOf(marker: string, block: FencedBlock): ExampleMode {
  if (marker === "") return { kind: "run" };
  const throws = /^throws=([A-Za-z_$][\w$]*)$/.exec(marker);
  if (throws !== null) return { kind: "throws", errorName: throws[1]! };
  const norun = /^norun:\s*(.*)$/.exec(marker);
  if (norun !== null && norun[1]!.trim() !== "") return { kind: "norun", reason: norun[1]!.trim() };
  throw new ExampleMarkerError(
    `line ${block.fenceLine}: unknown example marker "${block.info}". Use \`ts\`, ` +
      "`ts throws=ErrorName` (the block must throw that error) or `ts norun: why it cannot run`.",
  );
}

/** A module built from the examples of one markdown file. */
export interface ExampleModule {
  /** The module's TypeScript source. */
  source: string;
  /** The examples it runs (not the `norun` ones). */
  run: Example[];
  /** The `norun` examples, skipped with their reasons. */
  skipped: Example[];
}

/** Where a line of the generated module comes from: an example and its line in the markdown. */
export interface SourceLine {
  block: number;
  docLine: number;
}

/** The names the generated module gives its helper; examples must not use them. */
export const RUNTIME_NAME = "__saikeiDocs";

/**
 * Builds one module from the examples of a markdown file (see the rules at the top of this file).
 * The module imports `DocRun` from `runtimeUrl`, reports to it, and calls `finish()` at the end.
 *
 * @param file the markdown file's name as reported (`docs/struct.md`).
 * @param markdown its text.
 * @param runtimeUrl the URL of `docRuntime.ts`.
 */
export function exampleModule(file: string, markdown: string, runtimeUrl: string): ExampleModule {
  const examples = typescriptExamples(markdown);
  const run = examples.filter((e) => e.mode.kind !== "norun");
  const skipped = examples.filter((e) => e.mode.kind === "norun");
  const imports = new ImportMerger(file);
  const lines: string[] = [];
  const origin: (SourceLine | null)[] = [];
  const emit = (text: string, from: SourceLine | null = null) => {
    for (const line of text.split("\n")) {
      lines.push(line);
      origin.push(from);
    }
  };
  const body: { text: string; from: SourceLine | null }[] = [];
  const push = (text: string, from: SourceLine | null = null) => body.push({ text, from });

  push("try {");
  let open = 0;
  for (const example of run) {
    const code = rewriteExample(example, imports, file);
    const codeLines = code.split("\n");
    if (codeLines.at(-1) === "") codeLines.pop();
    push(`${RUNTIME_NAME}.enter(${example.index}, ${example.fenceLine});`);
    if (example.mode.kind === "throws") {
      push(
        `await ${RUNTIME_NAME}.throwsBlock(${JSON.stringify(example.mode.errorName)}, async () => {`,
      );
    } else {
      push("{");
      open++;
    }
    codeLines.forEach((text, i) => {
      push(text, { block: example.index, docLine: example.firstLine + i });
    });
    if (example.mode.kind === "throws") push("});");
  }
  push("}".repeat(open));
  push(`${RUNTIME_NAME}.enter(0, 0);`);
  push(`} catch (error) {\n  ${RUNTIME_NAME}.fail(error);\n}`);
  push(`await ${RUNTIME_NAME}.finish();`);

  emit(`import { DocRun as __SaikeiDocRun } from ${JSON.stringify(runtimeUrl)};`);
  for (const declaration of imports.declarations()) emit(declaration);
  emit(`const ${RUNTIME_NAME} = new __SaikeiDocRun(${JSON.stringify(file)}, __saikeiDocsLines());`);
  for (const { text, from } of body) emit(text, from);
  // A function declaration is hoisted, so the map can follow the code it describes.
  const map = JSON.stringify(origin.map((o) => (o === null ? null : [o.block, o.docLine])));
  lines.push(`function __saikeiDocsLines() {\n  return ${map};\n}`);
  return { source: `${lines.join("\n")}\n`, run, skipped };
}

/** Merges the import declarations of all examples into one list, one binding per local name. */
class ImportMerger {
  private readonly bound = new Map<string, string>(); // local name -> "module|imported"
  private readonly out: string[] = [];
  private readonly sideEffects = new Set<string>();

  constructor(private readonly file: string) {}

  add(node: ts.ImportDeclaration, source: ts.SourceFile, line: number): void {
    const from = (node.moduleSpecifier as ts.StringLiteral).text;
    const quoted = JSON.stringify(from);
    const clause = node.importClause;
    if (clause === undefined) {
      if (!this.sideEffects.has(from)) this.out.push(`import ${quoted};`);
      this.sideEffects.add(from);
      return;
    }
    const typeOnly = clause.isTypeOnly ? "type " : "";
    const parts: string[] = [];
    if (clause.name !== undefined && this.bind(clause.name.text, `${from}|default`, line)) {
      this.out.push(`import ${typeOnly}${clause.name.text} from ${quoted};`);
    }
    const bindings = clause.namedBindings;
    if (bindings !== undefined && ts.isNamespaceImport(bindings)) {
      if (this.bind(bindings.name.text, `${from}|*`, line)) {
        this.out.push(`import ${typeOnly}* as ${bindings.name.text} from ${quoted};`);
      }
    } else if (bindings !== undefined) {
      for (const element of bindings.elements) {
        const imported = (element.propertyName ?? element.name).getText(source);
        if (this.bind(element.name.text, `${from}|${imported}`, line)) {
          parts.push(element.getText(source));
        }
      }
      if (parts.length > 0)
        this.out.push(`import ${typeOnly}{ ${parts.join(", ")} } from ${quoted};`);
    }
  }

  /** Records a binding; false when the same binding exists already. */
  private bind(local: string, target: string, line: number): boolean {
    const existing = this.bound.get(local);
    if (existing === undefined) {
      this.bound.set(local, target);
      return true;
    }
    if (existing === target) return false;
    throw new ExampleMarkerError(
      `${this.file} line ${line}: "${local}" is imported from ${target.split("|")[0]} here but from ` +
        `${existing.split("|")[0]} in an earlier example; the examples of one file share one module. ` +
        "Rename one of the imports.",
    );
  }

  declarations(): string[] {
    return this.out;
  }
}

/**
 * The code of one example with its imports removed (they go to the module's top, merged) and its
 * `// → value` and `// throws Name` statements turned into checks. Line breaks are kept, so line
 * `i` of the result is line `i` of the example.
 */
function rewriteExample(example: Example, imports: ImportMerger, file: string): string {
  const code = example.code;
  const source = ts.createSourceFile(
    `${file}-${example.index}.ts`,
    code,
    ts.ScriptTarget.ES2022,
    true,
    ts.ScriptKind.TS,
  );
  const edits: { start: number; end: number; text: string }[] = [];
  const docLine = (pos: number) =>
    example.firstLine + source.getLineAndCharacterOfPosition(pos).line;
  const statements = source.statements;
  statements.forEach((statement, i) => {
    const start = statement.getStart(source);
    if (ts.isImportDeclaration(statement)) {
      imports.add(statement, source, docLine(start));
      edits.push({ start, end: statement.end, text: blankLike(code.slice(start, statement.end)) });
      return;
    }
    if (!ts.isExpressionStatement(statement)) return;
    const check = outputComment(code, statement, statements[i + 1], source);
    if (check === null) return;
    const line = docLine(start);
    if (check.kind === "value") checkExpression(check.value, `${file} line ${line}`);
    const expression = code.slice(statement.expression.getStart(source), statement.expression.end);
    const text =
      check.kind === "value"
        ? `await ${RUNTIME_NAME}.expect(${line}, async () => (${expression}), () => (${check.value}), ${JSON.stringify(check.value)});`
        : `await ${RUNTIME_NAME}.throws(${line}, ${JSON.stringify(check.errorName)}, async () => { ${expression}; });`;
    edits.push({ start, end: statement.end, text });
  });
  let out = code;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  }
  return out;
}

/** Throws an ExampleMarkerError when the text after `// →` is not one expression. */
function checkExpression(text: string, where: string): void {
  const result = ts.transpileModule(`(${text}\n);`, { reportDiagnostics: true });
  const problem = result.diagnostics?.[0];
  if (problem === undefined) return;
  throw new ExampleMarkerError(
    `${where}: the expected value "${text}" is not an expression ` +
      `(${ts.flattenDiagnosticMessageText(problem.messageText, " ")}). ` +
      "Write `// → value`, with any prose after ` — `.",
  );
}

function blankLike(text: string): string {
  return text.replace(/[^\n]/g, "");
}

type OutputCheck = { kind: "value"; value: string } | { kind: "throws"; errorName: string };

/**
 * The `// → value` or `// throws Name` comment that follows a statement on its own line or on the
 * next line (before the next statement), or null.
 */
function outputComment(
  code: string,
  statement: ts.Statement,
  next: ts.Statement | undefined,
  source: ts.SourceFile,
): OutputCheck | null {
  // A comment on the statement's own line is "trailing" for TypeScript, one on the next "leading".
  const ranges =
    ts.getTrailingCommentRanges(code, statement.end) ??
    ts.getLeadingCommentRanges(code, statement.end) ??
    [];
  const first = ranges[0];
  if (first === undefined || first.kind !== ts.SyntaxKind.SingleLineCommentTrivia) return null;
  if (next !== undefined && first.pos >= next.getStart(source)) return null;
  const endLine = source.getLineAndCharacterOfPosition(statement.end).line;
  if (source.getLineAndCharacterOfPosition(first.pos).line > endLine + 1) return null;
  const text = code.slice(first.pos + 2, first.end).trim();
  const value = /^→\s*(.*)$/.exec(text);
  if (value !== null) {
    const expected = value[1]!.split(" — ")[0]!.trim();
    return expected === "" ? null : { kind: "value", value: expected };
  }
  const throws = /^throws\s+([A-Za-z_$][\w$]*)/.exec(text);
  if (throws !== null) return { kind: "throws", errorName: throws[1]! };
  return null;
}
