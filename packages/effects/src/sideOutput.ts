/**
 * The side-output effect (a Writer): layers `tell(value)` intermediate values, which a
 * {@link CollectingSideOutputs} handler returns next to the output.
 *
 * @module
 */

import { checkedLayerCall, Layer, type LayerLike } from "@saikei/layer";
import { select } from "@saikei/select";
import { Wildcard } from "@saikei/shapecheck";
import { checkOptions, field, type KeyPath, reprValue, Struct } from "@saikei/struct";
import {
  defineEffectProtocol,
  EffectHandler,
  EffectRequest,
  EffectRuntimeImpl,
  HandledEffectRef,
  type HandlerId,
  inferOrCheckHandlerId,
  registerEffectColor,
  SIDE_OUTPUT_EFFECT_COLOR,
} from "./effectBase.js";
import { SideOutputHandlingError } from "./errors.js";
import { HandedTensors } from "./ownership.js";
import { type Tag, tagEquals } from "./sideInput.js";

/**
 * The side-output effect protocol (penzai's `SideOutputEffect`): `tell(value)` records a value.
 * A layer declares `out: field<SideOutputEffect<tf.Tensor>>()`.
 */
export const SideOutputEffect = defineEffectProtocol("SideOutputEffect", ["tell"]);
/** The interface layers use to emit side outputs. */
export interface SideOutputEffect<T = unknown> {
  /** Records `value`. */
  tell(value: T): void;
}
registerEffectColor(SideOutputEffect, SIDE_OUTPUT_EFFECT_COLOR);

/**
 * A request to emit side outputs with a tag (penzai's `SideOutputRequest`). Unhandled, `tell` does
 * nothing, so a model with side-output layers runs unchanged without a collector.
 *
 * @example
 * new SideOutputRequest({ tag: "intermediate" }).tell(x); // no effect
 */
export class SideOutputRequest<T = unknown>
  extends EffectRequest.define({ tag: field<Tag>({ static: true }) }, { name: "SideOutputRequest" })
  implements SideOutputEffect<T>
{
  /** The side-output protocol. */
  effectProtocol() {
    return SideOutputEffect;
  }

  /** Does nothing: values told without a collector are dropped. */
  tell(_value: T): void {}

  /** Explains how to collect this tag. */
  override handlingHint(): string {
    return `Collect it with CollectingSideOutputs.handling(model, ${reprValue(this.tag)}).`;
  }
}

/** A side-output request handled by a collector (penzai's `HandledSideOutputRef`). */
export class HandledSideOutputRef<T = unknown>
  extends HandledEffectRef.define(
    { tag: field<Tag>({ static: true }) },
    { name: "HandledSideOutputRef" },
  )
  implements SideOutputEffect<T>
{
  /** The side-output protocol. */
  effectProtocol() {
    return SideOutputEffect;
  }

  /** Throws {@link UnhandledEffectError}: only the running collector records values. */
  tell(_value: T): void {
    this.unbound("tell");
  }
}

/**
 * One collected side output (penzai's `SideOutputValue`): the key path of the reference relative
 * to the collector's body, its tag (both static) and the value (a child).
 *
 * @example
 * const [, [first]] = collector.call(x);
 * keystr(first.keypath); // ".sublayers[0].sideOut"
 */
export class SideOutputValue extends Struct.define(
  {
    keypath: field<KeyPath>({ static: true }),
    tag: field<Tag>({ static: true }),
    value: field<unknown>(),
  },
  { name: "SideOutputValue" },
) {}

