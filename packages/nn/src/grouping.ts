/**
 * Grouping layers: `Sequential`, `NamedGroup`, `CheckedSequential`, `Identity`, `CheckStructure`
 * and the helpers that inline nested groups (penzai v1 `nn/grouping.py`).
 *
 * @module
 */

import { callLayer, checkedLayerCall, Layer, type LayerLike } from "@saikei/layer";
import { tidy } from "@saikei/named";
import { checkStructure } from "@saikei/shapecheck";
import { field, flattenOneLevel } from "@saikei/struct";

/** Colour treescope uses for plain group layers (penzai's `#cdcdcd`). */
export const GROUP_COLOR = "#cdcdcd";

/**
 * Runs its sublayers one after the other, each on the previous one's output (penzai's
 * `Sequential`). Subclasses such as {@link Affine} or {@link LayerNorm} only add `fromConfig`
 * builders; they keep this call.
 *
 * Tensors made between sublayers are released when the call returns; the result is kept.
 *
 * @example
 * const double = new Sequential({ sublayers: [(x: number) => x + 1, (x: number) => 2 * x] });
 * double.call(3); // 8
 */
export class Sequential extends Layer.define(
  { sublayers: field<readonly LayerLike[]>() },
  { name: "Sequential" },
) {
  /** Feeds `x` through every sublayer in order. */
  call(x: any): any {
    return tidy(() => runSequence(this.sublayers, x));
  }

  /** Treescope colour: grey for an exact `Sequential`, none for subclasses (they get their own). */
  treescopeColor(): string | undefined {
    return Object.getPrototypeOf(this) === Sequential.prototype ? GROUP_COLOR : undefined;
  }
}

/**
 * A `Sequential` with a name (penzai's `NamedGroup`): the name shows up in renderings and can be
 * used to select the group; calling it runs the sublayers in order.
 *
 * @example
 * const gate = new NamedGroup({ name: "gate", sublayers: [(x: number) => x * 3] });
 * gate.call(2); // 6
 */
export class NamedGroup extends Layer.define(
  {
    name: field<string>({ static: true }),
    sublayers: field<readonly LayerLike[]>(),
  },
  { name: "NamedGroup" },
) {
  /** Feeds `x` through every sublayer in order. */
  call(x: any): any {
    return tidy(() => runSequence(this.sublayers, x));
  }

  /** Treescope colour of groups. */
  treescopeColor(): string {
    return GROUP_COLOR;
  }
}

/**
 * A `Sequential` that declares its input and output structures (penzai's `CheckedSequential`):
 * the argument is checked against `inputLike` before the sublayers run and the result against
 * `outputLike` afterwards, sharing dimension variables.
 *
 * @example
 * const seq = new CheckedSequential({
 *   inputLike: new chk.ArraySpec({ namedShape: { features: 4 } }),
 *   outputLike: new chk.ArraySpec({ namedShape: { features: 4 } }),
 *   sublayers: [],
 * });
 */
export class CheckedSequential extends Layer.define(
  {
    inputLike: field<unknown>({ static: true }),
    outputLike: field<unknown>({ static: true }),
    sublayers: field<readonly LayerLike[]>(),
  },
  { name: "CheckedSequential" },
) {
  /** The declared input structure. */
  inputStructure(): unknown {
    return this.inputLike;
  }

  /** The declared output structure. */
  outputStructure(): unknown {
    return this.outputLike;
  }

  /** Checks `x`, runs the sublayers in order and checks the result. */
  @checkedLayerCall
  call(x: any): any {
    return tidy(() => runSequence(this.sublayers, x));
  }

  /** Treescope colour of groups. */
  treescopeColor(): string {
    return GROUP_COLOR;
  }
}

/**
 * The identity layer (penzai's `Identity`); `DisabledDropout` and annotation layers extend it.
 *
 * @example
 * new Identity().call(5); // 5
 */
export class Identity extends Layer.define({}, { name: "Identity" }) {
  /** Returns its argument unchanged. */
  call<T>(x: T): T {
    return x;
  }
}

/**
 * A layer that checks its argument against a structure and returns it unchanged (penzai's
 * `CheckStructure`). Throws `StructureMismatchError` from `@saikei/shapecheck` on a mismatch.
 *
 * @example
 * new CheckStructure({ expected: new chk.ArraySpec({ namedShape: { seq: 3 } }) }).call(x);
 */
