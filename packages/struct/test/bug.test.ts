import { describe, expect, it } from "vitest";
import { bugInSaikei, InternalError } from "../src/index.js";

describe("bugInSaikei", () => {
  it("words every impossible state one way, with where, what and the value", () => {
    const error = bugInSaikei("keyPathOfIndexPath", "the index path does not exist.", [0, 3]);
    expect(error).toBeInstanceOf(InternalError);
    expect(error.name).toBe("InternalError");
    expect(error.message).toBe(
      "Bug in saikei (keyPathOfIndexPath): the index path does not exist. The value: [0,3]. " +
        "Please report it with the code that led here.",
    );
  });

  it("leaves the value out when none is given, and shows strings quoted", () => {
    expect(bugInSaikei("x", "y.").message).toBe(
      "Bug in saikei (x): y. Please report it with the code that led here.",
    );
    expect(bugInSaikei("x", "y.", "z").message).toContain('The value: "z".');
  });
});
