/**
 * The side-input effect (a Reader): layers `ask()` for a value that the handler supplies, such as
 * an attention mask or token positions shared by many layers.
 *
 * @module
 */

import { checkedLayerCall, type LayerLike } from "@saikei/layer";
import { select } from "@saikei/select";
import { Wildcard } from "@saikei/shapecheck";
import {
  checkOptions,
  deepEqualStatic,
  field,
  type KeyPath,
  prettyKeystr,
  reprValue,
  Struct,
} from "@saikei/struct";
import {
  defineEffectProtocol,
  EffectHandler,
  EffectRequest,
  EffectRuntimeImpl,
  HandledEffectRef,
  type HandlerId,
  handlerMemo,
  inferOrCheckHandlerId,
  registerEffectColor,
  SIDE_INPUT_EFFECT_COLOR,
} from "./effectBase.js";
import { SideInputHandlingError } from "./errors.js";

/**
 * A side-input tag: usually a string such as `"attn_mask"`; any value compared by value works
 * (hoisting uses {@link HoistedTag}).
 */
export type Tag = unknown;

/**
 * The side-input effect protocol (penzai's `SideInputEffect`): `ask()` returns the value.
 * A layer declares a field `mask: field<SideInputEffect<tf.Tensor>>()`.
 */
export const SideInputEffect = defineEffectProtocol("SideInputEffect", ["ask"]);
/** The interface layers use for a side input. */
export interface SideInputEffect<T = unknown> {
  /** Returns the side-input value. */
  ask(): T;
}
registerEffectColor(SideInputEffect, SIDE_INPUT_EFFECT_COLOR);

/** Whether two tags are equal: by value (`Object.is`, element-wise arrays, `equals` methods). */
export function tagEquals(a: Tag, b: Tag): boolean {
  return deepEqualStatic(a, b);
}

function tagIndex(tags: readonly Tag[], tag: Tag): number {
  for (let i = 0; i < tags.length; i++) if (tagEquals(tags[i], tag)) return i;
  return -1;
}

function renderTag(tag: Tag): string {
  return reprValue(tag);
}

/**
 * A request for the side input with a given tag (penzai's `SideInputRequest`). Childless; the tag
 * is static.
 *
 * @example
 * class AddMask extends Layer.define({ mask: field<SideInputEffect<number>>() }) {
 *   call(x: number) { return x + this.mask.ask(); }
 * }
 * const layer = new AddMask({ mask: new SideInputRequest({ tag: "mask" }) });
 */
export class SideInputRequest<T = unknown>
  extends EffectRequest.define({ tag: field<Tag>({ static: true }) }, { name: "SideInputRequest" })
  implements SideInputEffect<T>
{
  /** The side-input protocol. */
  effectProtocol() {
    return SideInputEffect;
  }

  /** Throws {@link UnhandledEffectError}: an unhandled request has no value. */
  ask(): T {
    return this.unhandled("ask");
  }

  /** Explains how to handle this tag. */
  override handlingHint(): string {
    const tag = renderTag(this.tag);
    return (
      `Handle the tag ${tag} with WithSideInputsFromInputTuple.handling(model, [${tag}]) and call the ` +
      `result with [input, value], or with WithConstantSideInputs.handling(model, { ${tag}: value }).`
    );
  }
}

/** A side-input request handled by a handler (penzai's `HandledSideInputRef`). */
export class HandledSideInputRef<T = unknown>
  extends HandledEffectRef.define(
    { tag: field<Tag>({ static: true }) },
    { name: "HandledSideInputRef" },
  )
  implements SideInputEffect<T>
{
  /** The side-input protocol. */
  effectProtocol() {
    return SideInputEffect;
  }

  /** Throws {@link UnhandledEffectError}: only the running handler supplies the value. */
  ask(): T {
    return this.unbound("ask");
  }
}

/** The implementation a side-input handler gives its body: `ask()` returns a fixed value. */
export class SideInputEffectImpl<T = unknown>
  extends EffectRuntimeImpl
  implements SideInputEffect<T>
{
  readonly #value: T;

  /**
   * @param value the side-input value.
   * @param handlerId the id of the handler supplying it.
   */
  constructor(value: T, handlerId: HandlerId) {
    super(handlerId);
    this.#value = value;
    Object.freeze(this);
  }

  /** Returns the value. */
  ask(): T {
    return this.#value;
  }

  /** The side-input protocol. */
  effectProtocol() {
    return SideInputEffect;
  }
}

