/**
 * The tokenizer of a Hugging Face model folder: its `tokenizer.json` run by
 * `@huggingface/tokenizers` (BPE, byte-level BPE, SentencePiece-style BPE with byte fallback,
 * WordPiece, Unigram), with the special-token behaviour its `tokenizer_config.json` declares.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { checkOptions } from "@saikei/struct";
import { TokenizerError } from "./errors.js";

/** Options of {@link PretrainedTokenizer.encode}. */
export interface EncodeOptions {
  /** Whether BOS/EOS and the template's special tokens are added (default true). */
  addSpecialTokens?: boolean;
}

/** Options of {@link PretrainedTokenizer.decode}. */
export interface DecodeOptions {
  /** Whether special tokens (BOS, EOS, padding, ...) are left out of the text (default false). */
  skipSpecialTokens?: boolean;
}

/** A record read from JSON, without a prototype. */
type JsonRecord = Readonly<Record<string, unknown>>;

function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (
    value !== null &&
    typeof value === "object" &&
    typeof (value as JsonRecord).content === "string"
  ) {
    return (value as JsonRecord).content as string;
  }
  return undefined;
}

/**
 * A tokenizer built from a folder's `tokenizer.json` and `tokenizer_config.json`, as transformers'
 * fast tokenizers behave:
 * - `encode` adds special tokens as `tokenizer.json`'s post-processor says, except that when
 *   `tokenizer_config.json` declares `add_bos_token` / `add_eos_token` (Llama, Gemma, Mistral), those
 *   flags decide whether the BOS and EOS tokens are added;
 * - `decode` cleans up spaces before punctuation when `clean_up_tokenization_spaces` is true.
 *
 * @example
 * const tokenizer = PretrainedTokenizer.fromJSON(tokenizerJson, tokenizerConfig);
 * const ids = tokenizer.encode("hello world"); // [1, 22172, 3186] for Llama
 * tokenizer.decode(ids, { skipSpecialTokens: true }); // "hello world"
 */
export class PretrainedTokenizer {
  /** The BOS token's id, when the configuration names one that is in the vocabulary. */
  readonly bosTokenId: number | undefined;
  /** The EOS token's id, when the configuration names one that is in the vocabulary. */
  readonly eosTokenId: number | undefined;

  private constructor(
    private readonly tokenizer: Tokenizer,
    /** `tokenizer.json` as read. */
    readonly tokenizerJson: JsonRecord,
    /** `tokenizer_config.json` as read (`{}` when the folder has none). */
    readonly tokenizerConfig: JsonRecord,
  ) {
    this.bosTokenId = this.idOf(tokenContent(tokenizerConfig.bos_token));
    this.eosTokenId = this.idOf(tokenContent(tokenizerConfig.eos_token));
    Object.freeze(this);
  }

  /**
   * Builds a tokenizer from the parsed contents of `tokenizer.json` and (optionally)
   * `tokenizer_config.json`.
   *
   * @throws TokenizerError when the files do not describe a tokenizer `@huggingface/tokenizers` can run.
   * @example
   * const tokenizer = PretrainedTokenizer.fromJSON(JSON.parse(readFileSync("tokenizer.json", "utf8")));
   */
  static fromJSON(tokenizerJson: unknown, tokenizerConfig: unknown = {}): PretrainedTokenizer {
    const isRecord = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
    if (!isRecord(tokenizerJson) || !isRecord((tokenizerJson as JsonRecord).model)) {
      throw new TokenizerError(
        'tokenizer.json must be an object with a "model" entry (the file a fast tokenizer\'s save_pretrained writes). ' +
          "Re-export the tokenizer with transformers (AutoTokenizer.from_pretrained(...).save_pretrained(dir)).",
      );
    }
    if (!isRecord(tokenizerConfig)) {
      throw new TokenizerError("tokenizer_config.json must be a JSON object.");
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
    } catch (error) {
      throw new TokenizerError(
        `@huggingface/tokenizers cannot build this tokenizer.json (${(error as Error).message}). ` +
          "Supported models: BPE, WordPiece, Unigram; see the @huggingface/tokenizers README for the components.",
        { cause: error },
      );
    }
    return new PretrainedTokenizer(
      tokenizer,
      tokenizerJson as JsonRecord,
      tokenizerConfig as JsonRecord,
    );
  }

  private idOf(token: string | undefined): number | undefined {
    return token === undefined ? undefined : this.tokenizer.token_to_id(token);
  }

  private flag(name: string): boolean | undefined {
    const v = this.tokenizerConfig[name];
    return typeof v === "boolean" ? v : undefined;
  }

  /**
   * The token ids of `text`.
   *
   * @example
   * tokenizer.encode("hello"); // [1, 22172]
   * tokenizer.encode("hello", { addSpecialTokens: false }); // [22172]
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    checkOptions("PretrainedTokenizer.encode", options, ["addSpecialTokens"]);
    if (typeof text !== "string") {
      throw new TokenizerError(
        `PretrainedTokenizer.encode: the text must be a string, got ${typeof text}.`,
      );
    }
    const special = options.addSpecialTokens ?? true;
    const addBos = this.flag("add_bos_token");
    const addEos = this.flag("add_eos_token");
    if (!special || (addBos === undefined && addEos === undefined)) {
      return this.tokenizer.encode(text, { add_special_tokens: special }).ids;
    }
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    if (addBos === true && this.bosTokenId !== undefined) ids.unshift(this.bosTokenId);
    if (addEos === true && this.eosTokenId !== undefined) ids.push(this.eosTokenId);
    return ids;
  }

  /**
   * The text of token ids.
   *
   * @throws TokenizerError for an id that is not a non-negative integer.
   * @example
   * tokenizer.decode([1, 22172, 3186], { skipSpecialTokens: true }); // "hello world"
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkOptions("PretrainedTokenizer.decode", options, ["skipSpecialTokens"]);
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) {
        throw new TokenizerError(
          `PretrainedTokenizer.decode: token ids must be non-negative integers, got ${id}.`,
        );
      }
    }
    return this.tokenizer.decode([...ids], {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: this.flag("clean_up_tokenization_spaces") ?? false,
    });
  }

  /** The token string of an id, or undefined outside the vocabulary. */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  /** The id of a token string, or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}
