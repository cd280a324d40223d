/**
 * Listing and substituting the dimension variables of a structure: `getDimensionVariables` and
 * `fullSubstituteDimensionVariables`.
 *
 * @module
 */

import { checkOptions, findOutermost, keystr, rewriteOutermost } from "@saikei/struct";
import { ArraySpec } from "./arraySpec.js";
import {
  DimVar,
  type DimVarName,
  KnownDim,
  MultiDimVar,
  type NamedDim,
  namedUnpackKey,
  type PositionalDim,
  parseNamedUnpackKey,
  REMAINING,
  showVarName,
} from "./dims.js";
import { SubstitutionError } from "./errors.js";
import type { MatchResult } from "./matchResult.js";

/** The key of a size variable in {@link DimensionVariableSubstitution.sizeVariables}. */
export function sizeVariableKey(name: DimVarName): string {
  return typeof name === "string" ? name : `${name[0]}[${JSON.stringify(name[1])}]`;
}

/**
 * An assignment for every dimension variable of a structure (penzai's
 * `DimensionVariableSubstitution`). Values may themselves contain variables, which renames them.
 *
 * - `sizeVariables`: `var("x")` by name, and sub-variables `var("x").at("b")` under the key
 *   `x["b"]` (see {@link sizeVariableKey}), to a size or another `DimVar`.
 * - `sequenceVariables`: `...var("x").unpack()` by name, to positional dims.
 * - `mappingVariables`: `...var("x").unpackNamed()` by name, to a named shape fragment.
 *
 * @example
 * new DimensionVariableSubstitution({ sizeVariables: { batch: 8 }, sequenceVariables: { rest: [2, 3] } });
 */
export class DimensionVariableSubstitution {
  /** Size variables by name (sub-variables under `x["b"]`). */
  readonly sizeVariables: Readonly<Record<string, number | DimVar>>;
  /** Positional unpack variables by name. */
  readonly sequenceVariables: Readonly<Record<string, readonly PositionalDim[]>>;
  /** Named unpack variables by name. */
  readonly mappingVariables: Readonly<Record<string, Readonly<Record<string, NamedDim>>>>;

  /** @param parts the three tables; each defaults to empty. */
  constructor(
    parts: {
      sizeVariables?: Readonly<Record<string, number | DimVar>>;
      sequenceVariables?: Readonly<Record<string, readonly PositionalDim[]>>;
      mappingVariables?: Readonly<Record<string, Readonly<Record<string, NamedDim>>>>;
    } = {},
  ) {
    checkOptions("new DimensionVariableSubstitution", parts, [
      "sizeVariables",
      "sequenceVariables",
      "mappingVariables",
    ]);
    this.sizeVariables = Object.freeze({ ...parts.sizeVariables });
    this.sequenceVariables = Object.freeze({ ...parts.sequenceVariables });
    this.mappingVariables = Object.freeze({ ...parts.mappingVariables });
    Object.freeze(this);
  }

  /**
   * The substitution that puts a match's solutions back into a pattern: sizes become
   * `sizeVariables`, positional runs `sequenceVariables` (and their items the sub-variables
   * `x[0]`, ...), named sets `mappingVariables` (and their entries the sub-variables `x["axis"]`).
   *
   * @example
   * const match = checkStructure(value, pattern);
   * fullSubstituteDimensionVariables(pattern, DimensionVariableSubstitution.fromMatchResult(match));
   */
  static fromMatchResult(match: MatchResult): DimensionVariableSubstitution {
    const sizeVariables: Record<string, number> = {};
    const sequenceVariables: Record<string, readonly number[]> = {};
    const mappingVariables: Record<string, Readonly<Record<string, number>>> = {};
    for (const [name, value] of match) {
      if (typeof value === "number") {
        sizeVariables[name] = value;
      } else if (Array.isArray(value)) {
        sequenceVariables[name] = value;
        value.forEach((size, i) => {
          sizeVariables[sizeVariableKey([name, i])] = size;
        });
      } else {
        const record = value as Readonly<Record<string, number>>;
        mappingVariables[name] = record;
        for (const [axis, size] of Object.entries(record))
          sizeVariables[sizeVariableKey([name, axis])] = size;
      }
    }
    return new DimensionVariableSubstitution({
      sizeVariables,
      sequenceVariables,
      mappingVariables,
    });
  }

  /** Whether there are no variables at all. */
  isEmpty(): boolean {
    return (
      Object.keys(this.sizeVariables).length === 0 &&
      Object.keys(this.sequenceVariables).length === 0 &&
      Object.keys(this.mappingVariables).length === 0
    );
  }
}

/**
 * Every dimension variable in a structure, each mapped to itself, so that substituting the result
 * changes nothing except stripping `KnownDim`s (penzai's `get_dimension_variables`). `KnownDim`s are
 * not listed. Replace the values to build a real substitution.
 *
 * @example
 * getDimensionVariables({ x: new ArraySpec({ shape: [var("b"), ...var("rest").unpack()] }) });
 * // sizeVariables { b: var('b') }, sequenceVariables { rest: [*var('rest')] }
 */
