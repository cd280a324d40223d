/**
 * `checkStructure`: matches a tree of values against a tree of patterns (`ArraySpec`, `ANY`, or
 * values compared for equality), solving dimension variables as it goes. The solver follows
 * penzai's: constraints are solved in tree order, unpacked variables that are already solved are
 * inlined, and constraints with two or more unsolved unpack patterns wait for a later round.
 *
 * @module
 */

import {
  bugInSaikei,
  checkOptions,
  flattenOneLevel,
  type KeyPath,
  keystr,
  type PathKey,
} from "@saikei/struct";
import * as E from "fp-ts/lib/Either.js";
import { abstractParts } from "./abstract.js";
import { ArraySpec, Wildcard } from "./arraySpec.js";
import { type BoundValue, showBound } from "./boundValue.js";
import {
  DimVar,
  type DimVarName,
  KnownDim,
  MultiDimVar,
  type NamedDim,
  type PositionalDim,
  parseNamedUnpackKey,
  showDim,
  showVarName,
  summarizeNamed,
  summarizePositional,
} from "./dims.js";
import { AbstractDType, canonicalizeDType, type DType } from "./dtypes.js";
import { type SolvedVariable, StructureMismatchError } from "./errors.js";
import { pyRepr, showShape } from "./format.js";
import { MatchResult } from "./matchResult.js";

/** Options of {@link checkStructure}. */
export interface CheckStructureOptions {
  /**
   * Variables already solved, usually an earlier {@link MatchResult}; the new match must agree with
   * them and its result includes them.
   */
  knownVars?: MatchResult | Readonly<Record<string, BoundValue>>;
  /** Text put before the error message, to say where the check happened (e.g. a layer name). */
  errorPrefix?: string;
}

const CHECK_STRUCTURE_OPTION_KEYS = ["knownVars", "errorPrefix"] as const;

interface PositionalConstraint {
  readonly kind: "positional";
  readonly value: readonly number[];
  readonly pattern: readonly PositionalDim[];
}

interface NamedConstraint {
  readonly kind: "named";
  readonly value: Readonly<Record<string, number>>;
  readonly pattern: Readonly<Record<string, NamedDim>>;
}

interface Failure {
  readonly path: KeyPath;
  readonly message: string;
}

interface Binding {
  readonly name: DimVarName;
  readonly source: string;
  readonly value: BoundValue;
}

type Solutions = Map<string, Binding>;
type VariableConstraint = PositionalConstraint | NamedConstraint;

const KNOWN_VARS_SOURCE = "the known variable assignments (argument `knownVars` to checkStructure)";

function nameKey(name: DimVarName): string {
  return typeof name === "string" ? `s${name}` : `t${JSON.stringify(name)}`;
}

function boundEquals(a: BoundValue, b: BoundValue): boolean {
  if (typeof a === "number" || typeof b === "number") return a === b;
  const aIsArray = Array.isArray(a);
  if (aIsArray !== Array.isArray(b)) return false;
  if (aIsArray) {
    const aa = a as readonly number[];
    const bb = b as readonly number[];
    return aa.length === bb.length && aa.every((x, i) => x === bb[i]);
  }
  const ar = a as Readonly<Record<string, number>>;
  const br = b as Readonly<Record<string, number>>;
  const ak = Object.keys(ar);
  return (
    ak.length === Object.keys(br).length && ak.every((k) => Object.hasOwn(br, k) && ar[k] === br[k])
  );
}

function rootPath(path: KeyPath): string {
  return `root${keystr(path)}`;
}

// ---------------------------------------------------------------------------------------------
// Phase 1: walk the pattern, collect constraints.

function isTensorLike(
  value: unknown,
): value is { shape: number[]; dtype: string; dataSync(): ArrayLike<unknown> } {
  if (value === null || typeof value !== "object") return false;
  const v = value as { shape?: unknown; dtype?: unknown; dataSync?: unknown };
  return Array.isArray(v.shape) && typeof v.dtype === "string" && typeof v.dataSync === "function";
}

