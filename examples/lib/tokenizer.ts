/**
 * A character-level tokenizer over a fixed alphabet. Token 0 is padding; every character of the
 * training text gets an id from 1.
 */
export class CharTokenizer {
  readonly alphabet: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(text: string) {
    this.alphabet = ["\u0000", ...[...new Set(text)].sort()];
    this.ids = new Map(this.alphabet.map((c, i) => [c, i]));
  }

  /** Number of token ids, padding included. */
  get vocabSize(): number {
    return this.alphabet.length;
  }

  /** Token ids of `text`; characters outside the alphabet are an error naming them. */
  encode(text: string): number[] {
    return [...text].map((c) => {
      const id = this.ids.get(c);
      if (id === undefined) {
        throw new Error(
          `CharTokenizer: character ${JSON.stringify(c)} is not in the training alphabet.`,
        );
      }
      return id;
    });
  }

  /** The text of token ids (padding is dropped). */
  decode(ids: readonly number[]): string {
    return ids
      .filter((i) => i !== 0)
      .map((i) => this.alphabet[i] ?? "?")
      .join("");
  }
}
