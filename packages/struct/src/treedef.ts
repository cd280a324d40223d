/**
 * Tree structures (JAX's `PyTreeDef`): the shape of a tree without its leaves, kept as one flat
 * pre-order array so that flattening only appends to it and rebuilding only reads it.
 *
 * @module
 */

import { bugInSaikei } from "./bug.js";
import { LeafCountError } from "./errors.js";
import { MAX_TREE_DEPTH } from "./maxTreeDepth.js";
import {
  ARRAY_NODE,
  deepEqualStatic,
  NODE_TYPE,
  type NodeType,
  ownStructClass,
  type StructLayout,
  safeString,
} from "./registry.js";
import { depthError } from "./walkLimits.js";

/**
 * The pre-order encoding of a structure, one variable-width record per node:
 *
 * - a leaf: `undefined` (width 1);
 * - a struct: `prototype, ...staticValues` (width 1 + number of static fields; the node type is the
 *   prototype's `NODE_TYPE`, whose layout gives the child count);
 * - any other node: `kind, aux, childCount` (width 3).
 *
 * Writing a record is a few stores and allocates nothing, which keeps `flatten` close to the
 * cost of a hand-written walk (see `bench/tree.bench.ts`). The records are stored in chunks of
 * 8192 entries: one array of a large tree's size would be allocated in V8's large-object space,
 * which costs more than the whole walk.
 *
 * @internal
 *
 * @example
 * structure([1]).ops; // [ARRAY_NODE, null, 1, undefined]
 */
export class Ops {
  /** Number of entries. */
  readonly length: number;

  private constructor(
    private readonly chunks: readonly unknown[][],
    length: number,
  ) {
    this.length = length;
    Object.freeze(this);
  }

  /** Copies `flat[0..end)` into chunks. */
  static from(flat: readonly unknown[], end: number): Ops {
    const chunks: unknown[][] = [];
    for (let s = 0; s < end; s += CHUNK_SIZE)
      chunks.push(flat.slice(s, Math.min(end, s + CHUNK_SIZE)));
    return new Ops(chunks, end);
  }

  /** The entry at position `p`. */
  at(p: number): unknown {
    return this.chunks[p >>> CHUNK_BITS]![p & CHUNK_MASK];
  }
}

const CHUNK_BITS = 13;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;

/**
 * @internal The struct layout of the record at `p` when it is a struct record (its first entry is
 * a struct prototype), else `undefined`. Node type objects never carry `NODE_TYPE`, prototypes of
 * structs always do.
 *
 * @example
 * structLayoutAt(structure(point).ops, 0)?.childNames; // ["x", "y"]
 */
export function structLayoutAt(ops: Ops, p: number): StructLayout | undefined {
  const entry = ops.at(p) as { [NODE_TYPE]?: NodeType } | undefined;
  if (entry === undefined) return undefined;
  const kind = entry[NODE_TYPE];
  return kind !== undefined && kind.isStructNode === true
    ? (kind as unknown as StructLayout)
    : undefined;
}

/**
 * @internal The node type of the record at `p`, `undefined` for a leaf.
 *
 * @example
 * kindAt(structure([1]).ops, 0) === ARRAY_NODE; // true
 */
export function kindAt(ops: Ops, p: number): NodeType | undefined {
  const entry = ops.at(p) as NodeType | undefined;
  if (entry === undefined) return undefined;
  const layout = structLayoutAt(ops, p);
  return layout !== undefined ? layout.nodeType : entry;
}

/**
 * @internal Width of the record at `p`.
 *
 * @example
 * recordWidth([undefined], 0); // 1
 */
export function recordWidth(ops: Ops, p: number): number {
  if (ops.at(p) === undefined) return 1;
  const layout = structLayoutAt(ops, p);
  return layout !== undefined ? 1 + layout.staticNames.length : 3;
}

/**
 * @internal Number of children of the node whose record is at `p`.
 *
 * @example
 * recordChildCount([ARRAY_NODE, null, 2, undefined, undefined], 0); // 2
 */
export function recordChildCount(ops: Ops, p: number): number {
  if (ops.at(p) === undefined) return 0;
  const layout = structLayoutAt(ops, p);
  return layout !== undefined ? layout.childNames.length : (ops.at(p + 2) as number);
}