export class CheckStructure extends Layer.define(
  { expected: field<unknown>() },
  { name: "CheckStructure" },
) {
  /** Checks `x` against `expected` and returns `x`. */
  call<T>(x: T): T {
    checkStructure(x, this.expected, {
      errorPrefix: "Error while checking the input of a layer of type CheckStructure:\n",
    });
    return x;
  }
}

/** Any of the group layers: `Sequential` (or a subclass), `CheckedSequential`, `NamedGroup`. */
export type SequentialOrNamed = Sequential | CheckedSequential | NamedGroup;

/**
 * Whether `tree` is a group layer whose sublayers can be inlined (penzai's `is_sequential_or_named`).
 *
 * @example
 * isSequentialOrNamed(new Sequential({ sublayers: [] })); // true
 */
export function isSequentialOrNamed(tree: unknown): tree is SequentialOrNamed {
  return (
    tree instanceof Sequential || tree instanceof CheckedSequential || tree instanceof NamedGroup
  );
}

/**
 * Whether `tree` is exactly a `Sequential` (not a subclass such as `Affine`), i.e. a group that
 * carries no meaning of its own (penzai's `is_anonymous_sequential`).
 *
 * @example
 * isAnonymousSequential(new Sequential({ sublayers: [] })); // true
 * isAnonymousSequential(new Affine({ sublayers: [] })); // false
 */
export function isAnonymousSequential(tree: unknown): tree is Sequential {
  return tree instanceof Sequential && Object.getPrototypeOf(tree) === Sequential.prototype;
}

/**
 * Flattens nested groups (penzai's `inline_groups`): bottom-up, in every group passing
 * `parentFilter`, each sublayer that is itself a group passing `childFilter` is replaced by its
 * sublayers. The parent keeps its class and other fields.
 *
 * @param tree any tree containing layers.
 * @param parentFilter which groups may absorb their children.
 * @param childFilter which child groups are dissolved into their parent.
 * @returns a new tree; `tree` is unchanged.
 * @example
 * const nested = new Sequential({ sublayers: [new Sequential({ sublayers: [f, g] }), h] });
 * inlineGroups(nested, isSequentialOrNamed, isAnonymousSequential); // Sequential([f, g, h])
 */
export function inlineGroups<T>(
  tree: T,
  parentFilter: (group: SequentialOrNamed) => boolean,
  childFilter: (group: SequentialOrNamed) => boolean,
): T {
  return inlineRec(tree, parentFilter, childFilter) as T;
}

function inlineRec(
  tree: unknown,
  parentFilter: (group: SequentialOrNamed) => boolean,
  childFilter: (group: SequentialOrNamed) => boolean,
): unknown {
  // Rebuild the children first (bottom-up), then inline at this node.
  const level = flattenOneLevel(tree);
  if (level === undefined) return tree;
  const [children, node] = level;
  const rebuilt = node.unflatten(
    children.map(([, child]) => inlineRec(child, parentFilter, childFilter)),
  );
  if (isSequentialOrNamed(rebuilt) && parentFilter(rebuilt)) {
    const flat: LayerLike[] = [];
    let changed = false;
    for (const sub of rebuilt.sublayers) {
      if (isSequentialOrNamed(sub) && childFilter(sub)) {
        flat.push(...sub.sublayers);
        changed = true;
      } else {
        flat.push(sub);
      }
    }
    if (changed) return (rebuilt as Sequential).replace({ sublayers: flat });
  }
  return rebuilt;
}

/**
 * Inlines every anonymous `Sequential` nested directly in another group (penzai's
 * `inline_anonymous_sequentials`).
 *
 * @example
 * inlineAnonymousSequentials(new Sequential({ sublayers: [new Sequential({ sublayers: [f] }), g] }));
 * // Sequential([f, g])
 */
export function inlineAnonymousSequentials<T>(tree: T): T {
  return inlineGroups(tree, isSequentialOrNamed, isAnonymousSequential);
}

/** Runs each layer on the previous result. */
export function runSequence(sublayers: readonly LayerLike[], x: unknown): unknown {
  let value = x;
  for (const layer of sublayers) value = callLayer(layer, value);
  return value;
}