/** Options of the `handling` constructors. */
export interface HandlingOptions {
  /** Use this handler id instead of inferring one from the body's structure. */
  handlerId?: HandlerId;
}

function handleRequests(
  body: LayerLike,
  handlerId: HandlerId,
  isHandled: (tag: Tag) => boolean,
): [LayerLike, Tag[]] {
  const requests = select(body)
    .atInstancesOf(SideInputRequest)
    .where((request) => isHandled(request.tag));
  const used: Tag[] = [];
  for (const request of requests.getSequence()) {
    if (tagIndex(used, request.tag) < 0) used.push(request.tag);
  }
  const handled = requests.apply(
    (request) => new HandledSideInputRef({ handlerId, tag: request.tag }),
  ) as LayerLike;
  return [handled, used];
}

const OUTPUT_FROM_BODY = new Wildcard({ description: "output from body" });

/**
 * A handler that takes side inputs as extra elements of its argument (penzai's
 * `WithSideInputsFromInputTuple`): called with `[input, ...values]` where `values[i]` is the side
 * input for `sideInputTags[i]`; returns `body.call(input)`. The argument is checked to have
 * exactly `1 + sideInputTags.length` elements.
 *
 * @example
 * const handled = WithSideInputsFromInputTuple.handling(new AddMask({ mask: new SideInputRequest({ tag: "mask" }) }), ["mask"]);
 * handled.call([1, 10]); // 11
 */
export class WithSideInputsFromInputTuple extends EffectHandler.define(
  {
    sideInputTags: field<readonly Tag[]>({ static: true }),
  },
  { name: "WithSideInputsFromInputTuple" },
) {
  /** The side-input protocol. */
  effectProtocol() {
    return SideInputEffect;
  }

  /** `[input to body, side input: tag, ...]`: an array of exactly `1 + sideInputTags.length` values. */
  override inputStructure(): unknown {
    return handlerMemo(this, "inputStructure", () => [
      new Wildcard({ description: "input to body" }),
      ...this.sideInputTags.map(
        (tag) => new Wildcard({ description: `side input: ${renderTag(tag)}` }),
      ),
    ]);
  }

  /** Any output from the body. */
  override outputStructure(): unknown {
    return OUTPUT_FROM_BODY;
  }

  /** Calls the body on `argument[0]` with `argument[1 + i]` as the side input `sideInputTags[i]`. */
  @checkedLayerCall
  call(argument: readonly unknown[]): any {
    const indices = handlerMemo(this, "tagIndices", () => {
      const refs = this.handledRefs();
      const out = new Int32Array(refs.length);
      for (let i = 0; i < refs.length; i++) {
        out[i] = tagIndex(this.sideInputTags, (refs[i]!.ref as HandledSideInputRef).tag);
      }
      return out;
    });
    const impls = new Array<SideInputEffectImpl>(this.sideInputTags.length);
    for (let i = 0; i < impls.length; i++)
      impls[i] = new SideInputEffectImpl(argument[i + 1], this.handlerId);
    const tagOf = indices;
    const body = this.substituteRefs((_ref, _path, ordinal) => impls[tagOf[ordinal]!]);
    return this.runBody(body, argument[0]);
  }

  /**
   * Handles the side-input requests in `body` whose tag is in `tags` (unused tags are allowed).
   *
   * @param body the layer to handle.
   * @param tags the tags, in the order their values follow the input in the argument array.
   * @throws SideInputHandlingError when `tags` is a string rather than an array of tags.
   * @example
   * WithSideInputsFromInputTuple.handling(model, ["token_positions", "attn_mask"]);
   */
  static handling(
    body: LayerLike,
    tags: readonly Tag[],
    options: HandlingOptions = {},
  ): WithSideInputsFromInputTuple {
    if (typeof tags === "string") {
      throw new SideInputHandlingError(
        "WithSideInputsFromInputTuple expects an array of tags as its `tags` argument, but got the " +
          `string ${JSON.stringify(tags)}. Write WithSideInputsFromInputTuple.handling(body, [${JSON.stringify(tags)}]).`,
      );
    }
    if (!Array.isArray(tags)) {
      throw new SideInputHandlingError(
        `WithSideInputsFromInputTuple expects an array of tags as its \`tags\` argument, but got ${reprValue(tags)}.`,
      );
    }
    checkOptions("WithSideInputsFromInputTuple.handling", options, ["handlerId"]);
    const handlerId = inferOrCheckHandlerId("WithSideInputsFromInputTuple", body, {
      explicitId: options.handlerId,
    });
    const [handled] = handleRequests(body, handlerId, (tag) => tagIndex(tags, tag) >= 0);
    return new WithSideInputsFromInputTuple({
      handlerId,
      body: handled,
      sideInputTags: Object.freeze([...tags]),
    });
  }
}