function leafEquals(pattern: unknown, value: unknown): boolean {
  if (pattern === value) return true;
  if (
    pattern === null ||
    value === null ||
    typeof pattern !== "object" ||
    typeof value !== "object"
  )
    return false;
  if (isTensorLike(pattern) || isTensorLike(value)) {
    if (!isTensorLike(pattern) || !isTensorLike(value)) return false;
    if (pattern.dtype !== value.dtype || pattern.shape.length !== value.shape.length) return false;
    if (!pattern.shape.every((s, i) => s === value.shape[i])) return false;
    if (
      (pattern as { isDisposed?: boolean }).isDisposed ||
      (value as { isDisposed?: boolean }).isDisposed
    )
      return false;
    const a = pattern.dataSync();
    const b = value.dataSync();
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (ArrayBuffer.isView(pattern) || ArrayBuffer.isView(value)) {
    if (!ArrayBuffer.isView(pattern) || !ArrayBuffer.isView(value)) return false;
    if (pattern.constructor !== value.constructor) return false;
    const a = pattern as unknown as ArrayLike<unknown>;
    const b = value as unknown as ArrayLike<unknown>;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  const eq = (pattern as { equals?: unknown }).equals;
  if (typeof eq === "function") {
    try {
      return Boolean(eq.call(pattern, value));
    } catch {
      return false;
    }
  }
  return false;
}

function dtypeFailure(expected: DType, actual: DType): string | undefined {
  if (expected instanceof AbstractDType) {
    if (!expected.contains(actual)) {
      return `Value has the wrong dtype: expected a sub-dtype of ${expected} but got dtype ${actual}.`;
    }
    return undefined;
  }
  const e = canonicalizeDType(expected);
  const a = actual instanceof AbstractDType ? actual : canonicalizeDType(actual);
  if (a !== e) return `Value has the wrong dtype: expected dtype ${e} but got dtype ${a}.`;
  return undefined;
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

function concreteShape(shape: readonly PositionalDim[]): readonly number[] {
  if (shape.every((d) => typeof d === "number")) return shape as readonly number[];
  return shape.map((d) => (d instanceof KnownDim ? d.size : d)) as readonly number[];
}

function concreteNamed(
  named: Readonly<Record<string, NamedDim>>,
): Readonly<Record<string, number>> {
  if (Object.values(named).every((d) => typeof d === "number"))
    return named as Readonly<Record<string, number>>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(named))
    out[k] = (v instanceof KnownDim ? v.size : v) as number;
  return out;
}

function collect(
  path: PathKey[],
  pattern: unknown,
  value: unknown,
  failures: Failure[],
  constraints: [KeyPath, VariableConstraint][],
): void {
  if (pattern instanceof ArraySpec) {
    const actual = abstractParts(value);
    if (actual === undefined) {
      failures.push({
        path: path.slice(),
        message: `Couldn't match an ArraySpec with a non-arraylike value ${pyRepr(value)}`,
      });
      return;
    }
    if (value instanceof ArraySpec && value.hasVariables()) {
      failures.push({
        path: path.slice(),
        message:
          `The value ${value.toString()} is an ArraySpec with dimension variables, which cannot be matched as a value. ` +
          "Check a concrete value, or substitute its variables first with fullSubstituteDimensionVariables.",
      });
      return;
    }
    const dtypeError = dtypeFailure(pattern.dtype, actual.dtype);
    if (dtypeError !== undefined) failures.push({ path: path.slice(), message: dtypeError });
    // An ArraySpec given as a value is taken as concrete; its KnownDims count as their sizes.
    const at = path.slice();
    constraints.push([
      at,
      { kind: "positional", value: concreteShape(actual.shape), pattern: pattern.shape },
    ]);
    // Two empty named shapes always match and bind nothing.
    if (!isEmpty(actual.namedShape) || !isEmpty(pattern.namedShape)) {
      constraints.push([
        at,
        { kind: "named", value: concreteNamed(actual.namedShape), pattern: pattern.namedShape },
      ]);
    }
    return;
  }
  if (pattern instanceof Wildcard) return;
  const patternLevel = flattenOneLevel(pattern);
  if (patternLevel === undefined) {
    if (!leafEquals(pattern, value)) {
      failures.push({
        path: path.slice(),
        message: `Value ${pyRepr(value)} was not equal to the non-ArraySpec pattern ${pyRepr(pattern)}.`,
      });
    }
    return;
  }
  const valueLevel = flattenOneLevel(value);
  if (valueLevel === undefined || !patternLevel[1].equals(valueLevel[1])) {
    const got =
      valueLevel === undefined ? `the leaf ${pyRepr(value)}` : `a node ${valueLevel[1].toString()}`;
    failures.push({
      path: path.slice(),
      message:
        `Tree structure mismatch: the pattern has a node ${patternLevel[1].toString()} here but the value has ${got}. ` +
        "Give the value the pattern's structure, or use ANY in the pattern to accept any subtree.",
    });
    return;
  }
  const valueChildren = valueLevel[0];
  patternLevel[0].forEach(([key, child], i) => {
    path.push(key);
    collect(path, child, valueChildren[i]![1], failures, constraints);
    path.pop();
  });
}

// ---------------------------------------------------------------------------------------------
// Phase 2: solve.

function tryMatchOne(
  path: KeyPath,
  pattern: PositionalDim | NamedDim,
  value: BoundValue,
  solutions: Solutions,
): string | undefined {
  if (pattern instanceof DimVar || pattern instanceof MultiDimVar) {
    const key = nameKey(pattern.name);
    const previous = solutions.get(key);
    if (previous !== undefined) {
      if (!boundEquals(previous.value, value)) {
        return `Size ${showBound(value)} does not match previous size ${showBound(previous.value)} for ${showDim(pattern)} from ${previous.source}`;
      }
    } else {
      solutions.set(key, { name: pattern.name, source: rootPath(path), value });
    }
    return undefined;
  }
  if (pattern instanceof KnownDim) {
    const key = nameKey(pattern.name);
    const previous = solutions.get(key);
    if (previous !== undefined) {
      if (!boundEquals(previous.value, pattern.size)) {
        return `Size ${pattern.size} does not match previous size ${showBound(previous.value)} for ${showDim(pattern)} from ${previous.source}`;
      }
    } else {
      solutions.set(key, { name: pattern.name, source: rootPath(path), value });
    }
    if (value !== pattern.size) {
      if (pattern.fromKeypath !== undefined) {
        return `Size ${showBound(value)} does not match previous size ${pattern.size} for ${showDim(pattern)} from ${pattern.fromKeypath}`;
      }
      return `Actual size ${showBound(value)} does not match expected ${showDim(pattern)}`;
    }
    return undefined;
  }
  if (typeof pattern === "number") {
    if (value !== pattern)
      return `Actual size ${showBound(value)} does not match expected ${showDim(pattern)}`;
    return undefined;
  }
  throw bugInSaikei(
    "shapecheck",
    `unexpected dimension pattern ${pyRepr(pattern)} at ${rootPath(path)}.`,
  );
}

function inlinePositional(
  constraint: PositionalConstraint,
  solutions: Solutions,
): [PositionalConstraint, string] {
  const pattern: PositionalDim[] = [];
  let summary = "";
  for (const dim of constraint.pattern) {
    const binding = dim instanceof MultiDimVar ? solutions.get(nameKey(dim.name)) : undefined;
    if (dim instanceof MultiDimVar && binding !== undefined && Array.isArray(binding.value)) {
      (binding.value as readonly number[]).forEach((size, i) => {
        pattern.push(new KnownDim([dim.name, i], size, binding.source));
      });
      summary += `\n  After inlining ${showVarName(dim.name)} = ${showBound(binding.value)} from ${binding.source}`;
    } else {
      pattern.push(dim);
    }
  }
  return [{ kind: "positional", value: constraint.value, pattern }, summary];
}

function inlineNamed(
  constraint: NamedConstraint,
  solutions: Solutions,
): [NamedConstraint | string, string] {
  const pattern: Record<string, NamedDim> = {};
  const inlinable: [MultiDimVar, Binding][] = [];
  let summary = "";
  for (const [key, val] of Object.entries(constraint.pattern)) {
    const multi = parseNamedUnpackKey(key);
    const binding = multi !== undefined ? solutions.get(nameKey(multi.name)) : undefined;
    if (
      multi !== undefined &&
      binding !== undefined &&
      typeof binding.value === "object" &&
      !Array.isArray(binding.value)
    ) {
      inlinable.push([multi, binding]);
    } else {
      pattern[key] = val;
    }
  }
  for (const [multi, binding] of inlinable) {
    for (const [subkey, size] of Object.entries(binding.value as Record<string, number>)) {
      if (Object.hasOwn(pattern, subkey)) {
        return [
          `Key conflict while substituting unpacked variable ${showVarName(multi.name)} for known named sub-shape ` +
            `${showBound(binding.value)} from ${binding.source}: name ${subkey} is already present in the shape ` +
            `${summarizeNamed(constraint.pattern)}.`,
          summary,
        ];
      }
      pattern[subkey] = new KnownDim([multi.name, subkey], size, binding.source);
    }
    summary += `\n  After inlining ${showVarName(multi.name)} = ${showBound(binding.value)} from ${binding.source}`;
  }
  return [{ kind: "named", value: constraint.value, pattern }, summary];
}

function positionalVars(pattern: readonly PositionalDim[]): (DimVar | MultiDimVar)[] {
  return pattern.filter(
    (d): d is DimVar | MultiDimVar => d instanceof DimVar || d instanceof MultiDimVar,
  );
}

function namedVars(pattern: Readonly<Record<string, NamedDim>>): (DimVar | MultiDimVar)[] {
  const out: (DimVar | MultiDimVar)[] = Object.values(pattern).filter(
    (v): v is DimVar => v instanceof DimVar,
  );
  for (const key of Object.keys(pattern)) {
    const multi = parseNamedUnpackKey(key);
    if (multi !== undefined) out.push(multi);
  }
  return out;
}

function solvePositional(
  path: KeyPath,
  constraint: PositionalConstraint,
  inlineInfo: string,
  solutions: Solutions,
  failures: Failure[],
): void {
  const { value, pattern } = constraint;
  const multiIndices = pattern.flatMap((d, i) => (d instanceof MultiDimVar ? [i] : []));
  if (multiIndices.length === 1) {
    const prefixSize = multiIndices[0]!;
    const suffixSize = pattern.length - prefixSize - 1;
    if (value.length < prefixSize + suffixSize) {
      failures.push({
        path,
        message: `Positional shape ${showShape(value)} was shorter than wildcard pattern ${summarizePositional(pattern)}${inlineInfo}`,
      });
      return;
    }
    const multi = pattern[prefixSize] as MultiDimVar;
    const middle = value.slice(prefixSize, value.length - suffixSize);
    const subfailures: string[] = [];
    const err = tryMatchOne(path, multi, Object.freeze(middle), solutions);
    if (err !== undefined) subfailures.push(`  Unpack pattern ${multi}: ${err}`);
    const pairs: [number, number, PositionalDim][] = [];
    for (let i = 0; i < prefixSize; i++) pairs.push([i, value[i]!, pattern[i]!]);
    for (let j = 0; j < suffixSize; j++) {
      const i = value.length - suffixSize + j;
      pairs.push([i, value[i]!, pattern[prefixSize + 1 + j]!]);
    }
    for (const [i, size, dim] of pairs) {
      const e = tryMatchOne(path, dim, size, solutions);
      if (e !== undefined) subfailures.push(`  Dim ${i}: ${e}`);
    }
    if (subfailures.length > 0) {
      failures.push({
        path,
        message: `Positional shape mismatch between value ${showShape(value)} and pattern ${summarizePositional(pattern)}:\n${subfailures.join("\n")}${inlineInfo}`,
      });
    }
    return;
  }
  if (value.length !== pattern.length) {
    failures.push({
      path,
      message: `Positional shape ${showShape(value)} had different length than pattern ${summarizePositional(pattern)}${inlineInfo}`,
    });
    return;
  }
  const subfailures: string[] = [];
  value.forEach((size, i) => {
    const e = tryMatchOne(path, pattern[i]!, size, solutions);
    if (e !== undefined) subfailures.push(`  Dim ${i}: ${e}`);
  });
  if (subfailures.length > 0) {
    failures.push({
      path,
      message: `Positional shape mismatch between value ${showShape(value)} and pattern ${summarizePositional(pattern)}:\n${subfailures.join("\n")}${inlineInfo}`,
    });
  }
}

function solveNamed(
  path: KeyPath,
  constraint: NamedConstraint,
  inlineInfo: string,
  solutions: Solutions,
  failures: Failure[],
): void {
  const { value, pattern } = constraint;
  const remaining = new Set(Object.keys(value));
  const subfailures: string[] = [];
  let multi: MultiDimVar | undefined;
  for (const [key, dim] of Object.entries(pattern)) {
    const m = parseNamedUnpackKey(key);
    if (m !== undefined) {
      multi = m;
      continue;
    }
    if (Object.hasOwn(value, key)) {
      const e = tryMatchOne(path, dim, value[key]!, solutions);
      if (e !== undefined) subfailures.push(`  Axis ${pyRepr(key)}: ${e}`);
      remaining.delete(key);
    } else {
      subfailures.push(`  Axis ${pyRepr(key)}: Expected to be present but was missing`);
    }
  }
  if (multi !== undefined) {
    const rest: Record<string, number> = {};
    for (const k of remaining) rest[k] = value[k]!;
    const e = tryMatchOne(path, multi, Object.freeze(rest), solutions);
    if (e !== undefined) subfailures.push(`  Unpack pattern **${showVarName(multi.name)}: ${e}`);
  } else if (remaining.size > 0) {
    subfailures.push(`  Unexpected names in value's named shape: ${pyRepr([...remaining].sort())}`);
  }
  if (subfailures.length > 0) {
    failures.push({
      path,
      message: `Named shape mismatch between value ${showBound(value)} and pattern ${summarizeNamed(pattern)}:\n${subfailures.join("\n")}${inlineInfo}`,
    });
  }
}

function solvedList(solutions: Solutions): SolvedVariable[] {
  return [...solutions.values()].map((b) => ({
    variable: showVarName(b.name),
    value: b.value,
    source: b.source,
  }));
}

function solvedSection(solutions: Solutions): string {
  // Sub-variables of a solved variable (bound while checking an inlined unpack) repeat it; skip them.
  const shown = [...solutions.values()].filter(
    (b) => typeof b.name === "string" || !solutions.has(nameKey(b.name[0])),
  );
  if (shown.length === 0) return "";
  const lines = shown.map(
    (b) => `\n  ${showVarName(b.name)} = ${showBound(b.value)} from ${b.source}`,
  );
  return `\nVariables solved so far:${lines.join("")}`;
}

function compareVarNames(a: DimVarName, b: DimVarName): number {
  const ka = typeof a === "string" ? [a, ""] : [a[0], String(a[1])];
  const kb = typeof b === "string" ? [b, ""] : [b[0], String(b[1])];
  if (ka[0] !== kb[0]) return ka[0]! < kb[0]! ? -1 : 1;
  if (ka[1] !== kb[1]) return ka[1]! < kb[1]! ? -1 : 1;
  return 0;
}

function seedSolutions(knownVars: CheckStructureOptions["knownVars"]): Solutions {
  const solutions: Solutions = new Map();
  if (knownVars === undefined) return solutions;
  const entries = knownVars instanceof MatchResult ? [...knownVars] : Object.entries(knownVars);
  for (const [name, value] of entries) {
    solutions.set(nameKey(name), { name, source: KNOWN_VARS_SOURCE, value });
  }
  return solutions;
}

function finish(
  solutions: Solutions,
  prefix: string,
): E.Either<StructureMismatchError, MatchResult> {
  const final: Record<string, BoundValue> = {};
  const errors: string[] = [];
  for (const binding of solutions.values()) {
    const name = binding.name;
    if (typeof name === "string") {
      final[name] = binding.value;
      continue;
    }
    const [outer, sub] = name;
    const whole = solutions.get(nameKey(outer));
    if (whole !== undefined) {
      let found: BoundValue | undefined;
      if (typeof sub === "number") {
        if (Array.isArray(whole.value) && sub < whole.value.length)
          found = (whole.value as readonly number[])[sub];
      } else if (typeof whole.value === "object" && !Array.isArray(whole.value)) {
        const rec = whole.value as Readonly<Record<string, number>>;
        found = Object.hasOwn(rec, sub) ? rec[sub] : undefined;
      }
      if (found === undefined || !boundEquals(found, binding.value)) {
        errors.push(
          `  ${showVarName(outer)}: Solved as ${showBound(whole.value)} from ${whole.source} but separately solved ` +
            `${showVarName(name)} as ${showBound(binding.value)} from ${binding.source}`,
        );
      }
    } else {
      const group = (final[outer] ?? {}) as Record<string, number>;
      group[String(sub)] = binding.value as number;
      final[outer] = group;
    }
  }
  if (errors.length > 0) {
    return E.left(
      new StructureMismatchError(
        `${prefix}Unexpected conflicts between variable assignments:\n${errors.join("\n")}\n` +
          "A variable unpacked with var(name).unpackNamed() and also given per axis with varsForAxes(name, ...) " +
          "or var(name).at(axis) must describe the same axes with the same sizes.",
        [],
        solvedList(solutions),
      ),
    );
  }
  for (const [k, v] of Object.entries(final)) {
    if (typeof v === "object") final[k] = Object.freeze(Array.isArray(v) ? [...v] : { ...v });
  }
  return E.right(new MatchResult(final));
}

/**
 * Like {@link checkStructure}, but returns the outcome as an fp-ts `Either` instead of throwing.
 *
 * @returns `right(MatchResult)` on a match, `left(StructureMismatchError)` otherwise.
 * @example
 * const r = checkStructureEither(tf.zeros([2, 3]), new ArraySpec({ shape: [var("n"), 4] }));
 * if (E.isLeft(r)) console.log(r.left.message);
 */
export function checkStructureEither(
  value: unknown,
  pattern: unknown,
  options: CheckStructureOptions = {},
): E.Either<StructureMismatchError, MatchResult> {
  checkOptions("checkStructure", options, CHECK_STRUCTURE_OPTION_KEYS);
  const prefix = options.errorPrefix ?? "";
  const phaseOneFailures: Failure[] = [];
  let pending: [KeyPath, VariableConstraint][] = [];
  collect([], pattern, value, phaseOneFailures, pending);
  const solutions = seedSolutions(options.knownVars);
  const failures: Failure[] = [...phaseOneFailures];

  while (pending.length > 0 || failures.length > 0) {
    const unsolved: [KeyPath, VariableConstraint][] = [];
    const remainingVars = new Map<string, DimVarName>();
    for (const [path, original] of pending) {
      if (original.kind === "positional") {
        const [constraint, info] = inlinePositional(original, solutions);
        if (constraint.pattern.filter((d) => d instanceof MultiDimVar).length >= 2) {
          unsolved.push([path, constraint]);
          for (const v of positionalVars(constraint.pattern))
            remainingVars.set(nameKey(v.name), v.name);
        } else {
          solvePositional(path, constraint, info, solutions, failures);
        }
      } else {
        const [constraint, info] = inlineNamed(original, solutions);
        if (typeof constraint === "string") {
          failures.push({ path, message: constraint + info });
        } else if (
          Object.keys(constraint.pattern).filter((k) => parseNamedUnpackKey(k) !== undefined)
            .length >= 2
        ) {
          unsolved.push([path, constraint]);
          for (const v of namedVars(constraint.pattern)) remainingVars.set(nameKey(v.name), v.name);
        } else {
          solveNamed(path, constraint, info, solutions, failures);
        }
      }
    }
    if (failures.length > 0) {
      const lines = [`${prefix}Mismatch while checking structures:`];
      for (const f of failures) lines.push(`At ${rootPath(f.path)}: ${f.message}`);
      if (unsolved.length > 0)
        lines.push(
          "There may also be additional mismatches due to remaining unsolved constraints.",
        );
      return E.left(
        new StructureMismatchError(
          lines.join("\n") + solvedSection(solutions),
          failures.map((f) => ({ keyPath: rootPath(f.path), message: f.message })),
          solvedList(solutions),
        ),
      );
    }
    if (unsolved.length < pending.length) {
      pending = unsolved;
      continue;
    }
    const vars = [...remainingVars.values()].sort(compareVarNames).map(showVarName);
    const described = unsolved.map(([path, c]) => {
      const shown =
        c.kind === "positional"
          ? `${showShape(c.value)} == ${summarizePositional(c.pattern)}`
          : `${showBound(c.value)} == ${summarizeNamed(c.pattern)}`;
      return `\n  ${shown} from ${rootPath(path)}`;
    });
    return E.left(
      new StructureMismatchError(
        `${prefix}Could not solve for all variable constraints. This usually means the variable assignment is ambiguous ` +
          "because multiple unpack patterns (*var(...) or **var(...)) appeared in the same positional or named shape.\n" +
          `Unsolvable variables: ${vars.join(", ")}\nUnsolvable constraints:${described.join("")}` +
          "\nTo fix it, pin down all but one unpack pattern per shape: use the variable alone in another " +
          "pattern, or pass its value in knownVars." +
          solvedSection(solutions),
        unsolved.map(([path, c]) => ({
          keyPath: rootPath(path),
          message:
            c.kind === "positional" ? summarizePositional(c.pattern) : summarizeNamed(c.pattern),
        })),
        solvedList(solutions),
      ),
    );
  }
  return finish(solutions, prefix);
}

/**
 * Checks that a tree of values matches a tree of patterns and returns the solved dimension variables
 * (penzai's `check_structure`).
 *
 * The pattern drives the walk: an {@link ArraySpec} matches one array-like value (tfjs tensor,
 * `NamedArray`, number, boolean, typed array, `ShapeDtypeStruct`, or an `ArraySpec` used as an
 * abstract value), {@link ANY} matches any subtree, and any other leaf must equal the value.
 *
 * @param value the tree to check.
 * @param pattern the expected structure, usually with `ArraySpec` leaves.
 * @param options `knownVars` (an earlier result the match must agree with) and `errorPrefix`.
 * @returns the solved variables.
 * @throws StructureMismatchError listing every mismatch with its key path (`root['a'].b`) and the
 *   variables solved so far.
 * @example
 * const r = checkStructure(
 *   { x: tf.zeros([8, 3]), y: tf.zeros([8]) },
 *   { x: new ArraySpec({ shape: [var("batch"), 3] }), y: new ArraySpec({ shape: [var("batch")] }) },
 * );
 * r.get("batch"); // 8
 */
export function checkStructure(
  value: unknown,
  pattern: unknown,
  options: CheckStructureOptions = {},
): MatchResult {
  const result = checkStructureEither(value, pattern, options);
  if (E.isLeft(result)) throw result.left;
  return result.right;
}