/**
 * @internal The static data of the node whose record is at `p`, as its node type's `flatten`
 * returns it.
 *
 * @example
 * recordAux(structure({ a: 1 }).ops, 0); // { keys: ["a"], nullPrototype: false }
 */
export function recordAux(ops: Ops, p: number): unknown {
  if (ops.at(p) === undefined) return undefined;
  const layout = structLayoutAt(ops, p);
  if (layout === undefined) return ops.at(p + 1);
  const n = layout.staticNames.length;
  if (n === 0) return ops.at(p);
  const aux = new Array(n + 1);
  for (let i = 0; i <= n; i++) aux[i] = ops.at(p + i);
  return aux;
}

/**
 * @internal Appends the record of a node of kind `kind` with static data `aux`.
 *
 * @example
 * const records: unknown[] = [];
 * pushRecord(records, ARRAY_NODE, null, 2); // records: [ARRAY_NODE, null, 2]
 */
export function pushRecord(ops: unknown[], kind: NodeType, aux: unknown, childCount: number): void {
  if (kind.isStructNode === true) {
    const layout = kind as unknown as StructLayout;
    if (childCount !== layout.childNames.length) {
      throw bugInSaikei(
        "pushRecord",
        `a struct node with ${layout.childNames.length} children was given ${childCount} (or a TreeDef was built by hand wrongly).`,
      );
    }
    if (!Array.isArray(aux)) {
      ops.push(aux);
      return;
    }
    if (aux.length !== 1 + layout.staticNames.length) {
      throw bugInSaikei(
        "pushRecord",
        `struct static data must be [prototype, ...${layout.staticNames.length} static values] (or a TreeDef was built by hand wrongly).`,
        aux,
      );
    }
    for (let i = 0; i < aux.length; i++) ops.push(aux[i]);
    return;
  }
  ops.push(kind, aux, childCount);
}

/** Skips the subtree starting at `p`; returns the position after it and adds its leaves to `acc`. */
function skip(ops: Ops, p: number, acc: { leaves: number; nodes: number }): number {
  let pending = 1;
  while (pending > 0) {
    pending--;
    acc.nodes++;
    if (ops.at(p) === undefined) {
      acc.leaves++;
      p++;
    } else {
      pending += recordChildCount(ops, p);
      p += recordWidth(ops, p);
    }
  }
  return p;
}

const FROM_OPS: unique symbol = Symbol("fromOps");

/**
 * The structure of a tree without its leaves (JAX's `PyTreeDef`). Two trees have equal structures
 * when they have the same node kinds, static data and child counts everywhere.
 *
 * @example
 * const def = structure({ a: 1, b: [2, null] });
 * def.toString(); // '{"a": *, "b": [*, null]}'
 * def.numLeaves; // 2
 * def.equals(structure({ b: [5, null], a: 6 })); // true
 */
export class TreeDef {
  /** Number of leaves a tree of this structure has. */
  readonly numLeaves: number;
  /** @internal The shared pre-order encoding this structure is a view of. */
  readonly ops: Ops;
  /** @internal Position of this structure's root record in {@link ops}. */
  readonly start: number;
  #numNodes: number | undefined;
  #children: readonly TreeDef[] | undefined;

  /**
   * Builds a structure from a node kind, its static data and the structures of its children.
   * Usually structures come from {@link structure} or {@link flatten}.
   *
   * @param nodeType the node kind, or `undefined` for a leaf.
   * @param aux the node's static data (as the kind's `flatten` returns it).
   * @param children the structures of the children.
   * @example
   * new TreeDef(ARRAY_NODE, null, [LEAF, LEAF]).toString(); // "[*, *]"
   */
  constructor(nodeType: NodeType | undefined, aux: unknown, children: readonly TreeDef[]);
  constructor(...args: unknown[]) {
    if (args[0] === FROM_OPS) {
      this.ops = args[1] as Ops;
      this.start = args[2] as number;
      this.numLeaves = args[3] as number;
      this.#numNodes = args[4] as number | undefined;
    } else {
      const [nodeType, aux, children] = args as [NodeType | undefined, unknown, readonly TreeDef[]];
      const ops: unknown[] = [];
      if (nodeType === undefined) {
        ops.push(undefined);
        this.numLeaves = 1;
        this.#numNodes = 1;
      } else {
        pushRecord(ops, nodeType, aux, children.length);
        let leaves = 0;
        let nodes = 1;
        for (const c of children) {
          const end = c.start + c.encodedLength;
          for (let i = c.start; i < end; i++) ops.push(c.ops.at(i));
          leaves += c.numLeaves;
          nodes += c.numNodes;
        }
        this.numLeaves = leaves;
        this.#numNodes = nodes;
      }
      this.ops = Ops.from(ops, ops.length);
      this.start = 0;
    }
    Object.freeze(this);
  }

