import { describe, expect, it } from "vitest";
import { parseKeyMap } from "../src/index";

describe("SIM_KALSHI_PUBLIC_KEYS", () => {
  it("turns keyId:base64-DER entries into SPKI PEMs that WebCrypto imports", async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const der = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
    const b64 = btoa(String.fromCharCode(...der));
    const map = parseKeyMap(`key-1:${b64}, broken entry ,key-2:not*base64,key-3:${b64}:read`);
    expect(Object.keys(map)).toEqual(["key-1", "key-3"]);
    // No scopes is Kalshi's default, full access; `:read` is a read-only key.
    expect(map["key-1"]!.scopes).toEqual(["read", "write"]);
    expect(map["key-3"]!.scopes).toEqual(["read"]);
    const body = map["key-1"]!.pem.replace(/-----[A-Z ]+-----|\s/g, "");
    const imported = await crypto.subtle.importKey(
      "spki",
      Uint8Array.from(atob(body), (c) => c.charCodeAt(0)),
      { name: "RSA-PSS", hash: "SHA-256" },
      false,
      ["verify"],
    );
    expect(imported.type).toBe("public");
  });

  it("is empty when unset", () => {
    expect(parseKeyMap(undefined)).toEqual({});
  });
});