/** What a running collector gives each reference: appends to the collector's list. */
export class SideOutputEffectImpl<T = unknown>
  extends EffectRuntimeImpl
  implements SideOutputEffect<T>
{
  readonly #keypath: KeyPath;
  readonly #tag: Tag;
  readonly #destination: SideOutputValue[];
  readonly #handed: HandedTensors | undefined;

  /**
   * @param keypath the reference's path in the collector's body.
   * @param tag the reference's tag.
   * @param destination the list values are appended to.
   * @param handlerId the collector's id.
   * @param handed the running call's kept tensors: told tensors are kept alive in it until the
   *   collector returns (omitted: nothing is kept).
   */
  constructor(
    keypath: KeyPath,
    tag: Tag,
    destination: SideOutputValue[],
    handlerId: HandlerId,
    handed?: HandedTensors,
  ) {
    super(handlerId);
    this.#keypath = keypath;
    this.#tag = tag;
    this.#destination = destination;
    this.#handed = handed;
    Object.freeze(this);
  }

  /**
   * Appends a {@link SideOutputValue}. Tensors in `value` stay alive past the tidy scopes of the
   * composite layers between this call and the collector, which hands them to its caller.
   */
  tell(value: T): void {
    const kept = this.#handed === undefined ? value : this.#handed.hold(value);
    this.#destination.push(
      new SideOutputValue({ keypath: this.#keypath, tag: this.#tag, value: kept }),
    );
  }

  /** The side-output protocol. */
  effectProtocol() {
    return SideOutputEffect;
  }
}

/** Options of {@link CollectingSideOutputs.handling}. */
export interface CollectingOptions {
  /** Collect only this tag. */
  tag?: Tag;
  /** Collect the tags satisfying this predicate. */
  tagPredicate?: (tag: Tag) => boolean;
  /** Use this handler id instead of inferring one. */
  handlerId?: HandlerId;
}

function isOptions(value: unknown): value is CollectingOptions {
  return (
    value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** Merges the call shapes of {@link CollectingSideOutputs.handling} into checked options. */
function collectingOptions(
  tagOrOptions: Tag | CollectingOptions | undefined,
  afterTag: Pick<CollectingOptions, "handlerId"> | undefined,
): CollectingOptions {
  if (isOptions(tagOrOptions)) {
    if (afterTag !== undefined) {
      throw new SideOutputHandlingError(
        "CollectingSideOutputs.handling got an options object as its second argument and another one as " +
          "its third. Pass one: handling(body, { tag, handlerId }) or handling(body, tag, { handlerId }).",
      );
    }
    return checkOptions("CollectingSideOutputs.handling", tagOrOptions, [
      "tag",
      "tagPredicate",
      "handlerId",
    ]);
  }
  if (afterTag !== null && typeof afterTag === "object") {
    for (const key of ["tag", "tagPredicate"]) {
      if (Object.hasOwn(afterTag, key)) {
        throw new SideOutputHandlingError(
          `CollectingSideOutputs.handling got the tag ${reprValue(tagOrOptions)} as its second argument and ` +
            `\`${key}\` in its options. Give the tag one way only.`,
        );
      }
    }
  }
  checkOptions("CollectingSideOutputs.handling (options after a tag)", afterTag, ["handlerId"]);
  return tagOrOptions === undefined ? { ...afterTag } : { ...afterTag, tag: tagOrOptions };
}

/**
 * A handler that collects side outputs (penzai's `CollectingSideOutputs`): `call(x)` returns
 * `[output, values]` where `values` are the {@link SideOutputValue}s told during the call, in order.
 *
 * @example
 * const collector = CollectingSideOutputs.handling(model, "intermediate");
 * const [out, values] = collector.call(x);
 */
export class CollectingSideOutputs extends EffectHandler.define(
  {},
  { name: "CollectingSideOutputs" },
) {
  /** The side-output protocol. */
  effectProtocol() {
    return SideOutputEffect;
  }

  /** Any input. */
  override inputStructure(): unknown {
    return new Wildcard({ description: "input to body" });
  }

  /** `[output from body, list of side outputs]`. */
  override outputStructure(): unknown {
    return [
      new Wildcard({ description: "output from body" }),
      new Wildcard({ description: "list of side outputs" }),
    ];
  }

  /** Runs the body and returns its output with the values told during the call. */
  @checkedLayerCall
  call(argument: unknown): [any, SideOutputValue[]] {
    const collected: SideOutputValue[] = [];
    const handed = new HandedTensors();
    const body = this.substituteRefs(
      (ref, path) =>
        new SideOutputEffectImpl(
          path,
          (ref as HandledSideOutputRef).tag,
          collected,
          this.handlerId,
          handed,
        ),
    );
    const [finalOutput, values] = handed.runAndHandOver(
      () => this.runBody(body, argument),
      () => collected.map((entry) => entry.value),
      `the side outputs collected by ${this.handlerId}`,
    );
    return [
      finalOutput,
      collected.map((entry, i) =>
        entry.value === values[i] ? entry : entry.replace({ value: values[i] }),
      ),
    ];
  }

  /**
   * Collects the side outputs of `body` with a given tag, with tags satisfying a predicate, or all.
   *
   * @param tagOrOptions a tag, or `{ tag?, tagPredicate?, handlerId? }`; omitted: every tag. A plain
   *   object is always read as options (a tag that is a plain object goes in `{ tag }`).
   * @param options after a tag (penzai's call shape): `{ handlerId? }`.
   * @throws SideOutputHandlingError when both `tag` and `tagPredicate` are given, or options are
   *   given twice (an options object and a third argument, or a tag and `tag` / `tagPredicate`).
   * @throws UnknownOptionError (from `@saikei/struct`) for an option key it does not know.
   * @example
   * CollectingSideOutputs.handling(model, "intermediate");
   * CollectingSideOutputs.handling(model, "intermediate", { handlerId: "probes" });
   * CollectingSideOutputs.handling(model, { tagPredicate: (t) => String(t).startsWith("attn") });
   */
  static handling(body: LayerLike, options?: CollectingOptions): CollectingSideOutputs;
  static handling(
    body: LayerLike,
    tag: Tag,
    options?: Pick<CollectingOptions, "handlerId">,
  ): CollectingSideOutputs;
  static handling(
    body: LayerLike,
    tagOrOptions?: Tag | CollectingOptions,
    afterTag?: Pick<CollectingOptions, "handlerId">,
  ): CollectingSideOutputs {
    const options = collectingOptions(tagOrOptions, afterTag);
    if (options.tag !== undefined && options.tagPredicate !== undefined) {
      throw new SideOutputHandlingError(
        "Only one of `tag` and `tagPredicate` may be specified in CollectingSideOutputs.handling options.",
      );
    }
    const wanted =
      options.tagPredicate ??
      (options.tag === undefined ? () => true : (tag: Tag) => tagEquals(tag, options.tag));
    const handlerId = inferOrCheckHandlerId("CollectingSideOutputs", body, {
      explicitId: options.handlerId,
    });
    const handled = select(body)
      .atInstancesOf(SideOutputRequest)
      .where((request) => wanted(request.tag))
      .apply((request) => new HandledSideOutputRef({ handlerId, tag: request.tag })) as LayerLike;
    return new CollectingSideOutputs({ handlerId, body: handled });
  }
}

/**
 * An identity layer that tells its input as a side output (penzai's `TellIntermediate`).
 *
 * @example
 * const probe = TellIntermediate.fromConfig("after_block_0");
 * CollectingSideOutputs.handling(new Chain({ sublayers: [block0, probe, block1] }), "after_block_0");
 */
export class TellIntermediate extends Layer.define(
  {
    sideOut: field<SideOutputEffect>({ default: new SideOutputRequest({ tag: "intermediate" }) }),
  },
  { name: "TellIntermediate" },
) {
  /**
   * Builds the layer with a request for `tag` (default `"intermediate"`).
   *
   * @example
   * TellIntermediate.fromConfig("probe");
   */
  static fromConfig(tag: Tag = "intermediate"): TellIntermediate {
    return new TellIntermediate({ sideOut: new SideOutputRequest({ tag }) });
  }

  /** Tells `x` and returns it unchanged. */
  call<T>(x: T): T {
    this.sideOut.tell(x);
    return x;
  }
}