  /** @internal A view of the subtree recorded at `start` in `ops`. */
  static fromOps(ops: Ops, start: number, numLeaves: number, numNodes?: number): TreeDef {
    return new (TreeDef as any)(FROM_OPS, ops, start, numLeaves, numNodes);
  }

  /** @internal Number of `ops` entries this structure spans. */
  get encodedLength(): number {
    const acc = { leaves: 0, nodes: 0 };
    return skip(this.ops, this.start, acc) - this.start;
  }

  /** Number of nodes, leaves included. */
  get numNodes(): number {
    if (this.#numNodes === undefined) {
      const acc = { leaves: 0, nodes: 0 };
      skip(this.ops, this.start, acc);
      this.#numNodes = acc.nodes;
    }
    return this.#numNodes;
  }

  /** The node kind at the root of this structure, `undefined` for a leaf. */
  get nodeType(): NodeType | undefined {
    return kindAt(this.ops, this.start);
  }

  /** The static data of the root node, as its node type's `flatten` returns it. */
  get aux(): unknown {
    return recordAux(this.ops, this.start);
  }

  /** The structures of the root's children. */
  get children(): readonly TreeDef[] {
    if (this.#children !== undefined) return this.#children;
    const ops = this.ops;
    const count = recordChildCount(ops, this.start);
    const out = new Array<TreeDef>(count);
    let p = this.start + recordWidth(ops, this.start);
    for (let i = 0; i < count; i++) {
      if (ops.at(p) === undefined) {
        out[i] = LEAF;
        p++;
      } else {
        const acc = { leaves: 0, nodes: 0 };
        const end = skip(ops, p, acc);
        out[i] = TreeDef.fromOps(ops, p, acc.leaves, acc.nodes);
        p = end;
      }
    }
    this.#children = Object.freeze(out);
    return this.#children;
  }

  /** Whether this is the structure of a single leaf. */
  get isLeaf(): boolean {
    return this.ops.at(this.start) === undefined;
  }

  /**
   * Structural equality: node kinds, static data and children.
   *
   * @example
   * structure([1, 2]).equals(structure([3, 4])); // true
   * structure([1, 2]).equals(structure([1, [2]])); // false
   */
  equals(other: TreeDef): boolean {
    if (this === other) return true;
    if (!(other instanceof TreeDef) || this.numLeaves !== other.numLeaves) return false;
    return opsEqual(this.ops, this.start, other.ops, other.start);
  }

  /**
   * Rebuilds a tree of this structure from leaves in flatten order. Never calls a user
   * constructor: structs come back as frozen instances of their classes.
   *
   * @throws LeafCountError when `leaves.length` is not `numLeaves`.
   * @example
   * structure([1, { a: 2 }]).unflatten(["x", "y"]); // ["x", { a: "y" }]
   */
  unflatten<T = unknown>(leaves: readonly unknown[]): T {
    if (!Array.isArray(leaves) || leaves.length !== this.numLeaves) {
      const got = Array.isArray(leaves)
        ? `${leaves.length}`
        : `${leaves === null ? "null" : `a ${typeof leaves}`} instead of an array`;
      throw new LeafCountError(
        `unflatten expected ${this.numLeaves} leaves for the structure ${truncate(this.toString())}, ` +
          `but got ${got}. Pass exactly one leaf per '*' in the structure, in flatten order.`,
      );
    }
    const state: BuildState = { ops: this.ops, p: this.start, leaves, leaf: 0 };
    return build(state, 0) as T;
  }

  /**
   * A readable rendering: `*` for each leaf, node kinds around their children.
   *
   * @example
   * structure([1, { a: 2 }, null]).toString(); // '[*, {"a": *}, null]'
   */
  toString(): string {
    return renderRecord(this.ops, { p: this.start });
  }
}

/**
 * @internal Truncates long renderings in error messages.
 *
 * @example
 * truncate("abc", 2); // "ab…"
 */
export function truncate(s: string, max = 300): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

function renderRecord(ops: Ops, cursor: { p: number }, depth = 0): string {
  // Flatten lets childless nodes (null) sit one level below the limit.
  if (depth > MAX_TREE_DEPTH + 1) throw depthError("TreeDef.toString", []);
  const p = cursor.p;
  const kind = kindAt(ops, p);
  if (kind === undefined) {
    cursor.p++;
    return "*";
  }
  const aux = recordAux(ops, p);
  const count = recordChildCount(ops, p);
  cursor.p += recordWidth(ops, p);
  const children = new Array<string>(count);
  for (let c = 0; c < count; c++) children[c] = renderRecord(ops, cursor, depth + 1);
  try {
    return kind.render(aux, children);
  } catch {
    return `${kind.name}(${safeString(aux)}, [${children.join(", ")}])`;
  }
}

/**
 * @internal One-level rendering of the record at `p`, children shown as `…`.
 *
 * @example
 * describeRecord(structure([1, 2]).ops, 0); // "a node […, …]"
 */
export function describeRecord(ops: Ops, p: number): string {
  const kind = kindAt(ops, p);
  if (kind === undefined) return "a leaf";
  const count = recordChildCount(ops, p);
  return `a node ${truncate(
    kind.render(
      recordAux(ops, p),
      Array.from({ length: count }, () => "…"),
    ),
    120,
  )}`;
}

function opsEqual(a: Ops, pa: number, b: Ops, pb: number): boolean {
  let pending = 1;
  while (pending > 0) {
    pending--;
    const entry = a.at(pa);
    if (entry !== b.at(pb)) return false;
    if (entry === undefined) {
      pa++;
      pb++;
      continue;
    }
    const layout = structLayoutAt(a, pa);
    if (layout !== undefined) {
      // Same prototype: same class, so the same number of static values follows.
      const width = 1 + layout.staticNames.length;
      for (let i = 1; i < width; i++) {
        if (!deepEqualStatic(a.at(pa + i), b.at(pb + i))) return false;
      }
      pending += layout.childNames.length;
      pa += width;
      pb += width;
    } else {
      const kind = entry as NodeType;
      const count = a.at(pa + 2) as number;
      if (count !== b.at(pb + 2)) return false;
      const auxA = a.at(pa + 1);
      const auxB = b.at(pb + 1);
      if (auxA !== auxB && !kind.auxEquals(auxA, auxB)) return false;
      pending += count;
      pa += 3;
      pb += 3;
    }
  }
  return true;
}

interface BuildState {
  readonly ops: Ops;
  p: number;
  readonly leaves: readonly unknown[];
  leaf: number;
}

function build(s: BuildState, depth: number): unknown {
  const ops = s.ops;
  const p = s.p;
  const entry = ops.at(p) as { [NODE_TYPE]?: NodeType } | undefined;
  if (entry === undefined) {
    s.p = p + 1;
    return s.leaves[s.leaf++];
  }
  // Only a structure built by hand with `new TreeDef` can be this deep: flatten refuses such trees
  // (it lets childless nodes such as null sit one level below the limit).
  if (depth > MAX_TREE_DEPTH + 1) throw depthError("unflatten", []);
  const cls = ownStructClass(entry);
  if (cls !== undefined) {
    // Rebuild the frozen instance directly: the result of `kind.unflatten`, without the
    // intermediate arrays.
    const obj: any = Object.create(entry);
    const staticNames = cls.staticNames;
    const nStatic = staticNames.length;
    s.p = p + 1 + nStatic;
    const names = cls.childNames;
    for (let c = 0; c < names.length; c++) obj[names[c]!] = build(s, depth + 1);
    for (let k = 0; k < nStatic; k++) obj[staticNames[k]!] = ops.at(p + 1 + k);
    return Object.freeze(obj);
  }
  const kind = entry as NodeType;
  const count = ops.at(p + 2) as number;
  s.p = p + 3;
  const children = new Array(count);
  for (let c = 0; c < count; c++) children[c] = build(s, depth + 1);
  return kind === ARRAY_NODE ? children : kind.unflatten(ops.at(p + 1), children);
}

/**
 * The structure of a single leaf.
 *
 * @example
 * structure(5) === LEAF; // true
 */
export const LEAF: TreeDef = new TreeDef(undefined, undefined, []);
