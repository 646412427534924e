import { env } from "cloudflare:workers";
import {
  createEgressFetch,
  decodePem,
  formatDollars,
  importRsaPssPrivateKey,
  kalshiTakerFee,
  parseDollars,
  parseQuantity,
  pkcs1ToPkcs8,
} from "@paulp/kit";
import { describe, expect, it } from "vitest";
import { createKalshiClient, fixedPrice } from "../src/venues/kalshi";
import { simAdmin, TICKERS } from "./helpers";

function pem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(der)));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

/** The PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo: the content of its trailing OCTET STRING. */
function unwrapPkcs8(der: Uint8Array): Uint8Array {
  const readLen = (at: number): [number, number] => {
    const b = der[at]!;
    if (b < 0x80) return [b, at + 1];
    let n = 0;
    for (let i = 1; i <= (b & 0x7f); i++) n = (n << 8) | der[at + i]!;
    return [n, at + 1 + (b & 0x7f)];
  };
  let [, at] = readLen(1); // outer SEQUENCE
  at += 3; // INTEGER 0
  const [algLen, algAt] = readLen(at + 1);
  at = algAt + algLen;
  const [octLen, octAt] = readLen(at + 1);
  return der.slice(octAt, octAt + octLen);
}

async function keyPair() {
  const kp = (await crypto.subtle.generateKey(
    { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", kp.privateKey)) as ArrayBuffer);
  const spki = (await crypto.subtle.exportKey("spki", kp.publicKey)) as ArrayBuffer;
  return {
    pkcs8Pem: pem("PRIVATE KEY", pkcs8),
    pkcs1Pem: pem("RSA PRIVATE KEY", unwrapPkcs8(pkcs8)),
    spkiPem: pem("PUBLIC KEY", spki),
    pkcs8,
  };
}

const client = (keyId: string, privateKeyPem: string, now = Date.now) =>
  createKalshiClient({
    keyId,
    privateKeyPem,
    fetch: createEgressFetch({ simulator: env.VENUE_SIM, timeoutMs: 2_000 }),
    now,
  });

describe("Kalshi client signing", () => {
  it("wraps PKCS#1 into exactly the PKCS#8 WebCrypto exports", async () => {
    const k = await keyPair();
    expect(pkcs1ToPkcs8(decodePem(k.pkcs1Pem).der)).toEqual(k.pkcs8);
  });

  it.each(["pkcs8", "pkcs1"] as const)("a %s key signs requests the simulator verifies", async (form) => {
    const k = await keyPair();
    const keyId = `client-${form}-${Math.random().toString(36).slice(2)}`;
    expect((await simAdmin("kalshi", "keys", { keyId, publicKeyPem: k.spkiPem })).status).toBe(201);
    const c = client(keyId, form === "pkcs8" ? k.pkcs8Pem : k.pkcs1Pem);
    const bal = await c.balance();
    expect(bal.ok && bal.value.balanceCents).toBeGreaterThan(0);
    // The query string is not signed: a listing with one still verifies.
    const found = await c.findByClientOrderId(TICKERS[0]!, "nope-nope");
    expect(found.ok && found.value).toBeNull();
  });

  it("a key the simulator does not know is a typed auth error", async () => {
    const k = await keyPair();
    const bal = await client("never-registered", k.pkcs8Pem).balance();
    expect(!bal.ok && bal.error).toMatchObject({ kind: "auth", status: 401 });
  });

  it("a stale clock is refused (401) and surfaces as auth", async () => {
    const k = await keyPair();
    const keyId = `stale-${Math.random().toString(36).slice(2)}`;
    await simAdmin("kalshi", "keys", { keyId, publicKeyPem: k.spkiPem });
    const bal = await client(keyId, k.pkcs8Pem, () => Date.now() - 60_000).balance();
    expect(!bal.ok && bal.error.kind).toBe("auth");
  });

  it("refuses a malformed or missing key without any request", async () => {
    expect(
      await importRsaPssPrivateKey(
        // An EC key (wrong type, junk body), its PEM label built here so no key-like text sits in the repo.
        ["BEGIN", "END"].map((w) => `-----${w} EC ${"PRIVATE"} KEY-----`).join("\nAAAA\n"),
      ).catch((e: Error) => e.message),
    ).toMatch(/unsupported/);
    const bad = await client("k", "not a pem").balance();
    expect(!bad.ok && bad.error.kind).toBe("not_configured");
    const none = await createKalshiClient({
      keyId: undefined,
      privateKeyPem: undefined,
      fetch: () => Promise.reject(new Error("must not be called")),
      now: Date.now,
    }).balance();
    expect(!none.ok && none.error.kind).toBe("not_configured");
  });

  it("normalises prices to 4-decimal fixed point", () => {
    expect(fixedPrice("0.56")).toBe("0.5600");
    expect(fixedPrice("0.5")).toBe("0.5000");
    expect(fixedPrice("0.1234")).toBe("0.1234");
  });
});

describe("Kalshi order answers", () => {
  it("average_fee_paid is per contract: the client answers the order's total fee, in 4 decimals", async () => {
    const k = await keyPair();
    const keyId = `fees-${Math.random().toString(36).slice(2)}`;
    expect((await simAdmin("kalshi", "keys", { keyId, publicKeyPem: k.spkiPem })).status).toBe(201);
    const c = client(keyId, k.pkcs8Pem);
    const r = await c.createOrder({
      ticker: TICKERS[2]!,
      clientOrderId: `fees-${Math.random().toString(36).slice(2)}`,
      side: "buy",
      count: 10,
      price: "0.9900",
      timeInForce: "immediate_or_cancel",
    });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.filled).toBeGreaterThan(1);
    expect(r.value.avgPrice).toMatch(/^\d\.\d{4}$/);
    // The schedule's fee for what filled (the simulator charges it), not one contract's share of it.
    expect(r.value.fee).toBe(
      formatDollars(
        kalshiTakerFee(parseQuantity(r.value.filled), parseDollars(r.value.avgPrice!)),
        4,
        "ceil",
      ),
    );
  });

  it("six-decimal averages are normalised: the price half up, the fee rounded up", async () => {
    const k = await keyPair();
    const answer = {
      order_id: "o-1",
      client_order_id: "pp-x",
      fill_count: "10.00",
      remaining_count: "0.00",
      average_fill_price: "0.551250",
      average_fee_paid: "0.017325",
    };
    const c = createKalshiClient({
      keyId: "k",
      privateKeyPem: k.pkcs8Pem,
      fetch: (async () => Response.json(answer, { status: 201 })) as never,
      now: Date.now,
    });
    const r = await c.createOrder({
      ticker: "T",
      clientOrderId: "pp-x",
      side: "buy",
      count: 10,
      price: "0.5600",
      timeInForce: "immediate_or_cancel",
    });
    expect(r.ok && r.value).toMatchObject({ filled: 10, avgPrice: "0.5513", fee: "0.1733" });
  });
});