/** Side-input values by tag: a plain object for string tags, a `Map` for any tags. */
export type SideInputValues = Readonly<Record<string, unknown>> | ReadonlyMap<Tag, unknown>;

function entriesOf(values: SideInputValues): [Tag, unknown][] {
  if (values instanceof Map) return [...values.entries()];
  return Object.keys(values)
    .sort()
    .map((k) => [k, (values as Record<string, unknown>)[k]]);
}

function lookup(values: SideInputValues, tag: Tag): { found: boolean; value?: unknown } {
  if (values instanceof Map) {
    if (values.has(tag)) return { found: true, value: values.get(tag) };
    for (const [k, v] of values) if (tagEquals(k, tag)) return { found: true, value: v };
    return { found: false };
  }
  if (typeof tag === "string" && Object.hasOwn(values, tag)) {
    return { found: true, value: (values as Record<string, unknown>)[tag] };
  }
  return { found: false };
}

function sameKind(values: SideInputValues, entries: [Tag, unknown][]): SideInputValues {
  if (values instanceof Map) return new Map(entries);
  const out: Record<string, unknown> = {};
  // Defined, not assigned: `out["__proto__"] = v` would replace the prototype and lose the tag.
  for (const [k, v] of entries) {
    Object.defineProperty(out, k as string, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const constantBodies = new WeakMap<WithConstantSideInputs, LayerLike>();

/**
 * A handler that supplies fixed side-input values stored in the model (penzai's
 * `WithConstantSideInputs`). The values are children of the handler, so parameters shared by
 * several layers live here once and are seen by tree operations. Called like its body.
 *
 * @example
 * const handled = WithConstantSideInputs.handling(layer, { mask: 10 });
 * handled.call(1); // 11
 */
export class WithConstantSideInputs extends EffectHandler.define(
  {
    sideInputs: field<SideInputValues>(),
  },
  { name: "WithConstantSideInputs" },
) {
  /** The side-input protocol. */
  effectProtocol() {
    return SideInputEffect;
  }

  /** Calls the body with the stored values as its side inputs. */
  call(argument: unknown): any {
    let body = constantBodies.get(this);
    if (body === undefined) {
      const impls = new Map<Tag, SideInputEffectImpl>();
      body = this.substituteRefs((ref) => {
        const tag = (ref as HandledSideInputRef).tag;
        let impl = impls.get(tag);
        if (impl === undefined) {
          const { found, value } = lookup(this.sideInputs, tag);
          if (!found) {
            throw new SideInputHandlingError(
              `WithConstantSideInputs (handler ${this.handlerId}) has no value for the tag ${renderTag(tag)} ` +
                "used by a reference in its body. Rebuild it with WithConstantSideInputs.handling(body, " +
                "values) where values includes that tag.",
            );
          }
          impl = new SideInputEffectImpl(value, this.handlerId);
          impls.set(tag, impl);
        }
        return impl;
      });
      // Values are children of this immutable handler, so the implementations never change.
      constantBodies.set(this, body);
    }
    return this.runBody(body, argument);
  }

  /**
   * Handles the requests in `body` whose tag has a value in `sideInputs`.
   *
   * @param sideInputs values by tag (an object for string tags, a `Map` for any tags).
   * @param options `keepUnused: true` stores every value, not only the tags the body requests.
   * @example
   * WithConstantSideInputs.handling(model, { shared_embedding: table });
   */
  static handling(
    body: LayerLike,
    sideInputs: SideInputValues,
    options: HandlingOptions & { keepUnused?: boolean } = {},
  ): WithConstantSideInputs {
    if (sideInputs === null || typeof sideInputs !== "object") {
      throw new SideInputHandlingError(
        `WithConstantSideInputs.handling expects values by tag ({ tag: value } or a Map), but got ${reprValue(sideInputs)}.`,
      );
    }
    checkOptions("WithConstantSideInputs.handling", options, ["handlerId", "keepUnused"]);
    const handlerId = inferOrCheckHandlerId("WithConstantSideInputs", body, {
      explicitId: options.handlerId,
    });
    const [handled, used] = handleRequests(body, handlerId, (tag) => lookup(sideInputs, tag).found);
    const stored = options.keepUnused
      ? sameKind(sideInputs, entriesOf(sideInputs))
      : sameKind(
          sideInputs,
          entriesOf(sideInputs).filter(([tag]) => tagIndex(used, tag) >= 0),
        );
    return new WithConstantSideInputs({ handlerId, body: handled, sideInputs: stored });
  }
}

/**
 * A side-input tag made unique by hoisting (penzai's `HoistedTag`): the original tag and the
 * pretty key path of the handler it came from.
 *
 * @example
 * new HoistedTag({ source: "Sequential.sublayers[0]", tag: "shared" });
 */
export class HoistedTag extends Struct.define(
  {
    source: field<string>({ static: true }),
    tag: field<Tag>({ static: true }),
  },
  { name: "HoistedTag" },
) {}

/** Options of {@link hoistConstantSideInputs}. */
export interface HoistOptions {
  /** Which entries to hoist (default: all). */
  hoistPredicate?: (tag: Tag, value: unknown) => boolean;
  /** Rename hoisted tags to {@link HoistedTag}s with the handler's path (default true). */
  scoped?: boolean;
}

/**
 * Moves the values of every `WithConstantSideInputs` in `tree` out of the tree (penzai's
 * `hoist_constant_side_inputs`): their references become unhandled `SideInputRequest`s with new
 * tags, handlers left empty are removed, and the values are returned by new tag. The inverse is
 * `WithConstantSideInputs.handling(tree, hoisted)`.
 *
 * @returns `[tree, hoisted]` where `hoisted` maps each new tag to its value.
 * @throws SideInputHandlingError when two hoisted tags collide (use `scoped`) or a hoisted tag is
 *   already used by an unhandled request.
 * @example
 * const [bare, values] = hoistConstantSideInputs(model);
 * WithConstantSideInputs.handling(bare, values).call(x); // same as model.call(x)
 */
export function hoistConstantSideInputs(
  tree: unknown,
  options: HoistOptions = {},
): [unknown, Map<Tag, unknown>] {
  checkOptions("hoistConstantSideInputs", options, ["hoistPredicate", "scoped"]);
  const hoistPredicate = options.hoistPredicate ?? (() => true);
  const scoped = options.scoped ?? true;
  const hoisted = new Map<Tag, unknown>();
  const unhandledTags = select(tree)
    .atInstancesOf(SideInputRequest)
    .getSequence()
    .map((request) => request.tag);

  const process = (subtree: unknown, basePath: KeyPath): unknown =>
    select(subtree)
      .atInstancesOf(WithConstantSideInputs)
      .apply(
        (relPath, node) => {
          const path = [...basePath, ...relPath];
          const renamed: [Tag, Tag][] = [];
          const kept: [Tag, unknown][] = [];
          for (const [tag, value] of entriesOf(node.sideInputs)) {
            if (!hoistPredicate(tag, value)) {
              kept.push([tag, value]);
              continue;
            }
            const newTag = scoped ? new HoistedTag({ source: prettyKeystr(path, tree), tag }) : tag;
            for (const existing of hoisted.keys()) {
              if (tagEquals(existing, newTag)) {
                throw new SideInputHandlingError(
                  `Tag conflict while hoisting tag ${renderTag(newTag)}! Two WithConstantSideInputs handlers ` +
                    "supply it. Try using { scoped: true } to make the tags unique.",
                );
              }
            }
            if (tagIndex(unhandledTags, newTag) >= 0) {
              throw new SideInputHandlingError(
                "Cannot hoist a tag that is already used by an unhandled SideInputRequest! Found an " +
                  `unhandled request with tag ${renderTag(newTag)}. Use { scoped: true } or rename that request's tag.`,
              );
            }
            hoisted.set(newTag, value);
            renamed.push([tag, newTag]);
          }
          const id = node.handlerId;
          const renamedIndex = (ref: HandledSideInputRef) =>
            renamed.findIndex(([tag]) => tagEquals(tag, ref.tag));
          const rebound = select(node.body)
            .atInstancesOf(HandledSideInputRef)
            .where((ref) => ref.handlerId === id && renamedIndex(ref) >= 0)
            .apply((ref) => new SideInputRequest({ tag: renamed[renamedIndex(ref)]![1] }));
          const body = process(rebound, [...path, ...bodyKey(node)]);
          if (kept.length === 0) return body;
          return node.replace({
            body: body as LayerLike,
            sideInputs: sameKind(node.sideInputs, kept),
          });
        },
        { withKeypath: true },
      );

  return [process(tree, []), hoisted];
}

function bodyKey(handler: EffectHandler): KeyPath {
  return [handler.keyForField("body")];
}
