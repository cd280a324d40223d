import { random } from "@saikei/named";
import { describe, expect, it } from "vitest";
import { RandomStream, RandomStreamStateError } from "../src/index.js";

describe("RandomStream", () => {
  it("hands out foldIn(baseKey, offset) keys in order once active", () => {
    const key = random.key(5);
    const stream = new RandomStream(key).unsafeMarkActive();
    expect(stream.state).toBe("active");
    expect(stream.nextKey().equals(random.foldIn(key, 0))).toBe(true);
    expect(stream.nextKey().equals(random.foldIn(key, 1))).toBe(true);
    expect(stream.nextOffset).toBe(2);
  });

  it("starts from a given offset", () => {
    const key = random.key(5);
    const keys = RandomStream.run(key, (s) => [s.nextKey(), s.nextKey()], 10);
    expect(keys[0]!.equals(random.foldIn(key, 10))).toBe(true);
    expect(keys[1]!.equals(random.foldIn(key, 11))).toBe(true);
  });

  it("refuses keys while pending or after expiry, and a second activation", () => {
    const stream = new RandomStream(random.key(0));
    expect(stream.state).toBe("pending");
    expect(() => stream.nextKey()).toThrow(RandomStreamStateError);
    expect(() => stream.nextKey()).toThrow(/not yet active/);
    stream.unsafeMarkActive();
    stream.markExpired();
    expect(() => stream.nextKey()).toThrow(/has expired/);
    expect(() => stream.unsafeMarkActive()).toThrow(
      /only be activated once, in state 'pending'. Got state 'expired'/,
    );
  });

  it("expires after run, also when the callback throws", () => {
    let kept: RandomStream | undefined;
    expect(() =>
      RandomStream.run(random.key(0), (s) => {
        kept = s;
        throw new Error("inside");
      }),
    ).toThrow("inside");
    expect(kept!.state).toBe("expired");
  });

  it("works with a using declaration through enter() and Symbol.dispose", () => {
    let outside: RandomStream;
    {
      using stream = new RandomStream(random.key(1)).enter();
      outside = stream;
      expect(stream.nextKey().equals(random.foldIn(random.key(1), 0))).toBe(true);
    }
    expect(outside.state).toBe("expired");
  });
});