export function getDimensionVariables(structure: unknown): DimensionVariableSubstitution {
  const sizeVariables: Record<string, DimVar> = {};
  const sequenceVariables: Record<string, readonly PositionalDim[]> = {};
  const mappingVariables: Record<string, Readonly<Record<string, NamedDim>>> = {};
  const specs = findOutermost<ArraySpec>(
    structure,
    { instanceOf: ArraySpec },
    {
      operation: "getDimensionVariables",
    },
  );
  for (const { value: spec } of specs) {
    for (const dim of spec.shape) {
      if (dim instanceof DimVar) sizeVariables[sizeVariableKey(dim.name)] = dim;
      else if (dim instanceof MultiDimVar) sequenceVariables[dim.name] = Object.freeze([dim]);
    }
    for (const [key, val] of Object.entries(spec.namedShape)) {
      const multi = parseNamedUnpackKey(key);
      if (val instanceof DimVar) sizeVariables[sizeVariableKey(val.name)] = val;
      else if (multi !== undefined)
        mappingVariables[multi.name] = Object.freeze({ [namedUnpackKey(multi.name)]: REMAINING });
    }
  }
  return new DimensionVariableSubstitution({ sizeVariables, sequenceVariables, mappingVariables });
}

function missing(kind: string, written: string, where: string, table: string): SubstitutionError {
  return new SubstitutionError(
    `No value for the ${kind} ${written} at ${where}: the substitution's ${table} has no entry for it. ` +
      "Start from getDimensionVariables(structure) so every variable has an entry.",
  );
}

/**
 * Replaces every dimension variable in a structure's `ArraySpec`s by its value in `substitution`,
 * and every `KnownDim` by its size (penzai's `full_substitute_dimension_variables`).
 *
 * @returns the structure with each `ArraySpec` replaced by its substituted copy (parts holding no
 *   `ArraySpec` are the same objects as in `structure`); with a substitution of plain sizes, fully
 *   concrete.
 * @throws SubstitutionError when a variable has no value, or a mapping variable brings an axis
 *   name the named shape already has.
 * @example
 * fullSubstituteDimensionVariables(
 *   new ArraySpec({ shape: [var("b"), 3] }),
 *   new DimensionVariableSubstitution({ sizeVariables: { b: 8 } }),
 * ); // ArraySpec(shape=(8, 3), ...)
 */
export function fullSubstituteDimensionVariables<T = unknown>(
  structure: T,
  substitution: DimensionVariableSubstitution,
): T {
  return rewriteOutermost(
    structure,
    { instanceOf: ArraySpec },
    (leaf: ArraySpec, path) => {
      const where = `root${keystr(path)}`;
      const shape: PositionalDim[] = [];
      for (const dim of leaf.shape) {
        if (dim instanceof DimVar) {
          const key = sizeVariableKey(dim.name);
          if (!Object.hasOwn(substitution.sizeVariables, key))
            throw missing("size variable", dim.toString(), where, "sizeVariables");
          shape.push(substitution.sizeVariables[key]!);
        } else if (dim instanceof KnownDim) {
          shape.push(dim.size);
        } else if (dim instanceof MultiDimVar) {
          if (!Object.hasOwn(substitution.sequenceVariables, dim.name)) {
            throw missing("unpacked variable", dim.toString(), where, "sequenceVariables");
          }
          shape.push(...substitution.sequenceVariables[dim.name]!);
        } else {
          shape.push(dim);
        }
      }
      const named: Record<string, NamedDim> = {};
      for (const [key, val] of Object.entries(leaf.namedShape)) {
        const multi = parseNamedUnpackKey(key);
        if (val instanceof DimVar) {
          const k = sizeVariableKey(val.name);
          if (!Object.hasOwn(substitution.sizeVariables, k))
            throw missing("size variable", val.toString(), where, "sizeVariables");
          named[key] = substitution.sizeVariables[k]!;
        } else if (val instanceof KnownDim) {
          named[key] = val.size;
        } else if (multi !== undefined) {
          if (!Object.hasOwn(substitution.mappingVariables, multi.name)) {
            throw missing(
              "unpacked variable",
              `**${showVarName(multi.name)}`,
              where,
              "mappingVariables",
            );
          }
          for (const [subkey, subval] of Object.entries(
            substitution.mappingVariables[multi.name]!,
          )) {
            // The unpack key itself may come back (an identity substitution); any other repeat conflicts.
            if (
              Object.hasOwn(named, subkey) ||
              (subkey !== key && Object.hasOwn(leaf.namedShape, subkey))
            ) {
              throw new SubstitutionError(
                `Key conflict while substituting mapping variable ${showVarName(multi.name)} at ${where}: name ${subkey} is already present. ` +
                  "Rename the axis in the substitution or in the pattern.",
              );
            }
            named[subkey] = subval;
          }
        } else {
          named[key] = val;
        }
      }
      return new ArraySpec({ shape, namedShape: named, dtype: leaf.dtype });
    },
    { operation: "fullSubstituteDimensionVariables" },
  );
}
